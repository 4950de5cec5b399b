//! A batch held as bytes against prost: unedited it sends the bytes that arrived, its structs
//! are prost's decoding of what it would send, and a change made through the structs is sent.
//! Traces in depth; logs and metrics for what differs (their views and counts).

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::otlp::collector::trace::v1::ExportTraceServiceRequest;
use crate::wire::len_field;
use crate::wire::tests::{redacted, request};
use crate::wire::{tests_logs, tests_metrics};

fn ctx() -> RequestContext {
    RequestContext::for_tests()
}

fn wire_batch(req: &ExportTraceServiceRequest) -> (Bytes, Batch) {
    let bytes = Bytes::from(req.encode_to_vec());
    let batch = Batch::from_traces_bytes(ctx(), bytes.clone()).expect("prost's own encoding");
    (bytes, batch)
}

/// Masks the value of every attribute of the spans `picks` names, through the view.
fn mask(batch: &mut Batch, picks: &[prop::sample::Index]) {
    let Some((view, edits)) = batch.trace_wire() else {
        return;
    };
    let n = view.records.len();
    if n == 0 {
        return;
    }
    let mut touched = std::collections::BTreeSet::new();
    for pick in picks {
        let s = pick.index(n);
        if !touched.insert(s) {
            continue;
        }
        let path = view.record_path(s);
        for a in &view.parts.attrs[view.records[s].attrs.clone()] {
            let masked = masked(view.text(&a.key));
            edits.replace(&path, a.field.whole(), len_field(9, &masked));
        }
        edits.append(&path, len_field(9, &redacted().encode_to_vec()));
    }
}

