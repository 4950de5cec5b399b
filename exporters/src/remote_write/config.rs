//! Config of the `prometheusremotewrite` exporter: the Collector's keys, plus weir's
//! `tenant_header`, `tenant_label` and `without_scope_info`.
//!
//! ```yaml
//! exporters:
//!   prometheusremotewrite:
//!     endpoint: http://mimir:9009/api/v1/push
//!     headers: { Authorization: "Bearer ${env:MIMIR_TOKEN}" }
//!     external_labels: { cluster: eu1 }
//!     resource_to_telemetry_conversion: { enabled: false }
//!     target_info: { enabled: true }
//!     remote_write_queue: { enabled: true, queue_size: 10000, num_consumers: 5 }
//! ```
//! The Collector's `remote_write_queue` is mapped onto weir's `sending_queue` (`queue_size`
//! counts requests, `num_consumers` is the number of concurrent requests); giving both is an
//! error. Invalid values are reported by [`RemoteWriteConfig::problems`] with the key at fault.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use weir_pipeline::SignalKind;
use weir_pipeline::queue::config::{DEFAULT_TIMEOUT, UNSUPPORTED_QUEUE_KEYS};
use weir_pipeline::queue::{QueueConfig, RetryConfig};
use weir_pipeline::spec::{QUEUE_AT_ROOT, Spec};

use crate::shared::endpoint::{self, HttpUrl};
use crate::shared::http::config::{
    HTTP_CLIENT_KEYS, HttpTlsConfig, TLS_KEYS, concat_keys, count_keys, timeout_problem,
};
use crate::shared::http::headers::{Headers, TenantHeader};
use crate::shared::prom::{ResourceToTelemetry, Settings, TranslationStrategy};

/// Collector keys weir does not implement for this exporter.
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] =
    &concat_keys::<{ count_keys(UNSUPPORTED) }>(UNSUPPORTED);

/// The parts of [`UNSUPPORTED_COLLECTOR_KEYS`]: the exporter's own, the HTTP client's, TLS and
/// queue keys.
const UNSUPPORTED: &[&[&str]] = &[
    &[
        "wal",
        "compression",
        "max_batch_request_parallelism",
        "protobuf_message",
        "export_created_metric",
        "scope_info",
    ],
    HTTP_CLIENT_KEYS,
    TLS_KEYS,
    UNSUPPORTED_QUEUE_KEYS,
];

/// The `prometheus_remote_write` exporter kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const SPEC: Spec = Spec {
    aliases: &["prometheusremotewrite"],
    signals: &[SignalKind::Metrics],
    unsupported: UNSUPPORTED_COLLECTOR_KEYS,
    queue: QUEUE_AT_ROOT,
    ..Spec::named("prometheus_remote_write")
};

/// `remote_write_queue`: the Collector's queue keys, mapped onto `sending_queue`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteWriteQueue {
    /// Queue requests (`true`); with `false` the client waits for the backend.
    pub enabled: bool,
    /// Requests the queue holds.
    pub queue_size: u64,
    /// Requests sent at once.
    pub num_consumers: usize,
}

impl Default for RemoteWriteQueue {
    fn default() -> Self {
        Self {
            enabled: true,
            queue_size: 10_000,
            num_consumers: 5,
        }
    }
}

/// `target_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TargetInfo {
    /// Send a `target_info` series per resource with its attributes (default `true`).
    pub enabled: bool,
}

