//! OTLP metrics translated into Prometheus series, shared by the `prometheus` (scrape) and
//! `prometheusremotewrite` exporters so that both paths show one view: the same names, labels
//! and `le` strings for the same data. It follows Prometheus' OTLP compatibility rules and the
//! Collector's behaviour (its `otlptranslator`):
//!
//! - names ([`names`]): `translation_strategy` (underscore escaping with unit and type
//!   suffixes by default: `http.requests` → `http_requests_total`, `http.server.duration`
//!   (`s`) → `http_server_duration_seconds`, a gauge of unit `1` → `..._ratio`), `namespace`;
//! - labels ([`labels`]): sanitised attribute keys, collisions joined with `;`, `job` from
//!   `service.namespace`/`service.name`, `instance` from `service.instance.id`,
//!   `otel_scope_name`/`otel_scope_version` (and the schema URL and scope attributes), the
//!   tenant label, `resource_to_telemetry_conversion`, constant/external labels;
//! - points ([`points`]): gauges, sums (monotonic → counters), histograms, exponential
//!   histograms (as explicit buckets, [`buckets`]), summaries, `target_info`, NaN and
//!   infinities as they are, the no-recorded-value flag as a staleness marker;
//! - delta temporality ([`delta`]): monotonic sums and histograms are added up into cumulative
//!   totals by the exporters; non-monotonic delta sums are skipped.
//! - numbers ([`number`]): `le` and `quantile` values written as Prometheus' Go clients write
//!   them (`0.005`, `1e+06`, `+Inf`).
//!
//! Nothing here fails: what cannot be translated is skipped and counted in [`Skipped`]. Names
//! are computed once per metric name and attribute key and cached ([`names::Names`]).

pub mod buckets;
pub mod config;
pub mod delta;
pub mod labels;
pub mod model;
pub mod names;
pub mod number;
pub mod points;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use weir_pipeline::RequestContext;
use weir_pipeline::correlation;
use weir_pipeline::otlp::metrics::v1::{Exemplar, exemplar};

pub use config::{ResourceToTelemetry, TranslationStrategy};
pub use labels::Label;
pub use model::{Family, MetricType, Point, Skipped, Summary, Value};

/// What the translation of one exporter is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `translation_strategy`.
    pub strategy: TranslationStrategy,
    /// `namespace`: prefixed to every metric name.
    pub namespace: String,
    /// `resource_to_telemetry_conversion`.
    pub resource_to_telemetry: ResourceToTelemetry,
    /// Add `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url` and
    /// `otel_scope_<attribute>` labels (the Collector's `without_scope_info: false`).
    pub scope_labels: bool,
    /// Emit `target_info` per resource.
    pub target_info: bool,
    /// The label the batch's tenant goes in; empty for none.
    pub tenant_label: String,
    /// `const_labels` / `external_labels`: added to every series that has no label of that name.
    pub extra_labels: BTreeMap<String, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            strategy: TranslationStrategy::default(),
            namespace: String::new(),
            resource_to_telemetry: ResourceToTelemetry::default(),
            scope_labels: true,
            target_info: true,
            tenant_label: String::new(),
            extra_labels: BTreeMap::new(),
        }
    }
}

impl Settings {
    /// `(key, message)` for each name these settings cannot make a label of under their
    /// strategy: an extra label, reported as `<labels_key>.<name>` (the exporter's key for
    /// them, `const_labels` or `external_labels`), and `tenant_label`. Pure.
    pub fn label_problems(&self, labels_key: &str) -> Vec<(String, String)> {
        let escapes = self.strategy.escapes();
        let unusable = |name: &str| names::label_name(name, escapes).is_none();
        let mut out: Vec<(String, String)> = self
            .extra_labels
            .keys()
            .filter(|name| unusable(name))
            .map(|name| (format!("{labels_key}.{name}"), UNUSABLE.into()))
            .collect();
        if !self.tenant_label.is_empty() && unusable(&self.tenant_label) {
            out.push(("tenant_label".into(), UNUSABLE.into()));
        }
        out
    }
}

/// The problem of a name [`Settings::label_problems`] refuses.
const UNUSABLE: &str = "is not usable as a label name";

/// Translates batches for one exporter; see the [module docs](self).
#[derive(Debug)]
pub struct Translator {
    settings: Settings,
    names: names::Names,
    /// `extra_labels` with sanitised names, sorted.
    defaults: Vec<Label>,
    tenant_label: Option<Arc<str>>,
    target_info_name: Arc<str>,
}

impl Translator {
    /// A translator for `settings`.
    pub fn new(settings: Settings) -> Self {
        let names = names::Names::new(settings.strategy, &settings.namespace);
        let defaults = labels::normalized(
            settings
                .extra_labels
                .iter()
                .filter_map(|(k, v)| Some(Label::new(names.label(k)?, v.as_str())))
                .collect(),
        );
        let tenant_label = (!settings.tenant_label.is_empty())
            .then(|| names.label(&settings.tenant_label))
            .flatten();
        Self {
            names,
            defaults,
            tenant_label,
            target_info_name: Arc::from("target_info"),
            settings,
        }
    }

    /// True for a resource's `target_info` point, which stands for no OTLP data point (a
    /// page refusing it loses no record).
    pub fn is_target_info(&self, point: &Point<'_>) -> bool {
        Arc::ptr_eq(point.family.name, &self.target_info_name)
    }

    /// The settings this translator was built with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

/// An exemplar as Prometheus keeps it: `trace_id` and `span_id` labels (sorted by name), the
/// value, and the time when the SDK recorded one.
#[derive(Debug, Clone, PartialEq)]
pub struct PromExemplar {
    /// `span_id` and/or `trace_id`, lower-case hex.
    pub labels: Vec<(&'static str, String)>,
    /// The measurement.
    pub value: f64,
    /// When it was measured (ms since the epoch).
    pub time_ms: Option<i64>,
}

impl PromExemplar {
    /// The exemplar of `e` sent in `ctx`, or `None` when it names no valid trace or span.
    pub fn of(ctx: &RequestContext, e: &Exemplar) -> Option<Self> {
        let ids = correlation::of_exemplar_in(ctx, e);
        let mut labels = Vec::with_capacity(2);
        if let Some(span) = ids.span_id_hex() {
            labels.push(("span_id", span));
        }
        if let Some(trace) = ids.trace_id_hex() {
            labels.push(("trace_id", trace));
        }
        if labels.is_empty() {
            return None;
        }
        let value = match e.value {
            Some(exemplar::Value::AsDouble(d)) => d,
            Some(exemplar::Value::AsInt(i)) => i as f64,
            None => return None,
        };
        let time_ms = (e.time_unix_nano != 0)
            .then(|| i64::try_from(e.time_unix_nano / 1_000_000).unwrap_or(i64::MAX));
        Some(Self {
            labels,
            value,
            time_ms,
        })
    }
}
