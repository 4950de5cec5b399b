//! Cost of the `redaction` processor per span, with the default rules (`redaction: {}`).
//!
//! A span carries 10 attributes the way an instrumented HTTP server sends them: six
//! semantic-convention keys the default allowlist keeps (their strings scanned for blocked
//! values), three application keys it masks, and one URL whose query holds a token. Batches
//! hold 100 spans under one resource of four attributes; criterion reports time per batch and
//! spans per second (divide the batch time by 100 for the cost of one span). Every span's
//! `url.path` is new (a fresh id per span and iteration), so at least one string per span
//! misses the processor's memo of clean values, as ids in real paths do.
//!
//! `clean`: the same shape with only allowed keys and nothing to mask, the common case, which
//! allocates nothing. Run: `cargo bench -p weir-processors --bench redaction`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span};
use weir_pipeline::{Batch, Metrics, Processor, RequestContext, Signal};
use weir_processors::redaction::{Redaction, RedactionConfig};

const SPANS: usize = 100;

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn str_kv(key: &str, v: &str) -> KeyValue {
    kv(key, Value::StringValue(v.into()))
}

fn span(i: u64, dirty: bool) -> Span {
    let mut attributes = vec![
        str_kv("http.request.method", "GET"),
        str_kv("http.route", "/api/v1/carts/{cart_id}/items"),
        kv("http.response.status_code", Value::IntValue(200)),
        str_kv("url.path", &format!("/api/v1/carts/{i:08x}/items")),
        str_kv("server.address", "checkout.internal"),
        kv("server.port", Value::IntValue(8080)),
    ];
    if dirty {
        attributes.extend([
            str_kv(
                "user_agent.original",
                "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            ),
            str_kv("app.customer.id", "cus_8c1f2e"),
            str_kv("enduser.id", "alice"),
            str_kv(
                "url.full",
                "https://checkout.internal/api/v1/carts?token=abc123",
            ),
        ]);
    } else {
        attributes.extend([
            str_kv("network.protocol.version", "1.1"),
            str_kv("url.scheme", "https"),
            str_kv("code.function", "CartHandler.list_items"),
            str_kv("error.type", "none"),
        ]);
    }
    Span {
        trace_id: vec![1; 16],
        span_id: (i + 1).to_be_bytes().to_vec(),
        name: "GET /api/v1/carts/{cart_id}/items".into(),
        attributes,
        ..Default::default()
    }
}

/// 100 spans whose ids (and paths) start at `first`.
fn batch(first: u64, dirty: bool) -> Batch {
    Batch::new(
        RequestContext::for_tests(),
        Signal::Traces(vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    str_kv("service.name", "checkout"),
                    str_kv("service.version", "1.4.2"),
                    str_kv("deployment.environment.name", "prod"),
                    str_kv("host.name", "node-7"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: (first..first + SPANS as u64)
                    .map(|i| span(i, dirty))
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }]),
    )
}

fn bench(c: &mut Criterion) {
    let p = Redaction::new("redaction", &RedactionConfig::default(), Metrics::new())
        .expect("the default config is valid");
    let mut group = c.benchmark_group("redaction");
    group.throughput(Throughput::Elements(SPANS as u64));
    for (name, dirty) in [("default_rules_10_attrs", true), ("clean_10_attrs", false)] {
        let mut next = 0u64;
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || {
                    next += SPANS as u64;
                    batch(next, dirty)
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
