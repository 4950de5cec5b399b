//! Events and transactions as Sentry receives them.

use std::time::{Duration, SystemTime};

use sentry_types::protocol::v7::{Context, Level, SpanStatus};
use weir_pipeline::otlp::trace::v1::span::SpanKind;
use weir_pipeline::otlp::trace::v1::{Status, status::StatusCode};

use super::*;
use crate::sentry::Compression;

const PYTHON: &str = include_str!("traces/python_chained.txt");
const JAVA: &str = include_str!("traces/java_caused_by.txt");

const PYTHON_SERVICE: &[(&str, &str)] = &[
    ("service.name", "shop-api"),
    ("service.version", "1.4.2"),
    ("deployment.environment.name", "staging"),
    ("telemetry.sdk.language", "python"),
];

fn trace_context(
    contexts: &std::collections::BTreeMap<String, Context>,
) -> &sentry_types::protocol::v7::TraceContext {
    match contexts.get("trace") {
        Some(Context::Trace(t)) => t,
        other => panic!("no trace context: {other:?}"),
    }
}

#[tokio::test]
async fn a_span_exception_becomes_a_linked_error_event() {
    let fake = FakeSentry::start().await;
    let h = Harness::new(&config(&fake));
    let mut failing = span(
        "POST /checkout",
        2,
        1,
        SpanKind::Server,
        vec![exception("ValueError", "order has no quantity", PYTHON)],
    );
    failing.events.push(span::Event {
        name: "cache.miss".into(),
        ..Default::default()
    });
    failing.attributes = kvs(&[
        ("request.id", "req-42"),
        ("user.email", "secret@example.com"),
    ]);
    let quiet = span("GET /health", 3, 0, SpanKind::Server, Vec::new());
    h.export(&bundle(
        "acme",
        traces(PYTHON_SERVICE, vec![failing, quiet]),
    ))
    .await
    .expect("sent");

    let received = fake.received();
    assert_eq!(
        received.len(),
        1,
        "one event; spans without exceptions are not sent"
    );
    let r = &received[0];
    assert_eq!(r.project, "1");
    assert_eq!(r.key, "public1");
    assert_eq!(r.encoding.as_deref(), Some("gzip"));
    let e = r.event().expect("an event");
    assert_eq!(r.envelope.uuid(), Some(&e.event_id));
    assert_eq!(e.level, Level::Error);
    assert_eq!(e.platform, "python");
    assert_eq!(e.release.as_deref(), Some("1.4.2"));
    assert_eq!(e.environment.as_deref(), Some("staging"));
    assert_eq!(e.transaction.as_deref(), Some("POST /checkout"));
    // Sentry's timestamps are float seconds: microseconds survive.
    let at = SystemTime::UNIX_EPOCH + Duration::from_nanos(T0 + 5_000_000);
    let off = e
        .timestamp
        .duration_since(at)
        .unwrap_or_else(|e| e.duration());
    assert!(off < Duration::from_micros(1), "{:?}", e.timestamp);
    assert_eq!(e.sdk.as_ref().map(|s| s.name.as_str()), Some("weir"));
    let tags: Vec<(&str, &str)> = e
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        tags,
        [("request_id", "req-42"), ("service.name", "shop-api")],
        "only allowlisted attributes and the request id"
    );
    assert!(
        e.extra.is_empty(),
        "the stack trace was parsed: {:?}",
        e.extra
    );
    let trace = trace_context(&e.contexts);
    assert_eq!(trace.trace_id.to_string(), "ab".repeat(16));
    assert_eq!(trace.span_id.to_string(), "02".repeat(8));
    assert_eq!(
        trace.parent_span_id.map(|p| p.to_string()),
        Some("01".repeat(8))
    );
    let values = &e.exception.values;
    assert_eq!(values.len(), 2);
    assert_eq!(values[0].ty, "KeyError");
    assert_eq!(values[1].ty, "ValueError");
    assert_eq!(values[1].value.as_deref(), Some("order has no quantity"));
    let frames = &values[1].stacktrace.as_ref().expect("frames").frames;
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].function.as_deref(), Some("handle"));
    assert_eq!(frames[1].lineno, Some(8));
}

#[tokio::test]
async fn error_logs_become_events_and_quieter_logs_do_not() {
    let fake = FakeSentry::start().await;
    let h = Harness::new(&config(&fake));
    let records = vec![
        log("all good", 9, &[]),
        log("payment gateway timed out", 17, &[]),
        log(
            "could not save order",
            13,
            &[
                ("exception.type", "java.lang.IllegalStateException"),
                ("exception.message", "could not save order"),
                ("exception.stacktrace", JAVA),
            ],
        ),
        log("out of memory", 21, &[]),
    ];
    let java = [
        ("service.name", "orders"),
        ("telemetry.sdk.language", "java"),
    ];
    h.export(&bundle("acme", logs(&java, records)))
        .await
        .expect("sent");

    let mut events = fake.events();
    events.sort_by_key(|e| e.timestamp);
    assert_eq!(events.len(), 3, "INFO stays out");
    let (warn, error, fatal) = (&events[0], &events[1], &events[2]);

    assert_eq!(error.level, Level::Error);
    assert_eq!(error.message.as_deref(), Some("payment gateway timed out"));
    assert!(error.exception.values.is_empty());
    assert_eq!(error.logger.as_deref(), Some("shop.refunds"));
    assert_eq!(error.environment, None, "no environment anywhere");
    let trace = trace_context(&error.contexts);
    assert_eq!(trace.span_id.to_string(), "07".repeat(8));

    assert_eq!(
        warn.level,
        Level::Warning,
        "sent for its exception.* attributes"
    );
    assert_eq!(
        warn.message, None,
        "the body repeats the exception's message"
    );
    assert_eq!(warn.platform, "java");
    let values = &warn.exception.values;
    assert_eq!(values.len(), 2);
    assert_eq!(values[0].ty, "java.io.IOException");
    assert_eq!(values[1].ty, "java.lang.IllegalStateException");

    assert_eq!(fatal.level, Level::Fatal);
    // A request id is always there: the export request's own when the record has none.
    assert!(fatal.tags.contains_key("request_id"));
}

