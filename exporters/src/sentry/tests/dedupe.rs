//! One exception, two records: a span's `exception` event and an ERROR log of the same
//! exception in that span get one event id, and within `dedupe_window` the second copy is not
//! sent but counted in `weir_sentry_deduplicated_total`. Time is a manual clock: no sleeps.

use sentry_types::Uuid;
use weir_pipeline::otlp::trace::v1::span::SpanKind;

use super::*;

/// The span every copy comes from.
const SPAN: u8 = 2;

/// A span `SPAN` of `TRACE` with the exception `ty: message` recorded on it.
fn recorded(ty: &str, message: &str) -> Signal {
    traces(
        &[("service.name", "shop")],
        vec![span(
            "checkout",
            SPAN,
            0,
            SpanKind::Server,
            vec![exception(ty, message, "")],
        )],
    )
}

/// An ERROR log with the exception `ty: message`, written in span `span_id` of `TRACE` (no
/// trace context when `span_id` is 0) at `ms` milliseconds after `T0`.
fn logged(ty: &str, message: &str, span_id: u8, ms: u64) -> Signal {
    let mut record = log(
        "checkout failed",
        17,
        &[("exception.type", ty), ("exception.message", message)],
    );
    record.time_unix_nano = T0 + ms * 1_000_000;
    if span_id == 0 {
        record.trace_id.clear();
        record.span_id.clear();
    } else {
        record.span_id = vec![span_id; 8];
    }
    logs(&[("service.name", "shop")], vec![record])
}

/// The config of `fake` with `dedupe_window`.
fn window(fake: &FakeSentry, dedupe_window: Duration) -> SentryConfig {
    SentryConfig {
        dedupe_window,
        ..config(fake)
    }
}

impl Harness {
    /// `weir_sentry_deduplicated_total` of the test exporter.
    fn deduplicated(&self) -> u64 {
        self.metrics
            .value(catalogue::SENTRY_DEDUPLICATED, &[EXPORTER])
            .unwrap_or(0)
    }

    async fn send(&self, signal: Signal) {
        self.export(&bundle("acme", signal)).await.expect("sent");
    }
}

fn ids(fake: &FakeSentry) -> Vec<Uuid> {
    fake.events().iter().map(|e| e.event_id).collect()
}

#[tokio::test]
async fn a_span_exception_and_its_error_log_share_one_event_id() {
    let fake = FakeSentry::start().await;
    // No dedupe window: every copy is sent, so the ids can be compared.
    let h = Harness::new(&window(&fake, Duration::ZERO));
    h.send(recorded("ValueError", "order has no quantity"))
        .await;
    h.send(logged("ValueError", "order has no quantity", SPAN, 40))
        .await;
    h.send(logged("ValueError", "order has no price", SPAN, 50))
        .await;
    h.send(logged("KeyError", "order has no quantity", SPAN, 60))
        .await;
    h.send(logged("ValueError", "order has no quantity", 9, 70))
        .await;
    let ids = ids(&fake);
    assert_eq!(ids.len(), 5, "a zero window sends every copy");
    assert_eq!(ids[0], ids[1], "span event and log of one exception");
    assert_ne!(ids[0], ids[2], "another value is another event");
    assert_ne!(ids[0], ids[3], "another type is another event");
    assert_ne!(ids[0], ids[4], "another span is another event");
    assert_eq!(h.deduplicated(), 0);
}

/// A Python traceback of `shop.errors.PaymentDeclined: 'sku'` through `frames` (the span's
/// copy has more: the exception went on up the stack before it left the span).
fn declined_traceback(frames: &[&str]) -> String {
    let mut text = String::from("Traceback (most recent call last):\n");
    for (i, f) in frames.iter().enumerate() {
        text.push_str(&format!(
            "  File \"/app/shop/pay.py\", line {}, in {f}\n    charge(order)\n",
            10 + i
        ));
    }
    text.push_str("shop.errors.PaymentDeclined: 'sku'\n");
    text
}

#[tokio::test]
async fn python_copies_that_name_the_exception_differently_share_one_event_id() {
    let fake = FakeSentry::start().await;
    let h = Harness::new(&window(&fake, Duration::ZERO));
    // span.record_exception: the module path in the type, str(exception) as the message.
    let on_span = span::Event {
        time_unix_nano: T0 + 9_000_000,
        name: "exception".into(),
        attributes: kvs(&[
            ("exception.type", "shop.errors.PaymentDeclined"),
            ("exception.message", "'sku'"),
            (
                "exception.stacktrace",
                &declined_traceback(&["handle", "pay", "charge"]),
            ),
            ("exception.escaped", "True"),
        ]),
        ..Default::default()
    };
    h.send(traces(
        &[("telemetry.sdk.language", "python")],
        vec![span("pay", SPAN, 0, SpanKind::Server, vec![on_span])],
    ))
    .await;
    // The logging handler: the class name, and the first argument as the message.
    let mut record = log(
        "payment failed",
        17,
        &[
            ("exception.type", "PaymentDeclined"),
            ("exception.message", "sku"),
            (
                "exception.stacktrace",
                &declined_traceback(&["pay", "charge"]),
            ),
        ],
    );
    record.span_id = vec![SPAN; 8];
    h.send(logs(&[("telemetry.sdk.language", "python")], vec![record]))
        .await;
    let events = fake.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event_id, events[1].event_id);
    // What Sentry shows is still what each copy said.
    let ty = |i: usize| events[i].exception.values.last().map(|e| e.ty.clone());
    assert_eq!(ty(0).as_deref(), Some("shop.errors.PaymentDeclined"));
    assert_eq!(ty(1).as_deref(), Some("PaymentDeclined"));
}

