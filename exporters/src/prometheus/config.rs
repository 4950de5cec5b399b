//! Config of the `prometheus` exporter: the Collector's `prometheus` exporter keys, plus
//! weir's `tenant_label` and the page's limits `max_metrics`, `max_series` and
//! `max_series_per_metric` (the Collector's page has none).
//!
//! ```yaml
//! exporters:
//!   prometheus:
//!     endpoint: 0.0.0.0:8889
//!     namespace: ""
//!     const_labels: { cluster: eu1 }
//!     metric_expiration: 5m
//!     enable_open_metrics: true      # OpenMetrics (with exemplars) to scrapers that ask for it
//!     resource_to_telemetry_conversion: { enabled: false }
//!     translation_strategy: UnderscoreEscapingWithSuffixes
//!     max_metrics: 10000             # weir's limits of the page
//!     max_series: 100000
//!     max_series_per_metric: 10000
//! ```
//! Invalid values are reported by [`PrometheusConfig::problems`], with the key at fault.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use weir_pipeline::SignalKind;
use weir_pipeline::spec::Spec;

use crate::shared::prom::{ResourceToTelemetry, Settings, TranslationStrategy};

/// Collector keys weir does not implement for this exporter.
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] = &[
    "tls",
    "cors",
    "auth",
    "include_metadata",
    "max_request_body_size",
    "response_headers",
    "compression_algorithms",
    "read_timeout",
    "read_header_timeout",
    "write_timeout",
    "idle_timeout",
    "keep_alives_enabled",
    "resource_constant_labels",
    "sending_queue",
];

/// The `prometheus` exporter kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const SPEC: Spec = Spec {
    signals: &[SignalKind::Metrics],
    unsupported: UNSUPPORTED_COLLECTOR_KEYS,
    ..Spec::named("prometheus")
};

/// The default `endpoint`.
pub const DEFAULT_ENDPOINT: &str = "0.0.0.0:8889";

/// The `prometheus` exporter's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusConfig {
    /// Address the scrape endpoint (`/metrics`) listens on, `host:port`; port 0 picks a free
    /// port (logged in the `listening` event).
    pub endpoint: String,
    /// Prefix of every metric name (`namespace: shop` → `shop_http_requests_total`).
    pub namespace: String,
    /// Labels added to every series that has no label of that name (names are sanitised like
    /// attribute keys).
    pub const_labels: BTreeMap<String, String>,
    /// Write each sample's OTLP timestamp on the page. Off by default, as in the Collector: with
    /// timestamps Prometheus cannot mark series stale when they stop.
    pub send_timestamps: bool,
    /// How long a series stays on the page without a new data point, as `5m` (default).
    #[serde(with = "humantime_serde")]
    pub metric_expiration: Duration,
    /// Copy resource attributes onto every series (`enabled`, `exclude_service_attributes`).
    pub resource_to_telemetry_conversion: ResourceToTelemetry,
    /// Serve OpenMetrics 1.0, with exemplars (`trace_id`, `span_id`) on counters and histogram
    /// buckets, to scrapers that ask for it (Prometheus does). Off: always the 0.0.4 text format.
    pub enable_open_metrics: bool,
    /// Leave out the `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url` and
    /// `otel_scope_<attribute>` labels.
    pub without_scope_info: bool,
    /// Deprecated in the Collector: `false` means `UnderscoreEscapingWithoutSuffixes`. Ignored
    /// when `translation_strategy` is set.
    pub add_metric_suffixes: bool,
    /// How OTLP names become Prometheus names: `UnderscoreEscapingWithSuffixes` (default),
    /// `UnderscoreEscapingWithoutSuffixes`, `NoUTF8EscapingWithSuffixes`, `NoTranslation`.
    pub translation_strategy: Option<TranslationStrategy>,
    /// weir's key: the label each series' tenant goes in (`tenant` by default), so one page
    /// shows every tenant's series apart. An empty string adds no tenant label (series of
    /// different tenants with the same labels then overwrite each other).
    pub tenant_label: String,
    /// weir's key: most series kept per metric name; data points of further series are
    /// dropped and counted in `weir_prometheus_exporter_dropped_points_total{reason=
    /// "series_limit"}` on the page and in `weir_records_dropped_total{reason="series_limit"}`.
    /// 0 means no limit (`max_series` still applies).
    pub max_series_per_metric: usize,
    /// weir's key: most metric families on the page (10000 by default, at least 1); data points
    /// of further metric names are dropped and counted with reason `metric_limit`, on the page
    /// and in `weir_records_dropped_total`, until expiry frees room.
    pub max_metrics: usize,
    /// weir's key: most series on the page, all metrics together (100000 by default, at least
    /// 1); data points of further series are dropped and counted with reason `series_limit`.
    pub max_series: usize,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        Self {
            endpoint: DEFAULT_ENDPOINT.into(),
            namespace: String::new(),
            const_labels: BTreeMap::new(),
            send_timestamps: false,
            metric_expiration: Duration::from_secs(300),
            resource_to_telemetry_conversion: ResourceToTelemetry::default(),
            enable_open_metrics: false,
            without_scope_info: false,
            add_metric_suffixes: true,
            translation_strategy: None,
            tenant_label: "tenant".into(),
            max_series_per_metric: 10_000,
            max_metrics: 10_000,
            max_series: 100_000,
        }
    }
}

