//! Tests of the `debug` exporter: real OTLP structs in, the file read back.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value as Json;
use weir_pipeline::otlp::collector::logs::v1::ExportLogsServiceRequest;
use weir_pipeline::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
use weir_pipeline::otlp::collector::trace::v1::ExportTraceServiceRequest;
use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value};
use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weir_pipeline::otlp::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span};
use weir_pipeline::{Batch, Bundle, Exporter, RequestContext, RequestId, Signal};

use super::format::{MAX_BODY_CHARS, shorten};
use super::*;

const TRACE_ID: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];
const TRACE_HEX: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID: [u8; 8] = [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];
const SPAN_HEX: &str = "00f067aa0ba902b7";

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv(
            "service.name",
            any_value::Value::StringValue("checkout".into()),
        )],
        ..Default::default()
    })
}

fn traces() -> Signal {
    let span = |name: &str, span_id: Vec<u8>| Span {
        trace_id: TRACE_ID.to_vec(),
        span_id,
        name: name.into(),
        kind: 2,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_500_000_000,
        attributes: vec![
            kv("http.route", any_value::Value::StringValue("/cart".into())),
            kv("http.response.status_code", any_value::Value::IntValue(200)),
        ],
        ..Default::default()
    };
    Signal::Traces(vec![ResourceSpans {
        resource: resource(),
        scope_spans: vec![ScopeSpans {
            spans: vec![
                span("GET /cart", SPAN_ID.to_vec()),
                span("say \"hi\"\nnext", vec![1; 8]),
            ],
            ..Default::default()
        }],
        ..Default::default()
    }])
}

