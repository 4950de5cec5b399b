//! weir traces itself when `service.telemetry.traces` says so: `weir.receive` → `weir.process`
//! → `weir.export` spans, parented on the request's `traceparent`, sent over OTLP/gRPC. A weir
//! that receives another weir's spans does not trace that request, so spans never loop.

mod common;

use serde_json::Value;

use common::{DEBUG_AND_ADMIN, OTLP_RECEIVER, Weir, ledger, tests_path};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn traced_config(endpoint: &str) -> String {
    format!(
        "{OTLP_RECEIVER}\
{DEBUG_AND_ADMIN}  telemetry:
    traces: {{ endpoint: {endpoint} }}
  pipelines:
    traces:  {{ receivers: [otlp], exporters: [debug], redaction: off }}
    logs:    {{ receivers: [otlp], exporters: [debug], redaction: off }}
"
    )
}

/// weir's own spans in a sink's debug output: (name, span JSON).
fn weir_spans(sink: &Weir) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for record in sink.records_of("traces") {
        for rs in record["data"]["resourceSpans"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let is_weir = common::attrs(&rs["resource"])
                .iter()
                .any(|(k, v)| k == "service.name" && v["stringValue"] == "weir");
            if !is_weir {
                continue;
            }
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for span in ss["spans"].as_array().into_iter().flatten() {
                    out.push((
                        span["name"].as_str().unwrap_or_default().to_owned(),
                        span.clone(),
                    ));
                }
            }
        }
    }
    out
}

async fn post_trace(weir: &Weir, headers: &[(&str, &str)]) {
    let body = std::fs::read(tests_path("fixtures/otlp-json/trace.json")).expect("fixture");
    let resp = weir.post_json("/v1/traces", body, headers).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn spans_follow_the_traceparent_and_never_loop() {
    // c collects b's spans; b collects a's spans (and traces itself into c); a is traced.
    let mut c = Weir::start(common::DEBUG_CONFIG);
    let mut b = Weir::start(&traced_config(&c.grpc_base()));
    let mut a = Weir::start(&traced_config(&b.grpc_base()));

    let traceparent = format!("00-{TRACE_ID}-{PARENT}-01");
    post_trace(
        &a,
        &[
            ("traceparent", &traceparent),
            ("x-request-id", "req-self-1"),
        ],
    )
    .await;
    // One untraced-by-mark request straight to b: b's own tracing works.
    post_trace(&b, &[]).await;

    // Each weir's ledger balances before it stops; a's spans reach b as a stops, b's reach c
    // as b stops (weir's own spans leave by their own exporter, not through its pipelines).
    let traces = [("traces", "debug")];
    ledger::assert_balanced(&a, &traces).await;
    assert!(a.stop().success(), "a exits 0 (flushing its spans)");
    ledger::assert_balanced(&b, &traces).await;
    assert!(b.stop().success(), "b exits 0");
    ledger::assert_balanced(&c, &traces).await;
    assert!(c.stop().success(), "c exits 0");

    // b received exactly a's three spans, linked as receive → process / export.
    let spans = weir_spans(&b);
    let names: Vec<&str> = spans.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let find = |name: &str| {
        spans
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| panic!("no {name} span in {names:?}"))
    };
    let receive = find("weir.receive");
    let process = find("weir.process");
    let export = find("weir.export");
    assert_eq!(receive["traceId"], TRACE_ID);
    assert_eq!(receive["parentSpanId"], PARENT);
    assert_eq!(receive["kind"], 2, "SERVER");
    for child in [&process, &export] {
        assert_eq!(child["traceId"], TRACE_ID);
        assert_eq!(child["parentSpanId"], receive["spanId"]);
    }
    let attr = |s: &Value, k: &str| common::attr(s, k);
    assert_eq!(
        attr(&receive, "weir.request.id")["stringValue"],
        "req-self-1"
    );
    assert_eq!(attr(&receive, "weir.tenant")["stringValue"], "default");
    assert_eq!(attr(&process, "weir.pipeline")["stringValue"], "traces");

    // c got b's spans for the request sent to b directly, and none for the request that
    // carried a's spans: marked self-telemetry is never traced again.
    let c_spans = weir_spans(&c);
    let receives: Vec<&Value> = c_spans
        .iter()
        .filter(|(n, _)| n == "weir.receive")
        .map(|(_, s)| s)
        .collect();
    assert_eq!(receives.len(), 1, "{c_spans:?}");
    assert_ne!(receives[0]["traceId"], TRACE_ID);
}
