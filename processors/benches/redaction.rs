//! Cost of the `redaction` processor per span, with the default rules (`redaction: {}`).
//!
//! Spans come from `weir_pipeline::test_util::realistic`: 10 attributes the way an
//! instrumented HTTP server sends them: six semantic-convention keys the default allowlist
//! keeps (their strings scanned for blocked values), three application keys it masks, and one
//! URL whose query holds a token. Batches hold 512 spans under one resource of five attributes;
//! criterion reports time per batch and spans per second. Every span's `url.path` is new (a
//! fresh id per span and iteration), so at least one string per span misses the processor's
//! memo of clean values, as ids in real paths do.
//!
//! `clean`: the same shape with only allowed keys and nothing to mask, the common case, which
//! allocates nothing. Run: `cargo bench -p weir-processors --bench redaction`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use weir_pipeline::otlp::trace::v1::ResourceSpans;
use weir_pipeline::test_util::realistic::{self, RECORDS_PER_REQUEST};
use weir_pipeline::{Metrics, Processor, Signal};
use weir_processors::redaction::{Redaction, RedactionConfig};

const SPANS: usize = RECORDS_PER_REQUEST;

/// Builds `n` spans numbered from the second argument.
type Build = fn(usize, u64) -> Vec<ResourceSpans>;

fn bench(c: &mut Criterion) {
    let p = Redaction::new("redaction", &RedactionConfig::default(), Metrics::new())
        .expect("the default config is valid");
    let mut group = c.benchmark_group("redaction");
    group.throughput(Throughput::Elements(SPANS as u64));
    let cases: [(&str, Build); 2] = [
        ("default_rules_10_attrs", realistic::spans),
        ("clean_10_attrs", realistic::clean_spans),
    ];
    for (name, spans) in cases {
        // The default rules change the sensitive spans and leave the clean ones as they are.
        let mut once = realistic::batch(Signal::Traces(spans(SPANS, 0)));
        let before = once.signal().clone();
        black_box(p.process(&mut once));
        assert_eq!(
            *once.signal() == before,
            name.starts_with("clean"),
            "{name}"
        );
        let mut next = 0u64;
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || {
                    next += SPANS as u64;
                    realistic::batch(Signal::Traces(spans(SPANS, next)))
                },
                |batch| black_box(p.process(batch)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
