//! weir under abuse: every request of the bad-input corpus (`tests/corpus/bad_input/cases.json`,
//! over OTLP/HTTP and OTLP/gRPC) is replayed against one weir, and each must get the answer
//! README's "What the receivers answer" table promises: the HTTP status or gRPC code, and where
//! the case says so the message, the partial success's count, a generated request id, or the
//! encodings offered instead. After every case a control client (a fresh connection per
//! transport) must still get 200 / OK for a valid request; at the end weir's process must be
//! alive, must have logged no panic, and must stop cleanly on SIGTERM.
//!
//! The limits are small (1 MiB on both transports) so that the decompression bombs cost
//! little; every bomb inflates to twice the limit. Every failure is collected before the test
//! fails, so one run lists every case whose answer differs.

#[path = "bad_input/bodies.rs"]
mod bodies;
#[path = "bad_input/case.rs"]
mod case;
mod common;
#[path = "bad_input/send.rs"]
mod send;

use std::collections::HashSet;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;

use bodies::Request;
use case::{Case, Expect, Transport};
use common::{Weir, http_client, tests_path};
use send::Answer;

/// One weir with both transports at 1 MiB, every signal through redaction to the debug file.
const CONFIG: &str = "\
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0, max_recv_msg_size_mib: 1 }
      http: { endpoint: 127.0.0.1:0, max_request_body_size: 1048576 }
processors:
  redaction: {}
exporters:
  debug: { verbosity: detailed, format: json, path: {OUT} }
service:
  admin: { endpoint: 127.0.0.1:0 }
  pipelines:
    traces:  { receivers: [otlp], processors: [redaction], exporters: [debug] }
    metrics: { receivers: [otlp], processors: [redaction], exporters: [debug] }
    logs:    { receivers: [otlp], processors: [redaction], exporters: [debug] }
";

