//! Tests of the `tenant_limit` processor: real batches through [`Processor::process`], time
//! driven by governor's [`FakeRelativeClock`] (never a sleep).

mod admission;
mod config;
mod idle;
mod neighbours;
mod refund;

use std::time::Duration;

use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weir_pipeline::{
    Batch, Outcome, Processor, RefusalKind, RequestContext, RequestId, Signal, TenantId,
};

use super::{FakeRelativeClock, TenantLimit, TenantLimitConfig};

/// A processor from `yaml` on a fresh fake clock, and the clock.
fn limit(yaml: &str) -> (TenantLimit<FakeRelativeClock>, FakeRelativeClock) {
    let cfg: TenantLimitConfig = serde_yaml_ng::from_str(yaml).expect("parses");
    let clock = FakeRelativeClock::default();
    let p = TenantLimit::with_clock(&cfg, clock.clone());
    (p, clock)
}

/// A logs batch of `tenant` with `records` log records and a body of `bytes`.
fn batch(tenant: &str, records: usize, bytes: usize) -> Batch {
    let mut ctx = RequestContext::new(
        TenantId::new(tenant).expect("valid tenant"),
        RequestId::generate(),
        "otlp".into(),
        "http",
    );
    ctx.body_bytes = bytes;
    let logs = ResourceLogs {
        scope_logs: vec![ScopeLogs {
            log_records: vec![LogRecord::default(); records],
            ..Default::default()
        }],
        ..Default::default()
    };
    Batch::new(ctx, Signal::Logs(vec![logs]))
}

/// Runs a request of `tenant` through `p`.
fn send(p: &TenantLimit<FakeRelativeClock>, tenant: &str, records: usize, bytes: usize) -> Outcome {
    p.process(&mut batch(tenant, records, bytes))
}

/// `Some(retry_after)` when `o` is a rate-limit refusal; panics on any other refusal.
fn rate_limited(o: &Outcome) -> Option<Duration> {
    match o {
        Outcome::Pass { rejected: 0, .. } => None,
        Outcome::Refuse {
            reason,
            retry_after,
        } if reason.kind == RefusalKind::RateLimited => {
            Some(retry_after.expect("a rate-limit refusal says when to retry"))
        }
        other => panic!("expected a pass or a rate-limit refusal, got {other:?}"),
    }
}

/// True when `o` passes everything.
fn passed(o: &Outcome) -> bool {
    *o == Outcome::pass()
}
