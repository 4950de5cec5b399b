//! Property tests of the wire path against the struct path: for generated trace requests and
//! several configurations (the defaults, blocked keys, an allowlist, value patterns, hashing,
//! a sanitizer), `traces_wire` on the view, its edits applied and decoded, gives exactly the
//! structs `process` gives, with the same counters and outcome; alone and after `enrich`
//! (whose appended ids redaction must see), and twice in a row. A request nothing changes
//! leaves with no edit, byte-identical.

use std::sync::LazyLock;

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;
use weir_pipeline::otlp::collector::trace::v1::ExportTraceServiceRequest;
use weir_pipeline::otlp::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value::Value,
};
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::otlp::trace::v1::span::{Event, Link};
use weir_pipeline::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use weir_pipeline::wire::{Edits, TraceView};
use weir_pipeline::{
    Batch, Metrics, Outcome, Processor, RequestContext, RequestId, Signal, TenantId,
};

use super::prop_tests::{CARDS, text};
use super::summary::{COUNT_KEY, KEYS_KEY, Reason};
use super::{DEFAULT_MASK, Redaction, RedactionConfig};
use crate::enrich::{Enrich, EnrichConfig};

/// The request id of every generated request; some values carry it too.
const ID: &str = "req-1";

/// Configurations both paths run.
pub(super) const CONFIGS: &[&str] = &[
    "{}",
    "{blocked_key_patterns: ['app\\.a'], summary: debug}",
    "{allowed_keys: [http.route, note, app.b, 'url.*'], summary: info}",
    "{blocked_values: ['alpha'], allowed_values: ['beta'], summary: info}",
    "{hash_function: hmac-sha256, hash_key: 0123456789abcdef0123, hashed_keys: [app.b, user.email], \
     ignored_keys: [ign.x], summary: debug}",
    "{url_sanitizer: {enabled: true, attributes: [url.full]}, extra_allowed_keys: [url.full], \
     redact_all_types: false}",
];

pub(super) fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "password",
        "api_key",
        "user.email",
        "http.route",
        "service.name",
        "url.path",
        "url.full",
        "app.a",
        "app.b",
        "note",
        "ign.x",
        "request.id",
        "weir.request.id",
        COUNT_KEY,
        KEYS_KEY,
        "",
    ])
    .prop_map(str::to_owned)
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => text().prop_map(Value::StringValue),
        1 => prop::sample::select(vec![DEFAULT_MASK, ID, "", "https://u:p@h.example/u/12?q=1"])
            .prop_map(|s| Value::StringValue(s.to_owned())),
        1 => any::<i64>().prop_map(Value::IntValue),
        1 => prop::sample::select(CARDS).prop_map(Value::IntValue),
        1 => prop::sample::select(vec![1.5f64, 4.111_111_111_111_111e15]).prop_map(Value::DoubleValue),
        1 => any::<bool>().prop_map(Value::BoolValue),
        1 => text().prop_map(|t| Value::BytesValue(t.into_bytes())),
    ]
}

pub(super) fn value() -> impl Strategy<Value = Option<AnyValue>> {
    let v = leaf().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| {
                Value::ArrayValue(ArrayValue {
                    values: v.into_iter().map(|v| AnyValue { value: Some(v) }).collect(),
                })
            }),
            prop::collection::vec((key(), inner), 0..3).prop_map(|kvs| {
                Value::KvlistValue(KeyValueList {
                    values: kvs
                        .into_iter()
                        .map(|(key, v)| KeyValue {
                            key,
                            value: Some(AnyValue { value: Some(v) }),
                            ..Default::default()
                        })
                        .collect(),
                })
            }),
        ]
    });
    prop_oneof![
        8 => v.prop_map(|v| Some(AnyValue { value: Some(v) })),
        1 => Just(Some(AnyValue { value: None })),
        1 => Just(None),
    ]
}

pub(super) fn attrs() -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::vec(
        (key(), value()).prop_map(|(key, value)| KeyValue {
            key,
            value,
            ..Default::default()
        }),
        0..5,
    )
}

pub(super) fn short() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), text()]
}

fn trace_state() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "",
        "a=b",
        "a=b,t=password=x",
        "k=alice@example.com,z=1",
    ])
    .prop_map(str::to_owned)
}

fn span() -> impl Strategy<Value = Span> {
    (
        (short(), trace_state(), attrs()),
        prop::collection::vec((short(), attrs()), 0..2),
        prop::collection::vec((trace_state(), attrs()), 0..2),
        prop::option::of(short()),
    )
        .prop_map(|((name, trace_state, attributes), ev, ln, st)| Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name,
            trace_state,
            attributes,
            events: ev
                .into_iter()
                .map(|(name, attributes)| Event {
                    name,
                    attributes,
                    ..Default::default()
                })
                .collect(),
            links: ln
                .into_iter()
                .map(|(trace_state, attributes)| Link {
                    trace_state,
                    attributes,
                    ..Default::default()
                })
                .collect(),
            status: st.map(|message| Status { message, code: 2 }),
            ..Default::default()
        })
}

