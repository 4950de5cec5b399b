//! Unit tests of the redaction processor, through `Processor::process` on real OTLP structs.

mod attrs;
mod config;
mod fields;
mod memo;
mod merge;
mod metrics;
mod strict;

use weir_pipeline::metrics::catalogue;
use weir_pipeline::otlp::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value::Value,
};
use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span};
use weir_pipeline::{Batch, Metrics, Outcome, Processor, RequestContext, Signal};

use super::{Redaction, RedactionConfig};

/// The default mask.
pub const M: &str = "[REDACTED]";

/// A processor from YAML (`{}` for the defaults), with its metrics.
pub fn build(yaml: &str) -> (Redaction, Metrics) {
    let cfg: RedactionConfig = serde_yaml_ng::from_str(yaml).expect("config parses");
    let metrics = Metrics::new();
    let p = Redaction::new("redaction", &cfg, metrics.clone()).expect("config is valid");
    (p, metrics)
}

/// `weir_redacted_values_total{processor="redaction",reason}`.
pub fn counted(m: &Metrics, reason: &str) -> u64 {
    m.value(catalogue::REDACTED_VALUES, &["redaction", reason])
        .unwrap_or(0)
}

pub fn s(v: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(v.into())),
    }
}

pub fn i(v: i64) -> AnyValue {
    AnyValue {
        value: Some(Value::IntValue(v)),
    }
}

pub fn map(entries: Vec<KeyValue>) -> AnyValue {
    AnyValue {
        value: Some(Value::KvlistValue(KeyValueList { values: entries })),
    }
}

pub fn arr(values: Vec<AnyValue>) -> AnyValue {
    AnyValue {
        value: Some(Value::ArrayValue(ArrayValue { values })),
    }
}

pub fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(value),
        ..Default::default()
    }
}

/// The value of `key` in `attrs`; panics when absent.
pub fn get<'a>(attrs: &'a [KeyValue], key: &str) -> &'a AnyValue {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .unwrap_or_else(|| panic!("{key} missing in {attrs:?}"))
}

/// The string value of `key` in `attrs`.
pub fn get_str<'a>(attrs: &'a [KeyValue], key: &str) -> &'a str {
    match &get(attrs, key).value {
        Some(Value::StringValue(s)) => s,
        other => panic!("{key} is not a string: {other:?}"),
    }
}

/// A traces batch of one resource and these spans.
pub fn traces(resource: Vec<KeyValue>, spans: Vec<Span>) -> Batch {
    Batch::new(
        RequestContext::for_tests(),
        Signal::Traces(vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }]),
    )
}

/// A logs batch of one resource and these records.
pub fn logs(resource: Vec<KeyValue>, records: Vec<LogRecord>) -> Batch {
    Batch::new(
        RequestContext::for_tests(),
        Signal::Logs(vec![ResourceLogs {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }]),
    )
}

/// The spans of a traces batch, in order.
pub fn spans(b: &Batch) -> Vec<&Span> {
    match b.signal() {
        Signal::Traces(rs) => rs
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .collect(),
        other => panic!("not traces: {other:?}"),
    }
}

/// The log records of a logs batch, in order.
pub fn records(b: &Batch) -> Vec<&LogRecord> {
    match b.signal() {
        Signal::Logs(rl) => rl
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .collect(),
        other => panic!("not logs: {other:?}"),
    }
}

/// The first resource's attributes.
pub fn resource_attrs(b: &Batch) -> &[KeyValue] {
    let r = match b.signal() {
        Signal::Traces(rs) => rs[0].resource.as_ref(),
        Signal::Logs(rl) => rl[0].resource.as_ref(),
        Signal::Metrics(rm) => rm[0].resource.as_ref(),
    };
    &r.expect("resource").attributes
}

/// Runs `p` and expects nothing rejected.
pub fn pass(p: &Redaction, b: &mut Batch) {
    assert_eq!(p.process(b), Outcome::pass());
}
