//! The wire view against prost: on generated requests and on damaged encodings of them, the
//! view indexes exactly what prost decodes, refuses what prost refuses, and a request written
//! back with edits decodes to the structs with the same edits made.

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::otlp::collector::trace::v1::ExportTraceServiceRequest;
use crate::otlp::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use crate::otlp::resource::v1::Resource;
use crate::otlp::trace::v1::span::{Event, Link};
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

pub(super) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z.]{1,12}",
        "\\PC{0,8}",
        Just("alice@example.com".to_owned()),
    ]
}

pub(super) fn any_value() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        text().prop_map(any_value::Value::StringValue),
        any::<bool>().prop_map(any_value::Value::BoolValue),
        any::<i64>().prop_map(any_value::Value::IntValue),
        any::<f64>().prop_map(any_value::Value::DoubleValue),
        prop::collection::vec(any::<u8>(), 0..6).prop_map(any_value::Value::BytesValue),
    ];
    let value = leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| {
                any_value::Value::ArrayValue(ArrayValue {
                    values: v.into_iter().map(|v| AnyValue { value: Some(v) }).collect(),
                })
            }),
            prop::collection::vec(("[a-z]{1,4}", inner), 0..3).prop_map(|kvs| {
                any_value::Value::KvlistValue(KeyValueList {
                    values: kvs
                        .into_iter()
                        .map(|(k, v)| KeyValue {
                            key: k,
                            value: Some(AnyValue { value: Some(v) }),
                            ..Default::default()
                        })
                        .collect(),
                })
            }),
        ]
    });
    prop::option::weighted(0.9, value).prop_map(|value| AnyValue { value })
}

pub(super) fn attrs() -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::vec(
        (text(), prop::option::weighted(0.9, any_value())).prop_map(|(key, value)| KeyValue {
            key,
            value,
            ..Default::default()
        }),
        0..4,
    )
}

pub(super) fn id(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![Just(Vec::new()), prop::collection::vec(any::<u8>(), len),]
}

pub(crate) fn span() -> impl Strategy<Value = Span> {
    (
        (id(16), id(8), id(8), text(), text(), 0..6i32),
        (any::<u64>(), attrs()),
        prop::collection::vec((text(), attrs()), 0..2),
        prop::collection::vec((id(16), text(), attrs()), 0..2),
        prop::option::of((text(), 0..3i32)),
    )
        .prop_map(
            |((trace_id, span_id, parent, name, state, kind), (t, attributes), ev, ln, st)| Span {
                trace_id,
                span_id,
                parent_span_id: parent,
                name,
                trace_state: state,
                kind,
                start_time_unix_nano: t,
                end_time_unix_nano: t / 2,
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
                    .map(|(trace_id, trace_state, attributes)| Link {
                        trace_id,
                        trace_state,
                        attributes,
                        ..Default::default()
                    })
                    .collect(),
                status: st.map(|(message, code)| Status { message, code }),
                ..Default::default()
            },
        )
}