fn log(body: &str) -> Signal {
    Signal::Logs(vec![ResourceLogs {
        resource: resource(),
        scope_logs: vec![ScopeLogs {
            log_records: vec![LogRecord {
                time_unix_nano: 1_700_000_000_000_000_123,
                severity_number: 17,
                severity_text: "ERROR".into(),
                body: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(body.into())),
                }),
                trace_id: TRACE_ID.to_vec(),
                span_id: SPAN_ID.to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }])
}

fn gauge() -> Signal {
    let point = |v: f64| NumberDataPoint {
        time_unix_nano: 1_700_000_000_000_000_000,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    };
    Signal::Metrics(vec![ResourceMetrics {
        resource: resource(),
        scope_metrics: vec![ScopeMetrics {
            metrics: vec![Metric {
                name: "queue.depth".into(),
                data: Some(metric::Data::Gauge(Gauge {
                    data_points: vec![point(1.5), point(2.0)],
                })),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }])
}

fn batch(signal: Signal) -> Arc<Batch> {
    let mut ctx = RequestContext::for_tests();
    ctx.request_id = RequestId::from_client(Some(b"req-42"));
    Arc::new(Batch::new(ctx, signal))
}

fn config(path: &Path, verbosity: Verbosity, format: OutputFormat) -> DebugConfig {
    DebugConfig {
        verbosity,
        path: Some(path.to_path_buf()),
        format,
    }
}

/// Exports `signal` to a fresh file with the given settings and returns what was written.
async fn export_to_file(signal: Signal, verbosity: Verbosity, format: OutputFormat) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("debug.out");
    let exporter = DebugExporter::new("debug", &config(&path, verbosity, format)).expect("new");
    exporter
        .export(Arc::new(Bundle::single(batch(signal))))
        .await
        .expect("export");
    std::fs::read_to_string(&path).expect("read back")
}

fn only_json_line(out: &str) -> Json {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one line per batch: {out}");
    serde_json::from_str(lines[0]).expect("valid json")
}

#[tokio::test]
async fn json_normal_carries_otlp_json_that_decodes_back() {
    let signal = traces();
    let line = only_json_line(
        &export_to_file(signal.clone(), Verbosity::Normal, OutputFormat::Json).await,
    );
    assert_eq!(line["signal"], "traces");
    assert_eq!(line["tenant"], "default");
    assert_eq!(line["request_id"], "req-42");
    assert_eq!(line["receiver"], "test");
    assert_eq!(line["resources"], 1);
    assert_eq!(line["records"], 2);
    let span = &line["data"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["traceId"], TRACE_HEX);
    assert_eq!(span["spanId"], SPAN_HEX);
    assert_eq!(span["attributes"][1]["value"]["intValue"], "200");

    let decoded: ExportTraceServiceRequest =
        serde_json::from_value(line["data"].clone()).expect("decodes as OTLP/JSON");
    let Signal::Traces(resource_spans) = signal else {
        unreachable!()
    };
    assert_eq!(decoded, ExportTraceServiceRequest { resource_spans });
}

#[tokio::test]
async fn json_logs_and_metrics_decode_back() {
    let line =
        only_json_line(&export_to_file(log("boom"), Verbosity::Detailed, OutputFormat::Json).await);
    assert_eq!(
        (line["signal"].as_str(), line["records"].as_u64()),
        (Some("logs"), Some(1))
    );
    let decoded: ExportLogsServiceRequest =
        serde_json::from_value(line["data"].clone()).expect("logs");
    let Signal::Logs(resource_logs) = log("boom") else {
        unreachable!()
    };
    assert_eq!(decoded, ExportLogsServiceRequest { resource_logs });

    let line =
        only_json_line(&export_to_file(gauge(), Verbosity::Normal, OutputFormat::Json).await);
    assert_eq!(
        (line["signal"].as_str(), line["records"].as_u64()),
        (Some("metrics"), Some(2))
    );
    let decoded: ExportMetricsServiceRequest =
        serde_json::from_value(line["data"].clone()).expect("metrics");
    let Signal::Metrics(resource_metrics) = gauge() else {
        unreachable!()
    };
    assert_eq!(decoded, ExportMetricsServiceRequest { resource_metrics });
}

#[tokio::test]
async fn json_basic_has_no_data() {
    let out = export_to_file(traces(), Verbosity::Basic, OutputFormat::Json).await;
    assert_eq!(
        out,
        "{\"signal\":\"traces\",\"tenant\":\"default\",\"request_id\":\"req-42\",\
         \"receiver\":\"test\",\"resources\":1,\"records\":2}\n"
    );
}

#[tokio::test]
async fn text_basic_is_one_summary_line() {
    let out = export_to_file(traces(), Verbosity::Basic, OutputFormat::Text).await;
    assert_eq!(
        out,
        "traces tenant=default request_id=req-42 resources=1 records=2\n"
    );
}

#[tokio::test]
async fn text_normal_has_a_line_per_record() {
    let out = export_to_file(traces(), Verbosity::Normal, OutputFormat::Text).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "traces tenant=default request_id=req-42 resources=1 records=2",
            &format!(
                "  span trace_id={TRACE_HEX} span_id={SPAN_HEX} name=\"GET /cart\" kind=2 attributes=2"
            ),
            &format!(
                "  span trace_id={TRACE_HEX} span_id=0101010101010101 name=\"say \\\"hi\\\"\\nnext\" kind=2 attributes=2"
            ),
        ]
    );

    let out = export_to_file(log("payment failed"), Verbosity::Normal, OutputFormat::Text).await;
    assert!(out.contains(&format!(
        "\n  log time=1700000000000000123 severity=ERROR trace_id={TRACE_HEX} body=\"payment failed\"\n"
    )), "{out}");

    let out = export_to_file(gauge(), Verbosity::Normal, OutputFormat::Text).await;
    assert_eq!(
        out,
        "metrics tenant=default request_id=req-42 resources=1 records=2\n  metric name=queue.depth type=gauge points=2\n"
    );
}

#[tokio::test]
async fn text_normal_shortens_long_bodies_and_marks_bad_ids() {
    let mut signal = log(&"x".repeat(500));
    if let Signal::Logs(rl) = &mut signal {
        let record = &mut rl[0].scope_logs[0].log_records[0];
        record.trace_id = vec![0; 16];
        record.severity_text.clear();
    }
    let out = export_to_file(signal, Verbosity::Normal, OutputFormat::Text).await;
    let expected_body = format!("{}…", "x".repeat(MAX_BODY_CHARS - 1));
    assert!(
        out.contains(&format!(
            "severity=17 trace_id=invalid:{} body=\"{expected_body}\"\n",
            "00".repeat(16)
        )),
        "{out}"
    );
}

#[tokio::test]
async fn text_detailed_is_summary_then_pretty_otlp_json() {
    let out = export_to_file(traces(), Verbosity::Detailed, OutputFormat::Text).await;
    let (summary, rest) = out.split_once('\n').expect("two parts");
    assert_eq!(
        summary,
        "traces tenant=default request_id=req-42 resources=1 records=2"
    );
    assert!(
        rest.contains(&format!("\"traceId\": \"{TRACE_HEX}\"")),
        "{rest}"
    );
    let decoded: ExportTraceServiceRequest = serde_json::from_str(rest).expect("pretty OTLP/JSON");
    let Signal::Traces(resource_spans) = traces() else {
        unreachable!()
    };
    assert_eq!(decoded, ExportTraceServiceRequest { resource_spans });
}

#[tokio::test]
async fn appends_to_an_existing_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("debug.jsonl");
    std::fs::write(&path, "earlier\n").expect("seed");
    let cfg = config(&path, Verbosity::Basic, OutputFormat::Json);
    let exporter = DebugExporter::new("debug", &cfg).expect("new");
    for signal in [traces(), log("a"), gauge()] {
        exporter
            .export(Arc::new(Bundle::single(batch(signal))))
            .await
            .expect("export");
    }
    let out = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], "earlier");
    let signals: Vec<Json> = lines[1..]
        .iter()
        .map(|l| serde_json::from_str::<Json>(l).expect("json")["signal"].clone())
        .collect();
    assert_eq!(signals, ["traces", "logs", "metrics"]);
}