/// An attribute `key` with the redacted value, encoded.
fn masked(key: &str) -> Vec<u8> {
    let mut kv = redacted();
    kv.key = key.to_owned();
    kv.encode_to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn unedited_it_sends_the_bytes_that_arrived(req in request()) {
        let (bytes, batch) = wire_batch(&req);
        prop_assert!(batch.is_wire());
        let out = batch.encode_request();
        prop_assert_eq!(&out, &bytes);
        prop_assert_eq!(out.as_ptr(), bytes.as_ptr(), "shared, not copied");
        prop_assert_eq!(batch.encoded_len(), bytes.len());
        let mut written = Vec::new();
        batch.write_request(&mut written);
        prop_assert_eq!(&written[..], &bytes[..]);
        let decoded = Signal::Traces(req.resource_spans);
        prop_assert_eq!(batch.record_count(), decoded.record_count());
        prop_assert_eq!(batch.is_empty(), decoded.is_empty());
        prop_assert_eq!(batch.kind(), SignalKind::Traces);
    }

    #[test]
    fn its_structs_are_what_prost_decodes(req in request()) {
        let (_, batch) = wire_batch(&req);
        prop_assert_eq!(batch.signal(), &Signal::Traces(req.resource_spans.clone()));
        prop_assert!(batch.is_wire(), "reading does not give the bytes up");
        prop_assert_eq!(batch.into_parts().1, Signal::Traces(req.resource_spans));
    }

    #[test]
    fn edited_its_structs_are_the_edited_bytes_decoded(
        req in request(),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..4),
    ) {
        let (_, mut batch) = wire_batch(&req);
        // Read first: the edits made afterwards must not be hidden by what was read.
        prop_assert_eq!(batch.signal(), &Signal::Traces(req.resource_spans.clone()));
        mask(&mut batch, &picks);
        let out = batch.encode_request();
        prop_assert_eq!(batch.encoded_len(), out.len());
        let want = ExportTraceServiceRequest::decode(out.clone()).expect("edits decode");
        prop_assert_eq!(batch.signal(), &Signal::Traces(want.resource_spans.clone()));
        prop_assert_eq!(batch.record_count(), batch.signal().record_count());
        if !batch.signal().is_empty() && batch.record_count() > 0 {
            prop_assert_ne!(&out, &Bytes::from(req.encode_to_vec()), "the edits are sent");
        }
        let (_, signal) = batch.into_parts();
        prop_assert_eq!(signal, Signal::Traces(want.resource_spans));
    }

    #[test]
    fn sealed_it_sends_counts_and_decodes_as_before(
        req in request(),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        read_first in any::<bool>(),
    ) {
        let (_, mut batch) = wire_batch(&req);
        mask(&mut batch, &picks);
        if read_first {
            let _ = batch.signal();
        }
        let (out, count, empty) = (batch.encode_request(), batch.record_count(), batch.is_empty());
        let want = batch.signal().clone();
        batch.seal();
        prop_assert!(batch.trace_wire().is_none(), "no view once sealed");
        prop_assert_eq!(batch.encode_request(), out.clone());
        prop_assert_eq!(batch.encoded_len(), out.len());
        prop_assert_eq!((batch.record_count(), batch.is_empty()), (count, empty));
        prop_assert_eq!(batch.signal(), &want);
        let mut again = batch.clone();
        again.seal();
        prop_assert_eq!(again.encode_request(), out);
        prop_assert_eq!(batch.signal_mut(), &want);
        prop_assert!(!batch.is_wire());
    }

    #[test]
    fn a_removed_span_is_not_counted(req in request(), pick in any::<prop::sample::Index>()) {
        let (_, mut batch) = wire_batch(&req);
        let n = batch.record_count();
        if n == 0 {
            return Ok(());
        }
        if let Some((view, edits)) = batch.trace_wire() {
            let s = pick.index(view.records.len());
            let path = view.record_path(s);
            edits.remove(&path[..2], &view.records[s].field);
        }
        // Counted before anything decodes the batch, then checked against the structs.
        let (count, empty) = (batch.record_count(), batch.is_empty());
        prop_assert_eq!(count, n - 1);
        prop_assert_eq!(count, batch.signal().record_count());
        prop_assert_eq!(empty, batch.signal().is_empty());
    }

    #[test]
    fn a_change_through_the_structs_is_sent(
        req in request(),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
    ) {
        let (_, mut batch) = wire_batch(&req);
        mask(&mut batch, &picks);
        let mut want = batch.signal().clone();
        let Signal::Traces(rs) = batch.signal_mut() else {
            panic!("traces");
        };
        rs.push(Default::default());
        if let Signal::Traces(w) = &mut want {
            w.push(Default::default());
        }
        prop_assert!(!batch.is_wire());
        prop_assert!(batch.trace_wire().is_none());
        let got = ExportTraceServiceRequest::decode(batch.encode_request()).expect("decodes");
        prop_assert_eq!(Signal::Traces(got.resource_spans), want);
    }

    #[test]
    fn logs_and_metrics_unedited_are_sent_as_they_arrived_and_read_as_prost_decodes(
        logs in tests_logs::request(),
        metrics in tests_metrics::request(),
    ) {
        let cases = [
            (SignalKind::Logs, logs.encode_to_vec(), Signal::Logs(logs.resource_logs)),
            (
                SignalKind::Metrics,
                metrics.encode_to_vec(),
                Signal::Metrics(metrics.resource_metrics),
            ),
        ];
        for (kind, sent, want) in cases {
            let sent = Bytes::from(sent);
            let mut batch = Batch::from_bytes(ctx(), kind, sent.clone()).expect("valid");
            prop_assert!(batch.is_wire());
            prop_assert_eq!(batch.kind(), kind);
            prop_assert_eq!(batch.record_count(), want.record_count());
            prop_assert_eq!(batch.is_empty(), want.is_empty());
            prop_assert_eq!(&batch.encode_request(), &sent);
            prop_assert_eq!(batch.signal(), &want);
            prop_assert!(batch.trace_wire().is_none());
            prop_assert_eq!(batch.log_wire().is_some(), kind == SignalKind::Logs);
            prop_assert_eq!(batch.metric_wire().is_some(), kind == SignalKind::Metrics);
            prop_assert_eq!(batch.into_parts().1, want);
        }
    }

    #[test]
    fn damaged_bytes_are_refused_when_prost_refuses_them(
        req in request(),
        cut in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = req.encode_to_vec();
        if bytes.is_empty() {
            return Ok(());
        }
        let at = cut.index(bytes.len());
        bytes[at] = byte;
        let prost = ExportTraceServiceRequest::decode(&bytes[..]);
        match (Batch::from_traces_bytes(ctx(), Bytes::from(bytes)), prost) {
            (Ok(b), Ok(p)) => prop_assert_eq!(b.signal(), &Signal::Traces(p.resource_spans)),
            (Err(_), Err(_)) => {}
            (Ok(_), Err(e)) => prop_assert!(false, "took what prost refused: {e}"),
            (Err(e), Ok(_)) => prop_assert!(false, "refused what prost took: {e}"),
        }
    }
}

#[test]
fn requests_written_one_after_another_make_one_request() {
    let span = |name: &str| crate::otlp::trace::v1::ResourceSpans {
        scope_spans: vec![crate::otlp::trace::v1::ScopeSpans {
            spans: vec![crate::otlp::trace::v1::Span {
                name: name.into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let wire = ExportTraceServiceRequest {
        resource_spans: vec![span("wire")],
    };
    let (_, a) = wire_batch(&wire);
    let b = Batch::new(ctx(), Signal::Traces(vec![span("decoded")]));
    let mut buf = Vec::new();
    a.write_request(&mut buf);
    b.write_request(&mut buf);
    let got = ExportTraceServiceRequest::decode(&buf[..]).expect("decodes");
    assert_eq!(got.resource_spans, vec![span("wire"), span("decoded")]);
    assert_eq!(b.encoded_len(), b.encode_request().len());
}

#[test]
fn an_encoding_the_view_leaves_to_prost_is_decoded() {
    // A span's name written twice: prost keeps the last, the view does not index it.
    let mut span = Vec::new();
    span.extend(len_field(5, b"first"));
    span.extend(len_field(5, b"last"));
    let scope = len_field(2, &span);
    let resource = len_field(2, &scope);
    let request = len_field(1, &resource);
    let batch = Batch::from_traces_bytes(ctx(), Bytes::from(request)).expect("prost takes it");
    assert!(!batch.is_wire());
    let Signal::Traces(rs) = batch.signal() else {
        panic!("traces");
    };
    assert_eq!(rs[0].scope_spans[0].spans[0].name, "last");
}
