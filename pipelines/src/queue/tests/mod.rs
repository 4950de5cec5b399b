//! Tests of the delivery engine: delivery with retries and timeouts, queued exporters behind
//! pipelines (reserve-then-commit fan-out, overflow policies), fairness across tenants, drain at
//! shutdown, and splitting. Time is Tokio's paused clock; backends are [`fake::Fake`]s the tests
//! steer.

mod balance;
mod delivery;
mod drain;
mod durable;
mod fair;
mod fair_prop;
mod fake;
mod fanout;
mod overflow_wait;
mod queued;
mod recipe;
mod refund;
mod router_parts;
mod split;
mod tenant_share;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::metrics::MetricDef;
use crate::otlp::common::v1::{AnyValue, any_value};
use crate::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use crate::otlp::resource::v1::Resource;
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span};
use crate::pipeline::{ExporterHandle, NamedExporter};
use crate::queue::{QueueConfig, QueuedExporter, RetryConfig};
use crate::{Batch, Exporter, Metrics, Pipeline, RequestContext, Signal, SignalKind, TenantId};

/// A context of tenant `tenant`.
pub(super) fn ctx(tenant: &str) -> RequestContext {
    let mut ctx = RequestContext::for_tests();
    ctx.tenant = TenantId::new(tenant).expect("valid tenant id");
    ctx
}

/// A string attribute.
pub(super) use crate::test_util::kv as attr;

/// A traces batch of `tenant` with one resource and scope and `n` spans named `{tag}/{i}`.
pub(super) fn traces(tenant: &str, tag: &str, n: usize) -> Batch {
    let spans = (0..n)
        .map(|i| Span {
            name: format!("{tag}/{i}"),
            ..Default::default()
        })
        .collect();
    Batch::new(
        ctx(tenant),
        Signal::Traces(vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![attr("service.name", tag)],
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

/// A logs batch of `tenant` with `n` records whose bodies are `{tag}/{i}`.
pub(super) fn logs(tenant: &str, tag: &str, n: usize) -> Batch {
    let log_records = (0..n)
        .map(|i| LogRecord {
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(format!("{tag}/{i}"))),
            }),
            ..Default::default()
        })
        .collect();
    Batch::new(
        ctx(tenant),
        Signal::Logs(vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        }]),
    )
}

/// The names of the spans, or the bodies of the log records, of `batch`, in order.
pub(super) fn record_names(batch: &Batch) -> Vec<String> {
    match batch.signal() {
        Signal::Traces(rs) => rs
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|s| s.name.clone())
            .collect(),
        Signal::Logs(rl) => rl
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .map(|l| match l.body.as_ref().and_then(|b| b.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                other => format!("{other:?}"),
            })
            .collect(),
        Signal::Metrics(_) => Vec::new(),
    }
}

/// The value of a series, 0 when it was never created.
pub(super) fn value(metrics: &Metrics, def: MetricDef, labels: &[&str]) -> u64 {
    metrics.value(def, labels).unwrap_or(0)
}

/// Retries forever, every `interval` exactly (no jitter, no growth).
pub(super) fn steady_retry(interval: Duration) -> RetryConfig {
    RetryConfig {
        enabled: true,
        initial_interval: interval,
        randomization_factor: 0.0,
        multiplier: 1.0,
        max_interval: interval,
        max_elapsed_time: Duration::ZERO,
    }
}

/// A queue of `size` requests served by `consumers` consumers, without merging, refusing at
/// once when full (`overflow_wait: 0s`, as the Collector; `overflow_wait.rs` tests the wait).
pub(super) fn queue_cfg(size: u64, consumers: usize) -> QueueConfig {
    QueueConfig {
        queue_size: size,
        num_consumers: consumers,
        overflow_wait: Duration::ZERO,
        ..QueueConfig::default()
    }
}

/// Per-attempt timeout used where the tests do not exercise it: long enough never to fire
/// before the guard of [`within`] does.
pub(super) const LONG_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Starts a queued exporter `id` in front of `exporter`.
pub(super) fn start(
    id: &str,
    exporter: Arc<dyn Exporter>,
    cfg: &QueueConfig,
    retry: RetryConfig,
    metrics: &Metrics,
) -> Arc<QueuedExporter> {
    QueuedExporter::start(id, exporter, cfg, retry, LONG_TIMEOUT, metrics.clone())
}

/// A pipeline `id` of `signal` without processors, exporting to `queues`.
pub(super) fn pipeline(id: &str, signal: SignalKind, queues: &[&Arc<QueuedExporter>]) -> Pipeline {
    let exporters = queues
        .iter()
        .map(|q| NamedExporter {
            id: Arc::from(q.id()),
            handle: ExporterHandle::Queued(Arc::clone(q)),
        })
        .collect();
    Pipeline::new(id, signal, Vec::new(), exporters)
}

/// Awaits `fut`, failing the test if it takes more than ten virtual minutes (a hang shows up as
/// a failure, at once, under the paused clock).
pub(super) async fn within<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(600), fut)
        .await
        .expect("did not complete within 10 virtual minutes")
}
