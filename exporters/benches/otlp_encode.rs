//! Cost of encoding a bundle into the request the `otlp` (gRPC) and `otlphttp` exporters send,
//! per signal, for one request of 512 records (`weir_pipeline::test_util::realistic`: spans
//! and log records with ten attributes, metric points with four).
//!
//! - `otlp/<signal>`: the export request message written straight from the shared batch into a
//!   reused buffer, as the gRPC codec does (the frame header and gRPC compression are tonic's).
//! - `otlphttp_gzip/<signal>` and `otlphttp_none/<signal>`: the `otlphttp` body, the same
//!   encoding into a pooled buffer then gzip (the default) or a copy.
//!
//! Criterion reports time per request and records per second. Run:
//! `cargo bench -p weir-exporters --bench otlp_encode`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use weir_exporters::bench::{otlp_request, otlphttp_body};
use weir_exporters::otlphttp::{OtlpHttpConfig, OtlpHttpExporter};
use weir_pipeline::test_util::realistic::{self, RECORDS_PER_REQUEST};
use weir_pipeline::{Bundle, Signal};

fn bundles() -> [(&'static str, Bundle); 3] {
    let n = RECORDS_PER_REQUEST;
    [
        (
            "traces",
            realistic::bundle(Signal::Traces(realistic::spans(n, 0))),
        ),
        (
            "logs",
            realistic::bundle(Signal::Logs(realistic::logs(n, 0))),
        ),
        (
            "metrics",
            realistic::bundle(Signal::Metrics(realistic::metrics(n, 0))),
        ),
    ]
}

fn exporter(compression: &str) -> OtlpHttpExporter {
    let yaml = format!("{{ endpoint: 'http://127.0.0.1:4318', compression: {compression} }}");
    let cfg: OtlpHttpConfig = serde_yaml_ng::from_str(&yaml).expect("valid config");
    OtlpHttpExporter::new("otlphttp", &cfg).expect("exporter")
}

fn bench(c: &mut Criterion) {
    weir_exporters::install_crypto_provider();
    let gzip = exporter("gzip");
    let none = exporter("none");
    let mut group = c.benchmark_group("otlp_encode");
    group.throughput(Throughput::Elements(RECORDS_PER_REQUEST as u64));
    let mut buf = Vec::new();
    for (signal, bundle) in bundles() {
        group.bench_function(format!("otlp/{signal}"), |b| {
            b.iter(|| {
                buf.clear();
                otlp_request(black_box(&bundle), &mut buf);
                black_box(buf.len())
            })
        });
        for (name, exporter) in [("otlphttp_gzip", &gzip), ("otlphttp_none", &none)] {
            group.bench_function(format!("{name}/{signal}"), |b| {
                b.iter(|| otlphttp_body(exporter, black_box(&bundle)).expect("encoded"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