pub(super) fn schema_url() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "",
        "https://x.example/1.0",
        "https://u:pw9@h.example/s",
    ])
    .prop_map(str::to_owned)
}

fn request() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope = (
        prop::option::of((short(), short(), attrs())),
        prop::collection::vec(span(), 0..4),
        schema_url(),
    )
        .prop_map(|(scope, spans, schema_url)| ScopeSpans {
            scope: scope.map(|(name, version, attributes)| InstrumentationScope {
                name,
                version,
                attributes,
                ..Default::default()
            }),
            spans,
            schema_url,
        });
    let resource = (
        prop::option::of(attrs()),
        prop::collection::vec(scope, 0..3),
        schema_url(),
    )
        .prop_map(|(attributes, scope_spans, schema_url)| ResourceSpans {
            resource: attributes.map(|attributes| Resource {
                attributes,
                ..Default::default()
            }),
            scope_spans,
            schema_url,
        });
    prop::collection::vec(resource, 0..3)
        .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
}

pub(super) fn ctx() -> RequestContext {
    RequestContext::new(
        TenantId::default_tenant(),
        RequestId::from_client(Some(ID.as_bytes())),
        "otlp".into(),
        "grpc",
    )
}

/// Two processors of each of [`CONFIGS`] (one per path), built once: compiling the rules
/// costs more than a case. One set per test, as tests run in parallel and compare counters.
type Built = LazyLock<Vec<[(Redaction, Metrics); 2]>>;
static ALONE: Built = LazyLock::new(built);
static AFTER: Built = LazyLock::new(built);

pub(super) fn built() -> Vec<[(Redaction, Metrics); 2]> {
    CONFIGS
        .iter()
        .map(|c| [redaction(c), redaction(c)])
        .collect()
}

/// The second debug-summary redaction, for runs of two.
static DEBUG: LazyLock<[(Redaction, Metrics); 2]> =
    LazyLock::new(|| [redaction("{summary: debug}"), redaction("{summary: debug}")]);

pub(super) fn redaction(yaml: &str) -> (Redaction, Metrics) {
    let cfg: RedactionConfig = serde_yaml_ng::from_str(yaml).expect("config parses");
    let metrics = Metrics::new();
    let p = Redaction::new("redaction", &cfg, metrics.clone()).expect("config is valid");
    (p, metrics)
}

fn enrich(yaml: &str) -> Enrich {
    let cfg: EnrichConfig = serde_yaml_ng::from_str(yaml).expect("config parses");
    Enrich::new("enrich", &cfg, Metrics::new()).expect("config is valid")
}

/// Every count of `weir_redacted_values_total` in `m`.
pub(super) fn counts(m: &Metrics) -> Vec<u64> {
    Reason::ALL
        .iter()
        .map(|r| {
            m.value(
                weir_pipeline::metrics::catalogue::REDACTED_VALUES,
                &["redaction", r.as_str()],
            )
            .unwrap_or(0)
        })
        .collect()
}

/// What `m` counted since `before`.
pub(super) fn delta(before: &[u64], m: &Metrics) -> Vec<u64> {
    counts(m).iter().zip(before).map(|(a, b)| a - b).collect()
}

/// Runs `steps` on the structs and on the view of `req`; returns (struct result, wire
/// result, the edits were empty, outcomes of both).
type Step<'a> = (
    &'a dyn Fn(&mut Batch) -> Outcome,
    &'a dyn Fn(&TraceView, &mut Edits) -> Option<Outcome>,
);

