//! Config of the `enrich` processor.
//!
//! ```yaml
//! processors:
//!   enrich:
//!     request_id: { key: request.id, level: record, exemplars: true }
//!     trace_ids: { from_body: true, from_request_traceparent: false }
//!     attributes:
//!       - { key: deployment.environment, value: "${env:DEPLOY_ENV}", action: upsert }
//!       - { key: weir.collector.id, value: "${env:POD_NAME}", action: insert }
//!     add_host_name: true
//! ```
//!
//! Every key is optional; `enrich: {}` puts request ids on spans, log records and exemplars and
//! promotes trace ids onto log records. [`EnrichConfig::problems`] checks the settings without
//! touching the system (the host name is read when the processor is built); the config loader
//! runs it, the constructor does not run it again.

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use weir_pipeline::correlation::{REQUEST_ID_KEY, WEIR_REQUEST_ID_KEY};
use weir_pipeline::otlp::common::v1::{AnyValue, any_value::Value};
use weir_pipeline::spec::Spec;

/// Collector keys weir does not implement for this processor. (The Collector's per-attribute
/// keys `from_attribute`, `from_context`, `pattern`, `converted_type` and the actions `delete`,
/// `hash`, `extract`, `convert` are reported by [`EnrichConfig::problems`] with their list
/// index.)
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] = &[];

/// The `enrich` processor kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const SPEC: Spec = Spec {
    unsupported: UNSUPPORTED_COLLECTOR_KEYS,
    ..Spec::named("enrich")
};

/// The `enrich` processor's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichConfig {
    /// The export request's id (the client's `X-Request-Id`, or the one weir generated) on spans,
    /// log records and metric exemplars, never on metric data points.
    pub request_id: RequestIdConfig,
    /// Trace and span ids promoted onto log records that have none, from their attributes, a
    /// JSON body, or (opt-in) the export request's `traceparent` header.
    pub trace_ids: TraceIdsConfig,
    /// Resource attributes set on every batch, in order, as the Collector's `resource`
    /// processor does: `[{key, value, action: insert|upsert|update}]`. `insert` adds the key
    /// where it is absent, `update` replaces it where present, `upsert` does both. Applies to
    /// every signal (use low-cardinality values: on metrics they become series labels).
    /// Default: none.
    pub attributes: Vec<AttributeAction>,
    /// Insert weir's own host name as the resource attribute `host_name_key` where a resource
    /// has none (right when weir runs beside the application, as an agent or sidecar). Read
    /// once at start from `$HOSTNAME`, else `/etc/hostname`, else
    /// `/proc/sys/kernel/hostname`; weir refuses to start if none is readable.
    /// Default: `false`.
    pub add_host_name: bool,
    /// The resource attribute `add_host_name` writes. Default: `host.name`.
    pub host_name_key: String,
}

impl Default for EnrichConfig {
    fn default() -> Self {
        Self {
            request_id: RequestIdConfig::default(),
            trace_ids: TraceIdsConfig::default(),
            attributes: Vec::new(),
            add_host_name: false,
            host_name_key: "host.name".into(),
        }
    }
}

/// Where and how the request id is written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestIdConfig {
    /// Write the request id at all. Default: `true`.
    pub enabled: bool,
    /// The attribute key. A record (or, at `level: resource`, a resource) that already has this
    /// key keeps its value, and weir's id goes beside it as `weir.request.id`. The exporters
    /// look for `request.id`, then `weir.request.id`, then take the request's own id, so a
    /// different key here is written on records but not read back by weir's exporters.
    /// Default: `request.id`.
    pub key: String,
    /// `record` (default): an attribute on every span and log record, which is what Loki,
    /// Tempo and Sentry show beside each record. `resource`: once per resource of the batch,
    /// cheaper, for backends that keep resource attributes with each record. Metric resources
    /// never get it (it would make a new target per request).
    pub level: Level,
    /// Also put the request id on metric exemplars (as a filtered attribute, beside the
    /// exemplar's trace id), never on the data point itself. Default: `true`.
    pub exemplars: bool,
}

impl Default for RequestIdConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            key: REQUEST_ID_KEY.into(),
            level: Level::Record,
            exemplars: true,
        }
    }
}

/// Where the request id goes on spans and log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// An attribute of each span and log record.
    Record,
    /// An attribute of each resource in the batch.
    Resource,
}

/// Which sources trace and span ids are promoted from, onto log records without a valid trace id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TraceIdsConfig {
    /// Promote at all. Default: `true`.
    pub enabled: bool,
    /// Attribute (and JSON body field) keys holding a trace id as 32 hex digits, looked for in
    /// this order. Default: `[trace_id, traceId]`.
    pub trace_id_keys: Vec<String>,
    /// Keys holding the span id (16 hex digits) that goes with the trace id.
    /// Default: `[span_id, spanId]`.
    pub span_id_keys: Vec<String>,
    /// Keys holding a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`), used when no
    /// trace id key gives a valid id; its flags become the record's flags.
    /// Default: `[traceparent]`.
    pub traceparent_keys: Vec<String>,
    /// Also look at the top-level fields of a string body that is a JSON object (only bodies
    /// whose first non-space character is `{` are parsed), and of a map body. The body itself
    /// is never changed. Default: `true`.
    pub from_body: bool,
    /// Last resort: the export request's own `traceparent` header (for clients that send a
    /// request's logs inside its trace). Off by default: an SDK's exporter usually sends its
    /// own, unrelated trace context. Default: `false`.
    pub from_request_traceparent: bool,
    /// Remove the attributes a trace or span id was promoted from (invalid ones are left).
    /// Default: `false`.
    pub remove_promoted_attributes: bool,
}