impl Default for TargetInfo {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// The `prometheusremotewrite` exporter's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "Raw")]
pub struct RemoteWriteConfig {
    /// The remote write URL, `http://` or `https://` (Prometheus: `/api/v1/write`; Mimir and
    /// Cortex: `/api/v1/push`). Required; checked when the config is read.
    pub endpoint: Option<HttpUrl>,
    /// Headers sent with every request, e.g. `Authorization`. A name here overrides
    /// `tenant_header`.
    pub headers: Headers,
    /// Labels added to every series that has no label of that name.
    pub external_labels: BTreeMap<String, String>,
    /// Prefix of every metric name.
    pub namespace: String,
    /// Longest wait for one request, as `5s` (default).
    pub timeout: Duration,
    /// Transport security for `https://` endpoints (as in `otlphttp`).
    pub tls: HttpTlsConfig,
    /// The Collector's queue keys, as given (already mapped onto `sending_queue`).
    pub remote_write_queue: Option<RemoteWriteQueue>,
    /// The queue in front of this exporter (weir's keys; `remote_write_queue` sets it too).
    /// Concurrent requests (`num_consumers` > 1) can deliver a series' samples out of order,
    /// which Prometheus refuses (HTTP 400); use 1 for Prometheus itself.
    pub sending_queue: QueueConfig,
    /// Retries of requests answered 429 or 5xx, or not answered.
    pub retry_on_failure: RetryConfig,
    /// Copy resource attributes onto every series.
    pub resource_to_telemetry_conversion: ResourceToTelemetry,
    /// `target_info.enabled`.
    pub target_info: TargetInfo,
    /// Deprecated in the Collector: `false` means `UnderscoreEscapingWithoutSuffixes`.
    pub add_metric_suffixes: bool,
    /// How OTLP names become Prometheus names (see the `prometheus` exporter).
    pub translation_strategy: Option<TranslationStrategy>,
    /// Also send each metric's type and help (`metadata` of the `WriteRequest`).
    pub send_metadata: bool,
    /// Largest request body before compression; bigger bundles are split (default 3000000).
    pub max_batch_size_bytes: usize,
    /// weir's key: the header carrying each batch's tenant, `X-Scope-OrgID` by default (what
    /// Mimir and Cortex read). Empty: none.
    pub tenant_header: TenantHeader,
    /// weir's key: a label carrying each batch's tenant (none by default; the header is the
    /// multi-tenant way). Useful when several tenants write into one Prometheus.
    pub tenant_label: String,
    /// weir's key: leave out the `otel_scope_*` labels, as the `prometheus` exporter's key.
    pub without_scope_info: bool,
    /// True when `sending_queue` was written in the config.
    sending_queue_given: bool,
}

impl Default for RemoteWriteConfig {
    fn default() -> Self {
        Raw::default().into()
    }
}

/// The keys as written; [`RemoteWriteConfig`] is made from it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Raw {
    #[serde(deserialize_with = "endpoint::optional")]
    endpoint: Option<HttpUrl>,
    headers: Headers,
    external_labels: BTreeMap<String, String>,
    namespace: String,
    #[serde(with = "humantime_serde")]
    timeout: Duration,
    tls: HttpTlsConfig,
    remote_write_queue: Option<RemoteWriteQueue>,
    sending_queue: Option<QueueConfig>,
    retry_on_failure: RetryConfig,
    resource_to_telemetry_conversion: ResourceToTelemetry,
    target_info: TargetInfo,
    add_metric_suffixes: bool,
    translation_strategy: Option<TranslationStrategy>,
    send_metadata: bool,
    max_batch_size_bytes: usize,
    tenant_header: TenantHeader,
    tenant_label: String,
    without_scope_info: bool,
}

impl Default for Raw {
    fn default() -> Self {
        Self {
            endpoint: None,
            headers: Headers::default(),
            external_labels: BTreeMap::new(),
            namespace: String::new(),
            timeout: DEFAULT_TIMEOUT,
            tls: HttpTlsConfig::default(),
            remote_write_queue: None,
            sending_queue: None,
            retry_on_failure: RetryConfig::default(),
            resource_to_telemetry_conversion: ResourceToTelemetry::default(),
            target_info: TargetInfo::default(),
            add_metric_suffixes: true,
            translation_strategy: None,
            send_metadata: false,
            max_batch_size_bytes: 3_000_000,
            tenant_header: TenantHeader::default(),
            tenant_label: String::new(),
            without_scope_info: false,
        }
    }
}

impl From<Raw> for RemoteWriteConfig {
    fn from(raw: Raw) -> Self {
        let sending_queue_given = raw.sending_queue.is_some();
        let sending_queue = match (raw.sending_queue, &raw.remote_write_queue) {
            (Some(q), _) => q,
            (None, Some(rwq)) => QueueConfig {
                enabled: rwq.enabled,
                queue_size: rwq.queue_size,
                num_consumers: rwq.num_consumers,
                ..QueueConfig::default()
            },
            (None, None) => QueueConfig::default(),
        };
        Self {
            endpoint: raw.endpoint,
            headers: raw.headers,
            external_labels: raw.external_labels,
            namespace: raw.namespace,
            timeout: raw.timeout,
            tls: raw.tls,
            remote_write_queue: raw.remote_write_queue,
            sending_queue,
            retry_on_failure: raw.retry_on_failure,
            resource_to_telemetry_conversion: raw.resource_to_telemetry_conversion,
            target_info: raw.target_info,
            add_metric_suffixes: raw.add_metric_suffixes,
            translation_strategy: raw.translation_strategy,
            send_metadata: raw.send_metadata,
            max_batch_size_bytes: raw.max_batch_size_bytes,
            tenant_header: raw.tenant_header,
            tenant_label: raw.tenant_label,
            without_scope_info: raw.without_scope_info,
            sending_queue_given,
        }
    }
}

