//! Config of the `filter` processor: the Collector's OTTL form.
//!
//! ```yaml
//! processors:
//!   filter/drop-noise:
//!     error_mode: ignore
//!     traces:
//!       span:
//!         - 'attributes["http.route"] == "/healthz"'
//!         - 'kind == SPAN_KIND_INTERNAL and name == "noop"'
//!       spanevent:
//!         - 'IsMatch(name, "^debug\\.")'
//!     logs:
//!       log_record:
//!         - 'severity_number < SEVERITY_NUMBER_INFO'
//!     metrics:
//!       metric:
//!         - 'name == "http.server.duration" and resource.attributes["env"] == "dev"'
//!       datapoint:
//!         - 'attributes["le"] == nil and metric.name == "queue.size"'
//! ```
//!
//! A record matching any condition of its list is dropped. Each condition is parsed once, when
//! the config is read ([`Condition`]): one weir does not run fails the reading at its list
//! index. [`FilterConfig::problems`] (pure) only asks for at least one condition.

use serde::Deserialize;
use weir_pipeline::spec::Spec;

use super::conditions::{self, Condition};

/// Collector keys weir does not implement: the older `include`/`exclude` matching (write the
/// same as conditions).
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] = &[
    "spans",
    "logs.include",
    "logs.exclude",
    "metrics.include",
    "metrics.exclude",
    "profiles",
];

/// The `filter` processor kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const SPEC: Spec = Spec {
    unsupported: UNSUPPORTED_COLLECTOR_KEYS,
    ..Spec::named("filter")
};

/// The `filter` processor's settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterConfig {
    /// `ignore`, `silent` or `propagate` (the Collector's default). weir's conditions cannot
    /// fail on a record (an absent path is `nil`, mismatched types compare false), so every
    /// mode behaves the same; the key is read for compatibility.
    pub error_mode: Option<ErrorMode>,
    /// Conditions on spans and span events.
    pub traces: TracesConditions,
    /// Conditions on log records.
    pub logs: LogsConditions,
    /// Conditions on metrics and data points.
    pub metrics: MetricsConditions,
}

/// The Collector's `error_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorMode {
    /// Log and go on.
    Ignore,
    /// Go on without logging.
    Silent,
    /// Fail the batch.
    Propagate,
}

/// `traces`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracesConditions {
    /// A span matching any of these is dropped, with its events and links.
    #[serde(deserialize_with = "conditions::span")]
    pub span: Vec<Condition>,
    /// A span event matching any of these is removed from its span (the span stays).
    #[serde(deserialize_with = "conditions::spanevent")]
    pub spanevent: Vec<Condition>,
}

/// `logs`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConditions {
    /// A log record matching any of these is dropped.
    #[serde(deserialize_with = "conditions::log_record")]
    pub log_record: Vec<Condition>,
}

/// `metrics`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConditions {
    /// A metric matching any of these is dropped with all its data points.
    #[serde(deserialize_with = "conditions::metric")]
    pub metric: Vec<Condition>,
    /// A data point matching any of these is dropped; a metric left without points goes too.
    #[serde(deserialize_with = "conditions::datapoint")]
    pub datapoint: Vec<Condition>,
}

/// Every condition list, in config order.
pub(super) fn lists(cfg: &FilterConfig) -> [&[Condition]; 5] {
    [
        &cfg.traces.span,
        &cfg.traces.spanevent,
        &cfg.logs.log_record,
        &cfg.metrics.metric,
        &cfg.metrics.datapoint,
    ]
}

impl FilterConfig {
    /// `(key, message)` for each invalid setting: only the lack of any condition (each one was
    /// parsed when read); pure (no I/O).
    pub fn problems(&self) -> Vec<(String, String)> {
        if lists(self).iter().all(|l| l.is_empty()) {
            return vec![(
                String::new(),
                "no conditions: set traces.span, traces.spanevent, logs.log_record, \
                 metrics.metric or metrics.datapoint"
                    .into(),
            )];
        }
        Vec::new()
    }
}
