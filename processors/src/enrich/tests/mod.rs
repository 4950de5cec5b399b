//! Tests of the `enrich` processor, run on batches built here from OTLP structs, with the real
//! metrics registry.

mod config;
mod metrics;
mod request_id;
mod resource;
mod trace_ids;

use weir_pipeline::metrics::catalogue;
use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};
use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span};
use weir_pipeline::{
    Batch, Metrics, Outcome, Processor, RequestContext, RequestId, Signal, TenantId,
};

use super::{Enrich, EnrichConfig};

const ID: &str = "enrich/test";

/// A processor from `cfg` (no host name available) and the registry it counts in.
fn enrich(cfg: &EnrichConfig) -> (Enrich, Metrics) {
    let metrics = Metrics::new();
    let e = Enrich::build(ID, cfg, &metrics, || None).expect("valid config");
    (e, metrics)
}

/// Runs `e` on `batch`, checking that it passes everything.
fn run(e: &Enrich, batch: &mut Batch) {
    assert_eq!(e.process(batch), Outcome::pass());
}

/// A request context whose request id came from the client header `id`, or was generated.
fn ctx(id: Option<&str>) -> RequestContext {
    RequestContext::new(
        TenantId::default_tenant(),
        RequestId::from_client(id.map(str::as_bytes)),
        "otlp".into(),
        "http",
    )
}

fn string(v: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(v.into())),
    }
}

fn kv(key: &str, v: &str) -> KeyValue {
    kv_any(key, string(v))
}

fn kv_any(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(value),
        ..Default::default()
    }
}

fn resource(attrs: Vec<KeyValue>) -> Option<Resource> {
    Some(Resource {
        attributes: attrs,
        ..Default::default()
    })
}

/// The string values under `key`, in order (so a repeated key shows).
fn values<'a>(attrs: &'a [KeyValue], key: &str) -> Vec<&'a str> {
    attrs
        .iter()
        .filter(|kv| kv.key == key)
        .map(
            |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) => s.as_str(),
                other => panic!("{key} is not a string: {other:?}"),
            },
        )
        .collect()
}

fn logs_batch(ctx: RequestContext, res: Option<Resource>, logs: Vec<LogRecord>) -> Batch {
    Batch::new(
        ctx,
        Signal::Logs(vec![ResourceLogs {
            resource: res,
            scope_logs: vec![ScopeLogs {
                log_records: logs,
                ..Default::default()
            }],
            ..Default::default()
        }]),
    )
}

fn spans_batch(ctx: RequestContext, res: Option<Resource>, spans: Vec<Span>) -> Batch {
    Batch::new(
        ctx,
        Signal::Traces(vec![ResourceSpans {
            resource: res,
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }]),
    )
}

/// The log records of resource 0, scope 0.
fn logs(batch: &Batch) -> &[LogRecord] {
    match batch.signal() {
        Signal::Logs(rl) => &rl[0].scope_logs[0].log_records,
        other => panic!("not logs: {other:?}"),
    }
}

fn spans(batch: &Batch) -> &[Span] {
    match batch.signal() {
        Signal::Traces(rs) => &rs[0].scope_spans[0].spans,
        other => panic!("not traces: {other:?}"),
    }
}

/// The resource of resource entry 0, whatever the signal.
fn resource_of(batch: &Batch) -> Option<&Resource> {
    match batch.signal() {
        Signal::Logs(v) => v[0].resource.as_ref(),
        Signal::Traces(v) => v[0].resource.as_ref(),
        Signal::Metrics(v) => v[0].resource.as_ref(),
    }
}

/// `weir_enrich_invalid_ids_total{processor=ID, source}`.
fn invalid(metrics: &Metrics, source: &str) -> u64 {
    metrics
        .value(catalogue::ENRICH_INVALID_IDS, &[ID, source])
        .unwrap_or_else(|| panic!("counter for source {source} was not created"))
}