/// The corpus must stay at least this large.
const MIN_CASES: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_gets_its_answer_and_weir_keeps_serving() {
    let cases = case::load(&tests_path(case::MANIFEST));
    check_manifest(&cases);
    let weir = Weir::start(CONFIG);

    let mut failures = Vec::new();
    for case in &cases {
        match send::send(case, weir.http_addr, weir.grpc_addr).await {
            Ok(answer) => failures.extend(
                judge(case, &answer)
                    .into_iter()
                    .map(|d| format!("{}: {d} (answer: {answer:?}) {}", case.name, case.note)),
            ),
            Err(e) => failures.push(format!("{}: {e}", case.name)),
        }
        if let Err(e) = control(&weir).await {
            failures.push(format!(
                "after {}: the control client failed: {e}",
                case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // Spans named "bad" are the malformed ones: refused whole or cut out of a partial success.
    let leaked: Vec<String> = weir
        .span_names()
        .into_iter()
        .filter(|name| name.starts_with("bad"))
        .collect();
    assert!(
        leaked.is_empty(),
        "malformed spans were exported: {leaked:?}"
    );

    assert!(alive(weir.pid()), "weir's process is gone");
    let panics: Vec<String> = weir
        .stderr_lines()
        .into_iter()
        .filter(|l| l.contains("panicked"))
        .collect();
    assert!(panics.is_empty(), "weir panicked: {panics:#?}");
    let mut weir = weir;
    let status = weir.stop();
    assert!(status.success(), "weir exited with {status} after SIGTERM");
}

/// The corpus is large enough, covers both transports, and every case says what it expects
/// in its transport's terms.
fn check_manifest(cases: &[Case]) {
    assert!(
        cases.len() >= MIN_CASES,
        "the corpus has {} cases, want at least {MIN_CASES}",
        cases.len()
    );
    let mut names = HashSet::new();
    for case in cases {
        assert!(names.insert(&case.name), "case {} is repeated", case.name);
        let (prefix, has_expectation) = match case.transport {
            Transport::Http => (
                "http-",
                case.expect.status.is_some() && case.expect.code.is_none(),
            ),
            Transport::Grpc => ("grpc-", case.expect.code.is_some()),
        };
        assert!(
            case.name.starts_with(prefix),
            "{}: name it {prefix}...",
            case.name
        );
        assert!(
            has_expectation,
            "{}: an HTTP case expects a `status`, a gRPC case a `code`",
            case.name
        );
    }
    for transport in [Transport::Http, Transport::Grpc] {
        let n = cases.iter().filter(|c| c.transport == transport).count();
        assert!(n >= 20, "only {n} {transport:?} cases");
    }
}

/// What is wrong with `answer` to `case`: how it differs from the promised answer, or for a
/// case showing a known bug, from the answer recorded for the bug (and a known bug that is
/// gone is a failure too, so the manifest says what weir does).
fn judge(case: &Case, answer: &Answer) -> Vec<String> {
    let promised = differences(case, &case.expect, answer);
    match &case.known_bug {
        None => promised,
        Some(_) if promised.is_empty() => {
            vec!["gets the promised answer now: drop the case's known_bug".into()]
        }
        Some(bug) => differences(case, &bug.today, answer)
            .into_iter()
            .map(|d| format!("known bug ({}) answered differently: {d}", bug.bug))
            .collect(),
    }
}

/// How `answer` differs from `want`; empty when it does not.
fn differences(case: &Case, want: &Expect, answer: &Answer) -> Vec<String> {
    let mut out = Vec::new();
    if want.status.is_some() && answer.status != want.status {
        out.push(format!(
            "status {:?}, want {:?}",
            answer.status, want.status
        ));
    }
    if want.code.is_some() && answer.code != want.code {
        out.push(format!("code {:?}, want {:?}", answer.code, want.code));
    }
    if let Some(text) = &want.message
        && !answer.message.contains(text.as_str())
    {
        out.push(format!("message {:?} lacks {text:?}", answer.message));
    }
    match want.rejected {
        Some(0) if answer.rejected.is_some_and(|n| n != 0) => {
            out.push(format!("partial success {:?}, want none", answer.rejected));
        }
        Some(n) if n > 0 && answer.rejected != Some(n) => {
            out.push(format!("rejected {:?}, want {n}", answer.rejected));
        }
        _ => {}
    }
    // The OTLP/HTTP listener echoes a request id in every answer.
    if case.transport == Transport::Http
        && case.port != Some(Transport::Grpc)
        && answer.request_id.is_none()
    {
        out.push("no X-Request-Id".into());
    }
    if want.request_id.as_deref() == Some("generated") {
        let sent = case.headers.get("x-request-id").map(|v| v.bytes());
        let got = answer.request_id.as_deref().unwrap_or_default();
        let fresh = uuid::Uuid::parse_str(got).is_ok_and(|u| u.get_version_num() == 7);
        if !fresh || sent.as_deref() == Some(got.as_bytes()) {
            out.push(format!("request id {got:?}, want a generated uuid v7"));
        }
    }
    for encoding in want.accept_encoding.iter().flatten() {
        if !answer.accept_encoding.contains(encoding.as_str()) {
            out.push(format!(
                "grpc-accept-encoding {:?} lacks {encoding}",
                answer.accept_encoding
            ));
        }
    }
    out
}

/// A valid request on a fresh connection over each transport: 200, then OK.
async fn control(weir: &Weir) -> Result<(), String> {
    let Request::Traces(traces) = bodies::valid("traces") else {
        unreachable!("a traces request");
    };
    let resp = http_client()
        .post(format!("{}/v1/traces", weir.http_base()))
        .header("content-type", "application/x-protobuf")
        .body(Request::Traces(traces.clone()).encode())
        .timeout(send::DEADLINE)
        .send()
        .await
        .map_err(|e| format!("OTLP/HTTP: {e}"))?;
    if resp.status() != 200 {
        return Err(format!("OTLP/HTTP answered {}", resp.status()));
    }
    let exported = tokio::time::timeout(send::DEADLINE, async {
        TraceServiceClient::connect(weir.grpc_base())
            .await
            .map_err(|e| format!("OTLP/gRPC connect: {e}"))?
            .export(traces)
            .await
            .map_err(|e| format!("OTLP/gRPC: {e}"))
    })
    .await
    .map_err(|_| format!("OTLP/gRPC: no answer within {:?}", send::DEADLINE))?;
    exported.map(drop)
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the parenthesised command name.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}