fn both(
    req: &ExportTraceServiceRequest,
    steps: &[Step<'_>],
) -> (
    ExportTraceServiceRequest,
    Vec<u8>,
    bool,
    Vec<(Outcome, Outcome)>,
) {
    let mut batch = Batch::new(ctx(), Signal::Traces(req.resource_spans.clone()));
    let bytes = req.encode_to_vec();
    let view = TraceView::parse(Bytes::from(bytes)).expect("prost's own encoding");
    let mut edits = Edits::new();
    let mut outcomes = Vec::new();
    for (on_structs, on_view) in steps {
        let a = on_structs(&mut batch);
        let b = on_view(&view, &mut edits).expect("this config runs on the view");
        outcomes.push((a, b));
    }
    let (_, Signal::Traces(resource_spans)) = batch.into_parts() else {
        unreachable!("traces stay traces")
    };
    let empty = edits.is_empty();
    let out = edits.apply(&view.bytes);
    (
        ExportTraceServiceRequest { resource_spans },
        out,
        empty,
        outcomes,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn the_view_path_decodes_to_what_the_struct_path_gives(
        req in request(),
        c in 0..CONFIGS.len(),
    ) {
        let [(on_structs, m1), (on_view, m2)] = &ALONE[c];
        let before = (counts(m1), counts(m2));
        let ctx = ctx();
        let s = |b: &mut Batch| on_structs.process(b);
        let v = |view: &TraceView, e: &mut Edits| on_view.traces_wire(&ctx, view, e);
        let (want, out, empty, outcomes) = both(&req, &[(&s, &v)]);
        let got = ExportTraceServiceRequest::decode(out.as_slice()).expect("decodes");
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(delta(&before.0, m1), delta(&before.1, m2));
        for (a, b) in outcomes {
            prop_assert_eq!(a, b);
        }
        if want == req {
            prop_assert!(empty, "nothing changed, yet edits were made");
            prop_assert_eq!(out, req.encode_to_vec());
        }
    }

    #[test]
    fn after_enrich_and_twice_the_view_path_still_agrees(
        req in request(),
        c in 0..CONFIGS.len(),
        level in prop::sample::select(vec!["record", "resource"]),
        attributes in any::<bool>(),
    ) {
        let yaml = format!(
            "{{request_id: {{level: {level}}}{}}}",
            if attributes { ", attributes: [{key: app.a, value: x, action: upsert}]" } else { "" }
        );
        let (e1, e2) = (enrich(&yaml), enrich(&yaml));
        let [(r1, m1), (r2, m2)] = &AFTER[c];
        let before = (counts(m1), counts(m2));
        let [(d1, _), (d2, _)] = &*DEBUG;
        let ctx = ctx();
        let (es, ev) = (
            |b: &mut Batch| e1.process(b),
            |view: &TraceView, e: &mut Edits| e2.traces_wire(&ctx, view, e),
        );
        let (rs, rv) = (
            |b: &mut Batch| r1.process(b),
            |view: &TraceView, e: &mut Edits| r2.traces_wire(&ctx, view, e),
        );
        let (ds, dv) = (
            |b: &mut Batch| d1.process(b),
            |view: &TraceView, e: &mut Edits| d2.traces_wire(&ctx, view, e),
        );
        let (want, out, _, outcomes) = both(&req, &[(&es, &ev), (&rs, &rv), (&ds, &dv)]);
        let got = ExportTraceServiceRequest::decode(out.as_slice()).expect("decodes");
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(delta(&before.0, m1), delta(&before.1, m2));
        for (a, b) in outcomes {
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn a_clean_request_leaves_byte_identical_without_edits(
        names in prop::collection::vec(prop::sample::select(vec!["GET /cart", "ok", "x-y_z"]), 1..20),
    ) {
        let (p, _) = redaction("{summary: debug}");
        let spans: Vec<Span> = names
            .iter()
            .map(|n| Span {
                name: (*n).to_owned(),
                attributes: vec![KeyValue {
                    key: "http.route".into(),
                    value: Some(AnyValue { value: Some(Value::StringValue((*n).to_owned())) }),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect();
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            }],
        };
        let bytes = req.encode_to_vec();
        let view = TraceView::parse(Bytes::from(bytes.clone())).expect("valid");
        let mut edits = Edits::new();
        p.traces_wire(&ctx(), &view, &mut edits).expect("runs on the view");
        prop_assert!(edits.is_empty());
        prop_assert_eq!(edits.apply(&view.bytes), bytes);
    }
}

#[test]
fn strict_maps_fall_back_to_the_structs() {
    let (p, _) = redaction("{strict_maps: [{attribute: audit, allowed_keys: [reason]}]}");
    let view = TraceView::parse(Bytes::new()).expect("an empty request");
    let mut edits = Edits::new();
    assert!(p.traces_wire(&ctx(), &view, &mut edits).is_none());
    assert!(edits.is_empty());
}

#[test]
fn enrich_falls_back_when_edits_are_there_already() {
    let e = enrich("{}");
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span::default()],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let view = TraceView::parse(Bytes::from(req.encode_to_vec())).expect("valid");
    let mut edits = Edits::new();
    assert!(e.traces_wire(&ctx(), &view, &mut edits).is_some());
    assert_eq!(edits.len(), 1, "request.id appended to the one span");
    assert!(e.traces_wire(&ctx(), &view, &mut edits).is_none());
    assert_eq!(edits.len(), 1);
}
