//! The id rules, one case each.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weir_pipeline::otlp::metrics::v1::{
    Exemplar, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric::Data,
};
use weir_pipeline::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, span::Link};
use weir_pipeline::{Batch, RequestContext, Signal};

use super::{Checked, check, check_batch};

const TRACE: [u8; 16] = [1; 16];
const SPAN: [u8; 8] = [2; 8];

fn span(name: &str, trace_id: &[u8], span_id: &[u8], parent: &[u8]) -> Span {
    Span {
        name: name.into(),
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        parent_span_id: parent.to_vec(),
        ..Default::default()
    }
}

fn good(name: &str) -> Span {
    span(name, &TRACE, &SPAN, &[])
}

fn traces(resources: Vec<Vec<Span>>) -> Signal {
    Signal::Traces(
        resources
            .into_iter()
            .map(|spans| ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    )
}

fn names(signal: &Signal) -> Vec<Vec<String>> {
    let Signal::Traces(resources) = signal else {
        panic!("traces")
    };
    resources
        .iter()
        .map(|rs| {
            rs.scope_spans
                .iter()
                .flat_map(|ss| ss.spans.iter().map(|s| s.name.clone()))
                .collect()
        })
        .collect()
}

/// `signal` (traces or logs) as a batch held as its protobuf bytes.
fn wire(signal: &Signal) -> Batch {
    let bytes = match signal.clone() {
        Signal::Traces(resource_spans) => {
            ExportTraceServiceRequest { resource_spans }.encode_to_vec()
        }
        Signal::Logs(resource_logs) => ExportLogsServiceRequest { resource_logs }.encode_to_vec(),
        Signal::Metrics(_) => panic!("traces or logs"),
    };
    let batch =
        Batch::from_bytes(RequestContext::for_tests(), signal.kind(), bytes.into()).expect("valid");
    assert!(batch.is_wire());
    batch
}

#[test]
fn a_well_formed_batch_held_as_bytes_stays_bytes() {
    let signal = traces(vec![vec![good("a"), span("b", &TRACE, &SPAN, &SPAN)]]);
    let mut batch = wire(&signal);
    assert_eq!(check_batch(&mut batch), Default::default());
    assert!(batch.is_wire());
    assert_eq!(batch.signal(), &signal);
}

#[test]
fn well_formed_spans_pass_untouched() {
    let mut signal = traces(vec![vec![good("a"), span("b", &TRACE, &SPAN, &SPAN)]]);
    let before = signal.clone();
    assert_eq!(check(&mut signal), Default::default());
    assert_eq!(signal, before);
}

#[test]
fn each_malformed_id_removes_its_span_and_the_first_is_named() {
    let cases: [(Span, &str); 7] = [
        (
            span("x", &TRACE[..5], &SPAN, &[]),
            "trace_id has 5 bytes, want 16",
        ),
        (span("x", &[0; 16], &SPAN, &[]), "trace_id is all zeros"),
        (span("x", &TRACE, &[], &[]), "span_id has 0 bytes, want 8"),
        (span("x", &TRACE, &[0; 8], &[]), "span_id is all zeros"),
        (
            span("x", &TRACE, &SPAN, &[3; 4]),
            "parent_span_id has 4 bytes, want 8",
        ),
        (
            Span {
                links: vec![Link {
                    trace_id: TRACE[..15].to_vec(),
                    span_id: SPAN.to_vec(),
                    ..Default::default()
                }],
                ..good("x")
            },
            "links[0].trace_id has 15 bytes, want 16",
        ),
        (
            Span {
                links: vec![Link {
                    trace_id: TRACE.to_vec(),
                    span_id: vec![0; 8],
                    ..Default::default()
                }],
                ..good("x")
            },
            "links[0].span_id is all zeros",
        ),
    ];
    for (bad, says) in cases {
        let mut signal = traces(vec![vec![good("a"), bad.clone(), good("b")]]);
        let checked = check(&mut signal);
        // A batch held as bytes is checked the same way, and gives its bytes up to be changed.
        let mut batch = wire(&traces(vec![vec![good("a"), bad, good("b")]]));
        assert_eq!(check_batch(&mut batch), checked, "{says}");
        assert_eq!(batch.signal(), &signal, "{says}");
        assert_eq!(checked.rejected, 1, "{says}");
        assert_eq!(
            checked.message.as_deref(),
            Some(&*format!(
                "resource_spans[0].scope_spans[0].spans[1]: {says}"
            ))
        );
        assert_eq!(names(&signal), [["a", "b"]]);
    }
}

#[test]
fn a_resource_left_without_spans_is_removed_and_the_count_named() {
    let mut signal = traces(vec![
        vec![span("x", &[], &SPAN, &[]), span("y", &[], &SPAN, &[])],
        vec![good("kept")],
    ]);
    let checked = check(&mut signal);
    assert_eq!(checked.rejected, 2);
    assert_eq!(
        checked.message.as_deref(),
        Some(
            "resource_spans[0].scope_spans[0].spans[0]: trace_id has 0 bytes, want 16 (and 1 more spans)"
        )
    );
    assert_eq!(names(&signal), [["kept"]]);
}

#[test]
fn log_records_keep_their_place_and_lose_a_bad_id() {
    let record = |trace_id: &[u8], span_id: &[u8]| LogRecord {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        ..Default::default()
    };
    let mut signal = Signal::Logs(vec![ResourceLogs {
        scope_logs: vec![ScopeLogs {
            log_records: vec![
                record(&TRACE, &SPAN),
                record(&[], &[]),
                record(&TRACE[..3], &SPAN),
                record(&TRACE, &[0; 8]),
            ],
            ..Default::default()
        }],
        ..Default::default()
    }]);
    let mut batch = wire(&signal);
    let checked = check(&mut signal);
    assert_eq!(checked.rejected, 0);
    assert_eq!(checked.cleared, [("log.trace_id", 1), ("log.span_id", 1)]);
    // Held as bytes, the same ids are cleared.
    assert_eq!(check_batch(&mut batch), checked);
    assert_eq!(batch.signal(), &signal);
    // Well-formed ids leave the bytes as they are.
    let Signal::Logs(mut good) = signal.clone() else {
        panic!("logs")
    };
    good[0].scope_logs[0].log_records.truncate(2);
    let mut batch = wire(&Signal::Logs(good));
    assert_eq!(check_batch(&mut batch), Checked::default());
    assert!(batch.is_wire());
    let Signal::Logs(resources) = &signal else {
        panic!("logs")
    };
    let ids: Vec<(usize, usize)> = resources[0].scope_logs[0]
        .log_records
        .iter()
        .map(|r| (r.trace_id.len(), r.span_id.len()))
        .collect();
    assert_eq!(ids, [(16, 8), (0, 0), (0, 8), (16, 0)]);
}

#[test]
fn exemplars_lose_a_bad_id() {
    let mut signal = Signal::Metrics(vec![ResourceMetrics {
        scope_metrics: vec![ScopeMetrics {
            metrics: vec![Metric {
                data: Some(Data::Sum(Sum {
                    data_points: vec![NumberDataPoint {
                        exemplars: vec![Exemplar {
                            trace_id: vec![9; 7],
                            span_id: SPAN.to_vec(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                })),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }]);
    let checked = check(&mut signal);
    assert_eq!(checked.cleared, [("exemplar.trace_id", 1)]);
    let Signal::Metrics(r) = &signal else {
        panic!("metrics")
    };
    let Some(Data::Sum(sum)) = &r[0].scope_metrics[0].metrics[0].data else {
        panic!("sum")
    };
    let e = &sum.data_points[0].exemplars[0];
    assert!(e.trace_id.is_empty());
    assert_eq!(e.span_id, SPAN);
}
