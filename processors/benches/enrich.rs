//! Cost of the `enrich` processor per request of 512 records, with the default settings
//! (`enrich: {}`: the request id on every span and log record, trace ids promoted onto log
//! records that lack one).
//!
//! Inputs come from `weir_pipeline::test_util::realistic`: records with ten attributes; one log
//! record in four has no trace id and carries it in a JSON body, which the processor parses
//! and promotes. Each iteration gets a fresh copy of the batch (the copy is not timed), since
//! the processor edits in place. Criterion reports time per request and records per second.
//! Run: `cargo bench -p weir-processors --bench enrich`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use weir_pipeline::test_util::realistic::{self, RECORDS_PER_REQUEST};
use weir_pipeline::{Metrics, Processor, Signal};
use weir_processors::enrich::{Enrich, EnrichConfig};

fn bench(c: &mut Criterion) {
    let p = Enrich::new("enrich", &EnrichConfig::default(), Metrics::new())
        .expect("the default config is valid");
    let n = RECORDS_PER_REQUEST;
    let inputs = [
        (
            "spans_512",
            realistic::batch(Signal::Traces(realistic::spans(n, 0))),
        ),
        (
            "logs_512",
            realistic::batch(Signal::Logs(realistic::logs(n, 0))),
        ),
    ];
    // The measured path: every log record leaves with a trace id and the request id.
    let mut logs = inputs[1].1.clone();
    p.process(&mut logs);
    let Signal::Logs(resources) = logs.signal() else {
        unreachable!("built as logs")
    };
    assert!(
        resources[0].scope_logs[0].log_records.iter().all(|r| {
            r.trace_id.len() == 16 && r.attributes.iter().any(|a| a.key == "request.id")
        })
    );
    let mut group = c.benchmark_group("enrich");
    group.throughput(Throughput::Elements(n as u64));
    for (name, template) in &inputs {
        group.bench_function(*name, |b| {
            b.iter_batched_ref(
                || template.clone(),
                |batch| black_box(p.process(batch)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
