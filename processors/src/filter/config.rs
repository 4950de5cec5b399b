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
//! A record matching any condition of its list is dropped. [`FilterConfig::problems`] parses
//! every condition (pure) and reports each one weir does not run with its list index.

use serde::Deserialize;
use weir_pipeline::spec::Spec;

use super::ottl::{self, Context, Expr};

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
    pub span: Vec<String>,
    /// A span event matching any of these is removed from its span (the span stays).
    pub spanevent: Vec<String>,
}

/// `logs`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConditions {
    /// A log record matching any of these is dropped.
    pub log_record: Vec<String>,
}

/// `metrics`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConditions {
    /// A metric matching any of these is dropped with all its data points.
    pub metric: Vec<String>,
    /// A data point matching any of these is dropped; a metric left without points goes too.
    pub datapoint: Vec<String>,
}

/// Every condition list with its config path and context.
pub(super) fn lists(cfg: &FilterConfig) -> [(&'static str, Context, &[String]); 5] {
    [
        ("traces.span", Context::Span, &cfg.traces.span),
        (
            "traces.spanevent",
            Context::SpanEvent,
            &cfg.traces.spanevent,
        ),
        ("logs.log_record", Context::LogRecord, &cfg.logs.log_record),
        ("metrics.metric", Context::Metric, &cfg.metrics.metric),
        (
            "metrics.datapoint",
            Context::DataPoint,
            &cfg.metrics.datapoint,
        ),
    ]
}

/// The parsed conditions of one list, or `(path, message)` for each that is refused.
pub(super) fn parse_list(
    path: &str,
    context: Context,
    list: &[String],
) -> Result<Vec<Expr>, Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, text) in list.iter().enumerate() {
        match ottl::parse(text, context) {
            Ok(e) => out.push(e),
            Err(e) => errors.push((format!("{path}[{i}]"), format!("{e}; in {text:?}"))),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

impl FilterConfig {
    /// `(key, message)` for each condition weir cannot run; pure (no I/O).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (path, context, list) in lists(self) {
            if let Err(e) = parse_list(path, context, list) {
                out.extend(e);
            }
        }
        if out.is_empty() && lists(self).iter().all(|(_, _, l)| l.is_empty()) {
            out.push((
                String::new(),
                "no conditions: set traces.span, traces.spanevent, logs.log_record, \
                 metrics.metric or metrics.datapoint"
                    .into(),
            ));
        }
        out
    }
}