impl PrometheusConfig {
    /// `(key, message)` for each invalid setting; pure (no I/O).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.endpoint.parse::<SocketAddr>().is_err() && !looks_like_host_port(&self.endpoint) {
            out.push((
                "endpoint".into(),
                format!(
                    "{:?} is not host:port (e.g. 0.0.0.0:8889, or port 0 for any free port)",
                    self.endpoint
                ),
            ));
        }
        if self.metric_expiration.is_zero() {
            out.push(("metric_expiration".into(), "must be more than 0s".into()));
        }
        for (key, value) in [
            ("max_metrics", self.max_metrics),
            ("max_series", self.max_series),
        ] {
            if value == 0 {
                out.push((
                    key.into(),
                    "must be at least 1 (the page's memory is bounded by it)".into(),
                ));
            }
        }
        out.extend(self.translation().label_problems("const_labels"));
        out
    }

    /// The translation strategy in effect.
    pub fn strategy(&self) -> TranslationStrategy {
        TranslationStrategy::resolve(self.translation_strategy, self.add_metric_suffixes)
    }

    /// The translation settings these keys make.
    pub fn translation(&self) -> Settings {
        Settings {
            strategy: self.strategy(),
            namespace: self.namespace.clone(),
            resource_to_telemetry: self.resource_to_telemetry_conversion,
            scope_labels: !self.without_scope_info,
            target_info: true,
            tenant_label: self.tenant_label.clone(),
            extra_labels: self.const_labels.clone(),
        }
    }
}

/// `host:port` with a non-empty host and a numeric port (names are resolved when binding).
fn looks_like_host_port(endpoint: &str) -> bool {
    match endpoint.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<PrometheusConfig, serde_yaml_ng::Error> {
        serde_yaml_ng::from_str(yaml)
    }

    #[test]
    fn collector_yaml_parses_with_its_defaults() {
        let cfg = parse(
            r#"
endpoint: "1.2.3.4:1234"
namespace: test-space
const_labels: { label1: value1, "another label": spaced value }
send_timestamps: true
metric_expiration: 180m
enable_open_metrics: true
add_metric_suffixes: false
translation_strategy: UnderscoreEscapingWithoutSuffixes
resource_to_telemetry_conversion: { enabled: true }
"#,
        )
        .expect("parses");
        assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
        assert_eq!(cfg.metric_expiration, Duration::from_secs(180 * 60));
        assert_eq!(
            cfg.strategy(),
            TranslationStrategy::UnderscoreEscapingWithoutSuffixes
        );
        let d = PrometheusConfig::default();
        assert_eq!(d.endpoint, "0.0.0.0:8889");
        assert_eq!(d.metric_expiration, Duration::from_secs(300));
        assert_eq!(d.tenant_label, "tenant");
        assert_eq!(
            d.strategy(),
            TranslationStrategy::UnderscoreEscapingWithSuffixes
        );
        let deprecated = parse("add_metric_suffixes: false").expect("parses");
        assert_eq!(
            deprecated.strategy(),
            TranslationStrategy::UnderscoreEscapingWithoutSuffixes
        );
    }

    #[test]
    fn problems_name_the_key() {
        let cfg = parse(
            "endpoint: nope\nmetric_expiration: 0s\nconst_labels: { '..': x }\ntenant_label: '..'\n\
             max_metrics: 0\nmax_series: 0",
        )
        .expect("parses");
        let keys: Vec<String> = cfg.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "endpoint",
                "metric_expiration",
                "max_metrics",
                "max_series",
                "const_labels...",
                "tenant_label"
            ]
        );
        let d = PrometheusConfig::default();
        assert_eq!((d.max_metrics, d.max_series), (10_000, 100_000));
        assert!(
            parse("endpoint: localhost:0")
                .expect("parses")
                .problems()
                .is_empty()
        );
        for (yaml, says) in [
            ("endpoint: x\nbogus: 1", "unknown field `bogus`"),
            (
                "translation_strategy: Underscores",
                "translation_strategy: unknown variant `Underscores`",
            ),
        ] {
            let err = parse(yaml).expect_err(yaml).to_string();
            assert!(err.contains(says), "{yaml}: {err}");
        }
    }
}