#[tokio::test]
async fn records_without_a_trace_context_keep_their_own_ids() {
    let fake = FakeSentry::start().await;
    let h = Harness::new(&config(&fake));
    h.send(logged("ValueError", "boom", 0, 40)).await;
    h.send(logged("ValueError", "boom", 0, 50)).await;
    // Error logs without an exception in one span are separate events too.
    let plain = |body: &str| {
        let mut r = log(body, 17, &[]);
        r.span_id = vec![SPAN; 8];
        logs(&[], vec![r])
    };
    h.send(plain("payment declined")).await;
    h.send(plain("payment retried")).await;
    let ids = ids(&fake);
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    assert_ne!(ids[2], ids[3]);
    assert_eq!(h.deduplicated(), 0);
    let again = ids[0];
    h.send(logged("ValueError", "boom", 0, 40)).await;
    assert_eq!(
        fake.events().len(),
        4,
        "the same record again is a retry, skipped"
    );
    let sent = fake.events().iter().filter(|e| e.event_id == again).count();
    assert_eq!(sent, 1);
}

#[tokio::test]
async fn a_copy_within_the_window_is_skipped_and_counted_after_it_is_sent_again() {
    let fake = FakeSentry::start().await;
    let h = Harness::new(&config(&fake));
    assert_eq!(
        SentryConfig::default().dedupe_window,
        Duration::from_secs(60)
    );
    h.send(recorded("ValueError", "boom")).await;
    h.clock.advance(Duration::from_secs(59));
    h.send(logged("ValueError", "boom", SPAN, 40)).await;
    assert_eq!(fake.events().len(), 1, "the log's copy was not sent");
    assert_eq!(h.deduplicated(), 1);
    assert_eq!(h.dropped("logs", "acme", "permanent"), 0);
    assert_eq!(h.dropped("logs", "acme", "rate_limited"), 0);
    // The same log bundle retried: already settled, not counted twice.
    h.send(logged("ValueError", "boom", SPAN, 40)).await;
    assert_eq!(h.deduplicated(), 1);
    // Past the window a new copy is sent again, with the same id.
    h.clock.advance(Duration::from_secs(2));
    h.send(logged("ValueError", "boom", SPAN, 90)).await;
    let ids = ids(&fake);
    assert_eq!(ids.len(), 2, "sent again after the window");
    assert_eq!(ids[0], ids[1]);
    assert_eq!(h.deduplicated(), 1);
}

#[tokio::test]
async fn copies_in_one_bundle_are_sent_once() {
    let fake = FakeSentry::start().await;
    let h = Harness::new(&config(&fake));
    let mut twice = span(
        "retry",
        SPAN,
        0,
        SpanKind::Internal,
        vec![exception("E", "boom", ""), exception("E", "boom", "")],
    );
    twice.events[1].time_unix_nano += 1_000_000;
    h.send(traces(&[], vec![twice])).await;
    assert_eq!(fake.events().len(), 1);
    assert_eq!(h.deduplicated(), 1);
}

#[tokio::test]
async fn a_zero_window_sends_every_copy() {
    let fake = FakeSentry::start().await;
    let h = Harness::new(&window(&fake, Duration::ZERO));
    h.send(recorded("ValueError", "boom")).await;
    h.send(logged("ValueError", "boom", SPAN, 40)).await;
    h.send(logged("ValueError", "boom", SPAN, 50)).await;
    assert_eq!(fake.events().len(), 3);
    assert_eq!(h.deduplicated(), 0);
}

#[tokio::test]
async fn a_copy_of_a_refused_event_is_still_sent() {
    let fake = FakeSentry::start().await;
    let h = Harness::new(&config(&fake));
    fake.script([(axum::http::StatusCode::BAD_REQUEST, Vec::new())]);
    h.send(recorded("ValueError", "boom")).await;
    h.send(logged("ValueError", "boom", SPAN, 40)).await;
    assert_eq!(fake.received().len(), 2, "Sentry did not take the first");
    assert_eq!(h.deduplicated(), 0);
    assert_eq!(h.dropped("traces", "acme", "permanent"), 1);
}

#[tokio::test]
async fn a_copy_arriving_while_the_first_is_in_flight_is_skipped() {
    let fake = FakeSentry::start().await;
    let h = Harness::new(&config(&fake));
    let spans = bundle("acme", recorded("ValueError", "boom"));
    let logs = bundle("acme", logged("ValueError", "boom", SPAN, 40));
    // The SDK flushes spans and logs together: the two bundles are sent at once.
    let (a, b) = futures::join!(h.export(&spans), h.export(&logs));
    a.expect("spans");
    b.expect("logs");
    assert_eq!(fake.events().len(), 1);
    assert_eq!(h.deduplicated(), 1);
}