impl Default for TraceIdsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            trace_id_keys: vec!["trace_id".into(), "traceId".into()],
            span_id_keys: vec!["span_id".into(), "spanId".into()],
            traceparent_keys: vec!["traceparent".into()],
            from_body: true,
            from_request_traceparent: false,
            remove_promoted_attributes: false,
        }
    }
}

/// One resource attribute to set, as in the Collector's `resource` processor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeAction {
    /// The attribute key. Required.
    pub key: String,
    /// The value: a string, integer, float or boolean. `${env:VAR}` is expanded by the config
    /// loader (and then is a string). Required.
    #[serde(default)]
    pub value: Option<AttributeValue>,
    /// `insert`, `upsert` or `update`. Required.
    pub action: Action,
    /// Collector key, not supported by weir.
    #[serde(default)]
    pub from_attribute: Option<IgnoredAny>,
    /// Collector key, not supported by weir.
    #[serde(default)]
    pub from_context: Option<IgnoredAny>,
    /// Collector key, not supported by weir.
    #[serde(default)]
    pub pattern: Option<IgnoredAny>,
    /// Collector key, not supported by weir.
    #[serde(default)]
    pub converted_type: Option<IgnoredAny>,
}

/// What to do with an attribute: the Collector's actions, of which weir runs the first three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Add the key where it is absent.
    Insert,
    /// Set the key, replacing any value.
    Upsert,
    /// Replace the key's value where it is present.
    Update,
    /// Collector action, not supported by weir.
    Delete,
    /// Collector action, not supported by weir.
    Hash,
    /// Collector action, not supported by weir.
    Extract,
    /// Collector action, not supported by weir.
    Convert,
}

impl Action {
    /// The name as written in config.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Insert => "insert",
            Action::Upsert => "upsert",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Hash => "hash",
            Action::Extract => "extract",
            Action::Convert => "convert",
        }
    }

    /// True for the actions weir runs.
    pub fn is_supported(self) -> bool {
        matches!(self, Action::Insert | Action::Upsert | Action::Update)
    }
}

/// A scalar attribute value from config.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    /// A string.
    String(String),
    /// A signed 64-bit integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// `true` or `false`.
    Bool(bool),
}

impl AttributeValue {
    /// The value as an OTLP `AnyValue`.
    pub fn to_any_value(&self) -> AnyValue {
        let value = match self {
            AttributeValue::String(s) => Value::StringValue(s.clone()),
            AttributeValue::Int(i) => Value::IntValue(*i),
            AttributeValue::Double(d) => Value::DoubleValue(*d),
            AttributeValue::Bool(b) => Value::BoolValue(*b),
        };
        AnyValue { value: Some(value) }
    }
}

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Scalar;
        impl Visitor<'_> for Scalar {
            type Value = AttributeValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AttributeValue, E> {
                Ok(AttributeValue::String(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AttributeValue, E> {
                i64::try_from(v)
                    .map(AttributeValue::Int)
                    .map_err(|_| E::custom("integer does not fit in a signed 64-bit value"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Double(v))
            }
        }
        d.deserialize_any(Scalar)
    }
}

impl EnrichConfig {
    /// `(key, message)` for each invalid setting; pure (no I/O).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut problem = |key: String, message: &str| out.push((key, message.to_owned()));

        let key = self.request_id.key.as_str();
        if key.is_empty() {
            problem("request_id.key".into(), "must not be empty");
        } else if key == WEIR_REQUEST_ID_KEY {
            problem(
                "request_id.key".into(),
                "weir.request.id is where weir puts its id beside an application's; pick another key",
            );
        }

        let t = &self.trace_ids;
        for (name, keys) in [
            ("trace_id_keys", &t.trace_id_keys),
            ("span_id_keys", &t.span_id_keys),
            ("traceparent_keys", &t.traceparent_keys),
        ] {
            for (i, k) in keys.iter().enumerate() {
                if k.is_empty() {
                    problem(format!("trace_ids.{name}[{i}]"), "must not be empty");
                }
            }
        }

        for (i, a) in self.attributes.iter().enumerate() {
            let at = |field: &str| format!("attributes[{i}].{field}");
            for (field, set) in [
                ("from_attribute", a.from_attribute.is_some()),
                ("from_context", a.from_context.is_some()),
                ("pattern", a.pattern.is_some()),
                ("converted_type", a.converted_type.is_some()),
            ] {
                if set {
                    problem(at(field), &format!("not supported by weir: {field}"));
                }
            }
            if a.key.is_empty() {
                problem(at("key"), "must not be empty");
            }
            if !a.action.is_supported() {
                problem(
                    at("action"),
                    &format!(
                        "not supported by weir: action {} (weir runs insert, upsert and update)",
                        a.action.as_str()
                    ),
                );
            } else if a.value.is_none() {
                problem(at("value"), "is required for insert, upsert and update");
            }
        }

        if self.add_host_name && self.host_name_key.is_empty() {
            problem("host_name_key".into(), "must not be empty");
        }
        out
    }
}
