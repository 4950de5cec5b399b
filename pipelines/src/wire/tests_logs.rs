//! The logs view against prost, as `tests.rs` does for traces: generated requests indexed as
//! prost decodes them, damaged ones refused as prost refuses them, and edited bodies decoding
//! to the structs with the same edits.

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;

use super::tests::{any_value, attrs, check_damaged, id, redacted, text};
use super::*;
use crate::otlp::collector::logs::v1::ExportLogsServiceRequest;
use crate::otlp::common::v1::{InstrumentationScope, KeyValue, any_value};
use crate::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use crate::otlp::resource::v1::Resource;

fn record() -> impl Strategy<Value = LogRecord> {
    (
        (0..25i32, text(), prop::option::weighted(0.8, any_value())),
        (attrs(), id(16), id(8), text(), any::<u64>()),
    )
        .prop_map(
            |(
                (severity_number, severity_text, body),
                (attributes, trace_id, span_id, event_name, t),
            )| {
                LogRecord {
                    time_unix_nano: t,
                    severity_number,
                    severity_text,
                    body,
                    attributes,
                    trace_id,
                    span_id,
                    event_name,
                    ..Default::default()
                }
            },
        )
}

pub(crate) fn request() -> impl Strategy<Value = ExportLogsServiceRequest> {
    let scope = (
        prop::option::of((text(), attrs())),
        prop::collection::vec(record(), 0..4),
    )
        .prop_map(|(scope, log_records)| ScopeLogs {
            scope: scope.map(|(name, attributes)| InstrumentationScope {
                name,
                attributes,
                ..Default::default()
            }),
            log_records,
            schema_url: String::new(),
        });
    (prop::collection::vec(
        (
            prop::option::of(attrs()),
            prop::collection::vec(scope, 0..3),
        ),
        0..3,
    ),)
        .prop_map(|(resources,)| ExportLogsServiceRequest {
            resource_logs: resources
                .into_iter()
                .map(|(attributes, scope_logs)| ResourceLogs {
                    resource: attributes.map(|attributes| Resource {
                        attributes,
                        ..Default::default()
                    }),
                    scope_logs,
                    schema_url: String::new(),
                })
                .collect(),
        })
}

fn records(req: &ExportLogsServiceRequest) -> Vec<&LogRecord> {
    req.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .collect()
}

fn agrees(view: &LogView, req: &ExportLogsServiceRequest) {
    let kv = |a: &Attr| KeyValue::decode(view.at(&a.field.value)).expect("a KeyValue");
    let want = records(req);
    assert_eq!(view.resources.len(), req.resource_logs.len());
    assert_eq!(view.records.len(), want.len());
    for (l, lr) in view.records.iter().zip(want) {
        assert_eq!(l.severity_number, lr.severity_number);
        assert_eq!(view.text(&l.severity_text), lr.severity_text);
        assert_eq!(view.text(&l.event_name), lr.event_name);
        assert_eq!(view.at(&l.trace_id), lr.trace_id.as_slice());
        assert_eq!(view.at(&l.span_id), lr.span_id.as_slice());
        let attrs: Vec<KeyValue> = view.parts.attrs[l.attrs.clone()].iter().map(kv).collect();
        assert_eq!(attrs, lr.attributes);
        let body = l
            .body_field
            .as_ref()
            .map(|b| crate::otlp::common::v1::AnyValue::decode(view.at(&b.value)).expect("body"));
        assert_eq!(body, lr.body);
        match (&l.body, lr.body.as_ref().and_then(|b| b.value.as_ref())) {
            (Value::Str(r), Some(any_value::Value::StringValue(s))) => assert_eq!(view.text(r), s),
            (Value::Empty, None) => {}
            (Value::Str(_), other) => panic!("a string body against {other:?}"),
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_logs_view_indexes_what_prost_decodes(req in request()) {
        let bytes = req.encode_to_vec();
        let view = LogView::parse(Bytes::from(bytes.clone())).expect("prost's own encoding");
        agrees(&view, &req);
        prop_assert_eq!(Edits::new().apply(&view.bytes), bytes);
    }

    #[test]
    fn damaged_logs_are_refused_as_prost_refuses_them(
        req in request(),
        cuts in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        check_damaged(req.encode_to_vec(), cuts, None, agrees)?;
    }

    #[test]
    fn masked_bodies_and_removed_records_decode_as_the_structs(
        req in request(),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let view = LogView::parse(Bytes::from(req.encode_to_vec())).expect("valid");
        if view.records.is_empty() {
            return Ok(());
        }
        let masked = redacted().value.expect("a value");
        let chosen: std::collections::BTreeSet<usize> =
            picks.iter().map(|p| p.index(view.records.len())).collect();
        let mut edits = Edits::new();
        for (k, &r) in chosen.iter().enumerate() {
            let path = view.record_path(r);
            let l = &view.records[r];
            if k % 2 == 0 {
                let field = len_field(5, &masked.encode_to_vec());
                match &l.body_field {
                    Some(b) => edits.replace(&path, b.whole(), field),
                    None => edits.append(&path, field),
                }
            } else {
                edits.remove(&path[..2], &l.field);
            }
        }
        let got = ExportLogsServiceRequest::decode(edits.apply(&view.bytes).as_slice())
            .expect("decodes");
        let mut want = req;
        let mut seen = 0;
        for rl in &mut want.resource_logs {
            for sl in &mut rl.scope_logs {
                let mut kept = Vec::new();
                for mut lr in std::mem::take(&mut sl.log_records) {
                    let at = chosen.iter().position(|&c| c == seen);
                    seen += 1;
                    match at {
                        Some(k) if k % 2 == 1 => continue,
                        Some(_) => lr.body = Some(masked.clone()),
                        None => {}
                    }
                    kept.push(lr);
                }
                sl.log_records = kept;
            }
        }
        prop_assert_eq!(got, want);
    }
}
