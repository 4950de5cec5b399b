//! The processors on the wire view against the struct path, per batch of 512 spans of 10
//! attributes (`weir_pipeline::test_util::realistic`, the shape `benches/redaction.rs`
//! describes: six allowed keys, three masked ones, a URL whose token is masked).
//!
//! - `struct/…`: prost decode of the encoded request, `process` on the structs, prost encode;
//!   what the engine does today.
//! - `wire/…`: index the bytes (`TraceView::parse`), `traces_wire`, write the request back with
//!   the edits (`Edits::apply`).
//!
//! Cases: `redaction` alone (default rules), `enrich_redaction` (the benchmark pipeline's
//! processors, defaults), `clean`: redaction on spans nothing changes, and `logs_redaction`:
//! 512 log records of the same ten attributes and a text body. Every span's
//! `url.path` is new per iteration, as in `benches/redaction.rs`.
//! Run: `cargo bench -p weir-processors --bench wire`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use weir_pipeline::otlp::collector::logs::v1::ExportLogsServiceRequest;
use weir_pipeline::otlp::collector::trace::v1::ExportTraceServiceRequest;
use weir_pipeline::otlp::trace::v1::ResourceSpans;
use weir_pipeline::test_util::realistic::{self, RECORDS_PER_REQUEST};
use weir_pipeline::wire::{Edits, LogView, TraceView};
use weir_pipeline::{Batch, Metrics, Processor, RequestContext, Signal};
use weir_processors::enrich::{Enrich, EnrichConfig};
use weir_processors::redaction::{Redaction, RedactionConfig};

const SPANS: usize = RECORDS_PER_REQUEST;

type Build = fn(usize, u64) -> Vec<ResourceSpans>;

/// One path: the request's bytes in, the outgoing request's bytes out.
type Run = fn(&Bytes, &RequestContext, Option<&Enrich>, &Redaction) -> Vec<u8>;

fn encoded(spans: Build, from: u64) -> Bytes {
    ExportTraceServiceRequest {
        resource_spans: spans(SPANS, from),
    }
    .encode_to_vec()
    .into()
}

/// Decode, run `enrich` (when given) and `redaction` on the structs, encode.
fn on_structs(bytes: &Bytes, ctx: &RequestContext, e: Option<&Enrich>, r: &Redaction) -> Vec<u8> {
    let req = ExportTraceServiceRequest::decode(bytes.as_ref()).expect("valid");
    let mut batch = Batch::new(ctx.clone(), Signal::Traces(req.resource_spans));
    if let Some(e) = e {
        e.process(&mut batch);
    }
    r.process(&mut batch);
    let (_, Signal::Traces(resource_spans)) = batch.into_parts() else {
        unreachable!("traces stay traces")
    };
    ExportTraceServiceRequest { resource_spans }.encode_to_vec()
}

/// Index, run `enrich` (when given) and `redaction` on the view, write back.
fn on_view(bytes: &Bytes, ctx: &RequestContext, e: Option<&Enrich>, r: &Redaction) -> Vec<u8> {
    let view = TraceView::parse(bytes.clone()).expect("valid");
    let mut edits = Edits::new();
    if let Some(e) = e {
        e.traces_wire(ctx, &view, &mut edits)
            .expect("runs on the view");
    }
    r.traces_wire(ctx, &view, &mut edits)
        .expect("runs on the view");
    edits.apply(&view.bytes)
}

fn bench(c: &mut Criterion) {
    let r = Redaction::new("redaction", &RedactionConfig::default(), Metrics::new())
        .expect("the default config is valid");
    let e = Enrich::new("enrich", &EnrichConfig::default(), Metrics::new())
        .expect("the default config is valid");
    let ctx = realistic::batch(Signal::Traces(Vec::new())).ctx;
    let mut group = c.benchmark_group("wire");
    group.throughput(Throughput::Elements(SPANS as u64));
    let cases: [(&str, Build, Option<&Enrich>); 3] = [
        ("redaction", realistic::spans, None),
        ("enrich_redaction", realistic::spans, Some(&e)),
        ("clean", realistic::clean_spans, None),
    ];
    for (name, spans, enrich) in cases {
        // Both paths give the same request.
        let once = encoded(spans, 0);
        let want =
            ExportTraceServiceRequest::decode(on_structs(&once, &ctx, enrich, &r).as_slice());
        let got = ExportTraceServiceRequest::decode(on_view(&once, &ctx, enrich, &r).as_slice());
        assert_eq!(got.ok(), want.ok(), "{name}");
        let mut next = 0u64;
        let paths: [(&str, Run); 2] = [("struct", on_structs), ("wire", on_view)];
        for (path, run) in paths {
            group.bench_function(format!("{path}/{name}"), |b| {
                b.iter_batched_ref(
                    || {
                        next += SPANS as u64;
                        encoded(spans, next)
                    },
                    |bytes| black_box(run(bytes, &ctx, enrich, &r)),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    // Logs: redaction alone (enrich on logs still needs the structs).
    let logs = |from: u64| -> Bytes {
        ExportLogsServiceRequest {
            resource_logs: realistic::logs(SPANS, from),
        }
        .encode_to_vec()
        .into()
    };
    let mut next = 0u64;
    group.bench_function("struct/logs_redaction", |b| {
        b.iter_batched_ref(
            || {
                next += SPANS as u64;
                logs(next)
            },
            |bytes| {
                let req = ExportLogsServiceRequest::decode(bytes.as_ref()).expect("valid");
                let mut batch = Batch::new(ctx.clone(), Signal::Logs(req.resource_logs));
                r.process(&mut batch);
                let (_, Signal::Logs(resource_logs)) = batch.into_parts() else {
                    unreachable!("logs stay logs")
                };
                black_box(ExportLogsServiceRequest { resource_logs }.encode_to_vec())
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("wire/logs_redaction", |b| {
        b.iter_batched_ref(
            || {
                next += SPANS as u64;
                logs(next)
            },
            |bytes| {
                let view = LogView::parse(bytes.clone()).expect("valid");
                let mut edits = Edits::new();
                r.logs_wire(&ctx, &view, &mut edits)
                    .expect("runs on the view");
                black_box(edits.apply(&view.bytes))
            },
            BatchSize::SmallInput,
        )
    });
    // The parts of the wire path: index and write back untouched; the same with enrich only.
    let bytes = encoded(realistic::spans, 0);
    group.bench_function("wire/index_write", |b| {
        b.iter(|| {
            let view = TraceView::parse(bytes.clone()).expect("valid");
            black_box(Edits::new().apply(&view.bytes))
        })
    });
    group.bench_function("wire/enrich_only", |b| {
        b.iter(|| {
            let view = TraceView::parse(bytes.clone()).expect("valid");
            let mut edits = Edits::new();
            e.traces_wire(&ctx, &view, &mut edits)
                .expect("runs on the view");
            black_box(edits.apply(&view.bytes))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
