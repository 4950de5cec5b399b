//! The wire view against prost's structs, for one trace request of 512 spans with ten
//! attributes each (`weir_pipeline::test_util::realistic`):
//!
//! - `prost/decode_encode`: decode into the `opentelemetry-proto` structs and encode again,
//!   what the engine does today for every request.
//! - `wire/index_write`: index the bytes (checked as prost would decode them) and write them
//!   back unchanged.
//! - `wire/index_mask_write`: the same, with one attribute per span replaced by a masked value
//!   (a redaction that finds one secret per span).
//!
//! Run: `cargo bench -p weir --bench wire`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;
use weir_pipeline::test_util::realistic::{self, RECORDS_PER_REQUEST};
use weir_pipeline::wire::{Edits, TraceView, len_field};

fn bench(c: &mut Criterion) {
    let request = ExportTraceServiceRequest {
        resource_spans: realistic::spans(RECORDS_PER_REQUEST, 0),
    };
    let bytes = Bytes::from(request.encode_to_vec());
    let masked = KeyValue {
        key: "user.email".into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue("[REDACTED]".into())),
        }),
        ..Default::default()
    };
    let masked = len_field(9, &masked.encode_to_vec());

    let mut group = c.benchmark_group("traces");
    group.throughput(Throughput::Elements(RECORDS_PER_REQUEST as u64));
    group.bench_function("prost/decode_encode", |b| {
        b.iter(|| {
            let r = ExportTraceServiceRequest::decode(black_box(&bytes[..])).expect("decodes");
            black_box(r.encode_to_vec())
        })
    });
    group.bench_function("wire/index_write", |b| {
        b.iter(|| {
            let view = TraceView::parse(black_box(bytes.clone())).expect("indexes");
            black_box(Edits::new().apply(&view.bytes))
        })
    });
    group.bench_function("wire/index_mask_write", |b| {
        b.iter(|| {
            let view = TraceView::parse(black_box(bytes.clone())).expect("indexes");
            let mut edits = Edits::new();
            for s in 0..view.records.len() {
                let path = view.record_path(s);
                if let Some(a) = view.parts.attrs.get(view.records[s].attrs.start) {
                    edits.replace(&path, a.field.whole(), masked.clone());
                }
            }
            black_box(edits.apply(&view.bytes))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