#[test]
fn missing_directory_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("no-such-dir").join("out.txt");
    let err = DebugExporter::new(
        "debug/file",
        &config(&path, Verbosity::Basic, OutputFormat::Text),
    )
    .expect_err("missing directory");
    assert_eq!(err.key.as_deref(), Some("path"));
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("debug/file"), "{msg}");
}

#[test]
fn config_defaults_and_parsing() {
    let cfg: DebugConfig = serde_yaml_ng::from_str("{}").expect("empty");
    assert_eq!(cfg, DebugConfig::default());
    assert_eq!(cfg.verbosity, Verbosity::Basic);
    assert_eq!(cfg.format, OutputFormat::Text);
    assert_eq!(cfg.path, None);

    let cfg: DebugConfig =
        serde_yaml_ng::from_str("verbosity: detailed\npath: /tmp/x.jsonl\nformat: json\n")
            .expect("full");
    assert_eq!(cfg.verbosity, Verbosity::Detailed);
    assert_eq!(cfg.format, OutputFormat::Json);
    assert_eq!(cfg.path.as_deref(), Some(Path::new("/tmp/x.jsonl")));
}

#[test]
fn config_rejects_unknown_keys_and_values() {
    let err = serde_yaml_ng::from_str::<DebugConfig>("verbose: true").expect_err("unknown key");
    assert!(err.to_string().contains("verbose"), "{err}");
    let refused = |yaml: &str, says: &str| {
        let err = serde_yaml_ng::from_str::<DebugConfig>(yaml)
            .expect_err(yaml)
            .to_string();
        assert!(err.contains(says), "{yaml}: {err}");
    };
    refused("verbosity: loud", "verbosity: unknown variant `loud`");
    refused("format: xml", "format: unknown variant `xml`");
    for key in UNSUPPORTED_COLLECTOR_KEYS {
        refused(&format!("{key}: 1"), &format!("unknown field `{key}`"));
    }
}

#[test]
fn shorten_counts_characters_not_bytes() {
    assert_eq!(shorten("héllo", 5), "héllo");
    assert_eq!(shorten("héllo!", 5), "héll…");
    assert_eq!(
        shorten(&"é".repeat(300), MAX_BODY_CHARS).chars().count(),
        MAX_BODY_CHARS
    );
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_failed_write_is_retryable() {
    let cfg = config(Path::new("/dev/full"), Verbosity::Basic, OutputFormat::Text);
    let exporter = DebugExporter::new("debug", &cfg).expect("/dev/full opens");
    let err = exporter
        .export(Arc::new(Bundle::single(batch(traces()))))
        .await
        .expect_err("device is full");
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("/dev/full"), "{err}");
}
