//! Cost of the `loki` exporter's push body for one request of 512 log records
//! (`weir_pipeline::test_util::realistic`: ten attributes, a text or JSON body, trace ids):
//! streams grouped by label set under the cardinality guard, entries sorted, structured
//! metadata, the line, then the encoding.
//!
//! - `protobuf_snappy`: `logproto.PushRequest`, snappy-compressed (the default).
//! - `json_gzip`: Loki's JSON push body, gzipped (`format: json`).
//!
//! Every push carries the same label sets, as a steady stream from one service does, so the
//! guard finds them known. Criterion reports time per push and records per second. Run:
//! `cargo bench -p weir-exporters --bench loki`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use weir_exporters::bench::loki_push_body;
use weir_exporters::loki::{LokiConfig, LokiExporter};
use weir_pipeline::Signal;
use weir_pipeline::test_util::realistic::{self, RECORDS_PER_REQUEST};

fn exporter(format: &str) -> LokiExporter {
    let yaml = format!("{{ endpoint: 'http://127.0.0.1:3100', format: {format} }}");
    let cfg: LokiConfig = serde_yaml_ng::from_str(&yaml).expect("valid config");
    LokiExporter::new("loki", &cfg).expect("exporter")
}

fn bench(c: &mut Criterion) {
    weir_exporters::install_crypto_provider();
    let bundle = realistic::bundle(Signal::Logs(realistic::logs(RECORDS_PER_REQUEST, 0)));
    let mut group = c.benchmark_group("loki");
    group.throughput(Throughput::Elements(RECORDS_PER_REQUEST as u64));
    for (name, format) in [("protobuf_snappy", "protobuf"), ("json_gzip", "json")] {
        let exporter = exporter(format);
        group.bench_function(name, |b| {
            b.iter(|| {
                loki_push_body(&exporter, black_box(&bundle))
                    .expect("encoded")
                    .expect("entries")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