/// The problem of a `prometheusremotewrite` exporter without an endpoint.
pub(crate) const ENDPOINT_REQUIRED: &str =
    "required: the remote write URL, e.g. http://prometheus:9090/api/v1/write";

impl RemoteWriteConfig {
    /// `(key, message)` for each invalid setting; pure (no I/O). The endpoint's form was
    /// checked when the config was read.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.endpoint.is_none() {
            out.push(("endpoint".into(), ENDPOINT_REQUIRED.into()));
        }
        out.extend(timeout_problem(self.timeout));
        if self.max_batch_size_bytes < 1024 {
            out.push((
                "max_batch_size_bytes".into(),
                "must be at least 1024".into(),
            ));
        }
        out.extend(self.tls.problem());
        out.extend(self.translation().label_problems("external_labels"));
        // Remote write also needs a value for each external label (an empty one is no label
        // at all on the receiver); the `prometheus` exporter's `const_labels` do not check that.
        for (name, value) in &self.external_labels {
            if value.is_empty() {
                out.push((format!("external_labels.{name}"), "needs a value".into()));
            }
        }
        if let Some(q) = &self.remote_write_queue {
            if self.sending_queue_given {
                out.push((
                    "remote_write_queue".into(),
                    "set either remote_write_queue (the Collector's key) or sending_queue, not both"
                        .into(),
                ));
            }
            if q.enabled && q.queue_size == 0 {
                out.push((
                    "remote_write_queue.queue_size".into(),
                    "must be at least 1".into(),
                ));
            }
            if q.num_consumers == 0 {
                out.push((
                    "remote_write_queue.num_consumers".into(),
                    "must be at least 1".into(),
                ));
            }
        } else {
            out.extend(self.sending_queue.problems());
        }
        out.extend(self.retry_on_failure.problems());
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
            target_info: self.target_info.enabled,
            tenant_label: self.tenant_label.clone(),
            extra_labels: self.external_labels.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<RemoteWriteConfig, serde_yaml_ng::Error> {
        serde_yaml_ng::from_str(yaml)
    }

    #[test]
    fn collector_yaml_parses_and_maps_the_queue() {
        let cfg = parse(
            r#"
endpoint: http://mimir:9009/api/v1/push
headers: { Authorization: "Bearer x" }
external_labels: { cluster: eu1 }
namespace: shop
timeout: 10s
tls: { insecure: true }
remote_write_queue: { enabled: true, queue_size: 2000, num_consumers: 3 }
resource_to_telemetry_conversion: { enabled: true }
target_info: { enabled: false }
add_metric_suffixes: false
send_metadata: true
max_batch_size_bytes: 100000
retry_on_failure: { enabled: true, initial_interval: 1s }
"#,
        )
        .expect("parses");
        assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
        assert_eq!(cfg.sending_queue.queue_size, 2000);
        assert_eq!(cfg.sending_queue.num_consumers, 3);
        assert!(cfg.sending_queue.enabled);
        assert_eq!(cfg.timeout, Duration::from_secs(10));
        assert_eq!(
            cfg.strategy(),
            TranslationStrategy::UnderscoreEscapingWithoutSuffixes
        );
        let t = cfg.translation();
        assert!(!t.target_info && t.resource_to_telemetry.enabled);
        assert_eq!(t.namespace, "shop");
    }

    #[test]
    fn defaults_follow_the_collector() {
        let cfg = parse("endpoint: http://p:9090/api/v1/write").expect("parses");
        assert!(cfg.problems().is_empty());
        assert_eq!(cfg.timeout, DEFAULT_TIMEOUT);
        assert_eq!(cfg.max_batch_size_bytes, 3_000_000);
        assert_eq!(cfg.tenant_header, "X-Scope-OrgID");
        assert!(cfg.target_info.enabled && !cfg.send_metadata);
        assert_eq!(cfg.sending_queue, QueueConfig::default());
        assert_eq!(
            cfg.strategy(),
            TranslationStrategy::UnderscoreEscapingWithSuffixes
        );
    }

    #[test]
    fn problems_name_the_key() {
        let both = parse(
            "timeout: 0s\nremote_write_queue: { queue_size: 0 }\n\
             sending_queue: { queue_size: 5 }\nexternal_labels: { '..': x, ok: '' }",
        )
        .expect("parses");
        let keys: Vec<String> = both.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "endpoint",
                "timeout",
                "external_labels...",
                "external_labels.ok",
                "remote_write_queue",
                "remote_write_queue.queue_size",
            ]
        );
        assert_eq!(parse("{}").expect("parses").problems()[0].0, "endpoint");
        let err = parse("endpoint: http://p\nwal: {}")
            .expect_err("unknown keys are errors")
            .to_string();
        assert!(err.contains("unknown field `wal`"), "{err}");
    }
}