pub(crate) fn request() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope = (
        prop::option::of((text(), text(), attrs())),
        prop::collection::vec(span(), 0..4),
        text(),
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
        text(),
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

/// Asserts that `view` indexes exactly what `req` holds.
fn agrees(view: &TraceView, req: &ExportTraceServiceRequest) {
    let kv = |a: &Attr| KeyValue::decode(view.at(&a.field.value)).expect("a KeyValue");
    let spans: Vec<&Span> = req
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    assert_eq!(view.resources.len(), req.resource_spans.len());
    assert_eq!(view.records.len(), spans.len());
    for (r, rs) in view.resources.iter().zip(&req.resource_spans) {
        let want = rs.resource.as_ref().map(|r| r.attributes.clone());
        let got = r.resource.as_ref().map(|_| {
            view.parts.attrs[r.attrs.clone()]
                .iter()
                .map(kv)
                .collect::<Vec<_>>()
        });
        assert_eq!(got, want);
        assert_eq!(r.scopes.len(), rs.scope_spans.len());
        assert_eq!(view.text(&r.schema_url), rs.schema_url);
    }
    let scopes = req.resource_spans.iter().flat_map(|r| &r.scope_spans);
    for (c, ss) in view.scopes.iter().zip(scopes) {
        let scope = ss.scope.clone().unwrap_or_default();
        assert_eq!(view.text(&c.name), scope.name);
        assert_eq!(view.text(&c.version), scope.version);
        assert_eq!(view.text(&c.schema_url), ss.schema_url);
    }
    for (s, sp) in view.records.iter().zip(spans) {
        assert_eq!(view.at(&s.trace_id), sp.trace_id.as_slice());
        assert_eq!(view.at(&s.span_id), sp.span_id.as_slice());
        assert_eq!(view.at(&s.parent_span_id), sp.parent_span_id.as_slice());
        assert_eq!(view.text(&s.name), sp.name);
        assert_eq!(view.text(&s.trace_state), sp.trace_state);
        let attrs: Vec<KeyValue> = view.parts.attrs[s.attrs.clone()].iter().map(kv).collect();
        assert_eq!(attrs, sp.attributes);
        for a in &view.parts.attrs[s.attrs.clone()] {
            let k = kv(a);
            assert_eq!(view.text(&a.key), k.key);
            let want = k.value.and_then(|v| v.value);
            match (&a.value, want) {
                (Value::Empty, None) => {}
                (Value::Str(r), Some(any_value::Value::StringValue(s))) => {
                    assert_eq!(view.text(r), s)
                }
                (Value::Int(i), Some(any_value::Value::IntValue(j))) => assert_eq!(*i, j),
                (Value::Bool(i), Some(any_value::Value::BoolValue(j))) => assert_eq!(*i, j),
                (Value::Double(i), Some(any_value::Value::DoubleValue(j))) => {
                    assert_eq!(i.to_bits(), j.to_bits())
                }
                (Value::Bytes(r), Some(any_value::Value::BytesValue(b))) => {
                    assert_eq!(view.at(r), b.as_slice())
                }
                (Value::Array(_), Some(any_value::Value::ArrayValue(_)))
                | (Value::KvList(_), Some(any_value::Value::KvlistValue(_))) => {}
                (got, want) => panic!("value {got:?} against {want:?}"),
            }
        }
        assert_eq!(s.status.is_some(), sp.status.is_some());
        let message = sp.status.as_ref().map_or("", |st| st.message.as_str());
        assert_eq!(view.text(&s.status_message), message);
        assert_eq!(s.events.len(), sp.events.len());
        assert_eq!(s.links.len(), sp.links.len());
        for (e, ev) in view.parts.events[s.events.clone()].iter().zip(&sp.events) {
            let attrs: Vec<KeyValue> = view.parts.part_attrs[e.attrs.clone()]
                .iter()
                .map(kv)
                .collect();
            assert_eq!(attrs, ev.attributes);
            assert_eq!(view.text(&e.text), ev.name);
        }
        for (l, ln) in view.parts.links[s.links.clone()].iter().zip(&sp.links) {
            let attrs: Vec<KeyValue> = view.parts.part_attrs[l.attrs.clone()]
                .iter()
                .map(kv)
                .collect();
            assert_eq!(attrs, ln.attributes);
            assert_eq!(view.text(&l.text), ln.trace_state);
        }
    }
}

/// `bytes` damaged at `cuts` (and cut short at `truncate`), read by the view and by prost: the
/// view takes only what prost takes, and then agrees with it (`agrees`); it refuses what prost
/// refuses, or calls it unusual.
pub(super) fn check_damaged<M: Message + Default, R: Record>(
    mut bytes: Vec<u8>,
    cuts: Vec<(prop::sample::Index, u8)>,
    truncate: Option<prop::sample::Index>,
    agrees: impl Fn(&View<R>, &M),
) -> Result<(), TestCaseError> {
    if bytes.is_empty() {
        return Ok(());
    }
    for (at, b) in cuts {
        let i = at.index(bytes.len());
        bytes[i] = b;
    }
    if let Some(t) = truncate {
        bytes.truncate(t.index(bytes.len()));
    }
    let decoded = M::decode(bytes.as_slice());
    match (View::<R>::parse(Bytes::from(bytes)), decoded) {
        (Ok(view), Ok(req)) => agrees(&view, &req),
        (Ok(_), Err(e)) => prop_assert!(false, "the view took what prost refused: {e}"),
        (Err(WireError::Unusual { .. }), _) | (Err(_), Err(_)) => {}
        (Err(e), Ok(_)) => prop_assert!(false, "the view refused what prost took: {e}"),
    }
    Ok(())
}

pub(crate) fn redacted() -> KeyValue {
    KeyValue {
        key: "redacted".into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue("[REDACTED]".into())),
        }),
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_view_indexes_what_prost_decodes(req in request()) {
        let bytes = Bytes::from(req.encode_to_vec());
        let view = TraceView::parse(bytes).expect("prost's own encoding");
        agrees(&view, &req);
    }

    #[test]
    fn without_edits_the_request_leaves_byte_identical(req in request()) {
        let bytes = req.encode_to_vec();
        let view = TraceView::parse(Bytes::from(bytes.clone())).expect("valid");
        prop_assert_eq!(Edits::new().apply(&view.bytes), bytes);
    }

    #[test]
    fn damaged_requests_are_refused_as_prost_refuses_them(
        req in request(),
        cuts in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        truncate in any::<Option<prop::sample::Index>>(),
    ) {
        check_damaged(req.encode_to_vec(), cuts, truncate, agrees)?;
    }

    #[test]
    fn edits_decode_to_the_structs_with_the_same_edits(
        req in request(),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let view = TraceView::parse(Bytes::from(req.encode_to_vec())).expect("valid");
        let mut want = req.clone();
        let mut edits = Edits::new();
        let n = view.records.len();
        if n == 0 {
            return Ok(());
        }
        let mut touched = std::collections::BTreeSet::new();
        for (k, pick) in picks.iter().enumerate() {
            let s = pick.index(n);
            if !touched.insert(s) {
                continue;
            }
            let path = view.record_path(s);
            let sp = &view.records[s];
            // Which span of the structs this is.
            let (mut ri, mut si, mut pi, mut seen) = (0, 0, 0, 0);
            'find: for (r, rs) in want.resource_spans.iter().enumerate() {
                for (c, ss) in rs.scope_spans.iter().enumerate() {
                    for p in 0..ss.spans.len() {
                        if seen == s {
                            (ri, si, pi) = (r, c, p);
                            break 'find;
                        }
                        seen += 1;
                    }
                }
            }
            let target = &mut want.resource_spans[ri].scope_spans[si].spans[pi];
            match k % 3 {
                // Mask every attribute's value.
                0 => {
                    for (a, kv) in view.parts.attrs[sp.attrs.clone()].iter().zip(&mut target.attributes) {
                        let mut masked = kv.clone();
                        masked.value = redacted().value;
                        edits.replace(&path, a.field.whole(), len_field(9, &masked.encode_to_vec()));
                        *kv = masked;
                    }
                }
                // Add an attribute.
                1 => {
                    edits.append(&path, len_field(9, &redacted().encode_to_vec()));
                    target.attributes.push(redacted());
                }
                // Rename the span.
                _ => {
                    let name = "renamed".as_bytes();
                    let mut field = Vec::new();
                    reader::put_varint(&mut field, (5 << 3) | 2);
                    reader::put_varint(&mut field, name.len() as u64);
                    field.extend_from_slice(name);
                    if sp.name.is_empty() {
                        edits.append(&path, field);
                    } else {
                        // The key and length sit just before the name's bytes.
                        let start = sp.name.start - 2;
                        edits.replace(&path, start..sp.name.end, field);
                    }
                    target.name = "renamed".into();
                }
            }
        }
        // Written into a kept buffer (after what it holds) and as a new one: the same bytes.
        let mut kept = b"before".to_vec();
        edits.write(&view.bytes, &mut kept);
        let out = edits.apply(&view.bytes);
        prop_assert_eq!(&kept[6..], out.as_slice());
        let got = ExportTraceServiceRequest::decode(out.as_slice()).expect("decodes");
        prop_assert_eq!(got, want);
    }

    #[test]
    fn removed_spans_are_gone_and_the_rest_unchanged(
        req in request(),
        pick in any::<prop::sample::Index>(),
    ) {
        let view = TraceView::parse(Bytes::from(req.encode_to_vec())).expect("valid");
        if view.records.is_empty() {
            return Ok(());
        }
        let s = pick.index(view.records.len());
        let path = view.record_path(s);
        let mut edits = Edits::new();
        edits.remove(&path[..2], &view.records[s].field);
        let got = ExportTraceServiceRequest::decode(edits.apply(&view.bytes).as_slice())
            .expect("decodes");
        let mut want = req;
        let mut seen = 0;
        for rs in &mut want.resource_spans {
            for ss in &mut rs.scope_spans {
                ss.spans.retain(|_| {
                    seen += 1;
                    seen - 1 != s
                });
            }
        }
        prop_assert_eq!(got, want);
    }

    #[test]
    fn edits_found_from_a_cursor_are_those_a_search_finds(
        req in request(),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
    ) {
        let view = TraceView::parse(Bytes::from(req.encode_to_vec())).expect("valid");
        if view.records.is_empty() {
            return Ok(());
        }
        // Appends and removals in random spans, in random order.
        let mut edits = Edits::new();
        for (k, pick) in picks.iter().enumerate() {
            let s = pick.index(view.records.len());
            let path = view.record_path(s);
            if k % 5 == 4 {
                edits.remove(&path[..2], &view.records[s].field);
            } else {
                edits.append(&path, len_field(9, &redacted().encode_to_vec()));
            }
        }
        // In buffer order (the cursor's use), then backwards (every call behind the cursor).
        let mut cursor = 0;
        let n = view.records.len();
        for s in (0..n).chain((0..n).rev()) {
            let path = view.record_path(s);
            let want: Vec<(usize, usize)> = edits
                .under_mut(&path)
                .iter()
                .map(|e| (e.at.start, e.path.len()))
                .collect();
            let got: Vec<(usize, usize)> = edits
                .under_mut_after(&path, &mut cursor)
                .iter()
                .map(|e| (e.at.start, e.path.len()))
                .collect();
            let by_hand = picks
                .iter()
                .filter(|p| p.index(view.records.len()) == s)
                .count();
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(got.len(), by_hand);
        }
    }
}
