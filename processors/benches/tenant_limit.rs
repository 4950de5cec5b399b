//! Cost of the `tenant_limit` admission check per request, with 10,000 active tenants.
//!
//! Every request checks all three limits (records, bytes, requests) on the real clock. The
//! requests go round robin over 10,000 tenants (one in ten with an override), so the tenant
//! table holds 10,000 entries and each request finds its tenant's state cold in cache, as in
//! a collector with many tenants.
//!
//! - `admit`: limits far above the offered load, so every request passes and spends (the common
//!   case).
//! - `refuse`: limits so low that after the warm-up pass nearly every request is refused (a
//!   tenant far over its limit; a refusal formats its message).
//!
//! Each batch holds 10 log records; the count is a walk over the batch's resource and scope
//! lists, not its records, so the size does not change the figure. Run:
//! `cargo bench -p weir-processors --bench tenant_limit`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weir_pipeline::{Batch, Processor, RequestContext, RequestId, Signal, TenantId};
use weir_processors::tenant_limit::{TenantLimit, TenantLimitConfig};

const TENANTS: usize = 10_000;

fn batch(tenant: usize) -> Batch {
    let mut ctx = RequestContext::new(
        TenantId::new(&format!("tenant-{tenant}")).expect("valid tenant id"),
        RequestId::generate(),
        "otlp".into(),
        "grpc",
    );
    ctx.body_bytes = 4096;
    let logs = ResourceLogs {
        scope_logs: vec![ScopeLogs {
            log_records: vec![LogRecord::default(); 10],
            ..Default::default()
        }],
        ..Default::default()
    };
    Batch::new(ctx, Signal::Logs(vec![logs]))
}

fn processor(yaml: &str) -> TenantLimit {
    let mut cfg: TenantLimitConfig = serde_yaml_ng::from_str(yaml).expect("valid yaml");
    let template = TenantId::new("template").expect("valid tenant id");
    let over = cfg.overrides.remove(&template).expect("template override");
    for t in (0..TENANTS).step_by(10) {
        let tenant = TenantId::new(&format!("tenant-{t}")).expect("valid tenant id");
        cfg.overrides.insert(tenant, over);
    }
    TenantLimit::new("tenant_limit", &cfg, &weir_pipeline::Metrics::new()).expect("valid config")
}

fn run(c: &mut Criterion, name: &str, p: &TenantLimit) {
    let mut batches: Vec<Batch> = (0..TENANTS).map(batch).collect();
    // Warm the table: every tenant is held before measuring.
    for b in &mut batches {
        black_box(p.process(b));
    }
    assert_eq!(p.tracked_tenants(), TENANTS);
    let mut i = 0;
    let mut group = c.benchmark_group("tenant_limit");
    group.throughput(Throughput::Elements(1));
    group.bench_function(name, |bench| {
        bench.iter(|| {
            i = (i + 1) % TENANTS;
            black_box(p.process(&mut batches[i]))
        })
    });
    group.finish();
}

fn admit(c: &mut Criterion) {
    let p = processor(
        "
records_per_second: 1000000
bytes_per_second: 1000000000
requests_per_second: 100000
overrides: { template: { records_per_second: 2000000 } }
",
    );
    run(c, "admit", &p);
}

fn refuse(c: &mut Criterion) {
    let p = processor(
        "
records_per_second: 1
burst: 10
bytes_per_second: 1000000
requests_per_second: 1000
overrides: { template: { records_per_second: 2 } }
",
    );
    run(c, "refuse", &p);
}

criterion_group!(benches, admit, refuse);
criterion_main!(benches);