#[tokio::test]
async fn an_unrecognised_stack_trace_is_kept_as_text() {
    let fake = FakeSentry::start().await;
    let cfg = SentryConfig {
        environment: Some("production".into()),
        compression: Compression::None,
        ..config(&fake)
    };
    let h = Harness::new(&cfg);
    let raw = "boom happened somewhere\n  deep inside\n";
    let s = span(
        "job",
        2,
        0,
        SpanKind::Internal,
        vec![exception("", "boom", raw)],
    );
    let old_env = [("deployment.environment", "legacy-env")];
    h.export(&bundle("acme", traces(&old_env, vec![s])))
        .await
        .expect("sent");
    let received = fake.received();
    assert_eq!(received[0].encoding, None, "compression: none");
    let e = received[0].event().expect("event");
    assert_eq!(
        e.environment.as_deref(),
        Some("legacy-env"),
        "deployment.environment"
    );
    assert_eq!(e.exception.values[0].ty, "Error", "an empty type");
    assert_eq!(e.exception.values[0].value.as_deref(), Some("boom"));
    assert_eq!(e.exception.values[0].stacktrace, None);
    assert_eq!(
        e.extra.get("stacktrace").and_then(|v| v.as_str()),
        Some(raw)
    );

    fake.clear();
    let s = span(
        "job",
        3,
        0,
        SpanKind::Internal,
        vec![exception("E", "m", "")],
    );
    h.export(&bundle("acme", traces(&[], vec![s])))
        .await
        .expect("sent");
    let e = fake.events().pop().expect("event");
    assert_eq!(
        e.environment.as_deref(),
        Some("production"),
        "the configured fallback"
    );
    assert_eq!(e.platform, "other");
}

#[tokio::test]
async fn local_root_spans_become_transactions_with_their_children() {
    let fake = FakeSentry::start().await;
    let cfg = SentryConfig {
        transactions: true,
        ..config(&fake)
    };
    let h = Harness::new(&cfg);
    let mut root = span("POST /checkout", 1, 0, SpanKind::Server, Vec::new());
    root.attributes = kvs(&[("http.request.method", "POST"), ("service.name", "ignored")]);
    let mut db = span("SELECT orders", 2, 1, SpanKind::Client, Vec::new());
    db.attributes = kvs(&[("db.system.name", "postgresql")]);
    let mut inner = span("charge", 3, 2, SpanKind::Internal, Vec::new());
    inner.status = Some(Status {
        code: StatusCode::Error as i32,
        ..Default::default()
    });
    // A server span whose parent is in another process (flags say so): its own transaction.
    let mut remote = span("consume", 4, 9, SpanKind::Consumer, Vec::new());
    remote.flags = 0x300;
    // A child whose parent is in another bundle: not a transaction of its own.
    let orphan = span("late child", 5, 8, SpanKind::Internal, Vec::new());
    h.export(&bundle(
        "acme",
        traces(PYTHON_SERVICE, vec![root, db, inner, remote, orphan]),
    ))
    .await
    .expect("sent");

    let mut txs = fake.transactions();
    txs.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(txs.len(), 2, "{txs:#?}");
    let (checkout, consume) = (&txs[0], &txs[1]);
    assert_eq!(checkout.name.as_deref(), Some("POST /checkout"));
    assert_eq!(checkout.release.as_deref(), Some("1.4.2"));
    assert_eq!(checkout.environment.as_deref(), Some("staging"));
    let trace = trace_context(&checkout.contexts);
    assert_eq!(trace.op.as_deref(), Some("http.server"));
    assert_eq!(trace.status, Some(SpanStatus::Ok));
    assert_eq!(trace.parent_span_id, None);
    let mut children: Vec<_> = checkout
        .spans
        .iter()
        .map(|s| {
            (
                s.description.clone().unwrap_or_default(),
                s.op.clone(),
                s.status,
            )
        })
        .collect();
    children.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        children,
        [
            (
                "SELECT orders".into(),
                Some("db".into()),
                Some(SpanStatus::Ok)
            ),
            (
                "charge".into(),
                Some("function".into()),
                Some(SpanStatus::InternalError)
            ),
        ]
    );
    assert_eq!(
        checkout.timestamp,
        Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(T0 + 20_000_000))
    );
    let trace = trace_context(&consume.contexts);
    assert_eq!(trace.op.as_deref(), Some("queue.process"));
    assert_eq!(
        trace.parent_span_id.map(|p| p.to_string()),
        Some("09".repeat(8))
    );
    assert!(consume.spans.is_empty());

    // Off by default: the same spans send nothing.
    let fake = FakeSentry::start().await;
    let h = Harness::new(&config(&fake));
    let root = span("POST /checkout", 1, 0, SpanKind::Server, Vec::new());
    h.export(&bundle("acme", traces(PYTHON_SERVICE, vec![root])))
        .await
        .expect("ok");
    assert!(fake.received().is_empty());
}
