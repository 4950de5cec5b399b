//! The OTTL subset (what parses, what is refused and how it reads), and the processor on each
//! signal with its filtered count.

use weir_pipeline::metrics::catalogue;
use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};
use weir_pipeline::otlp::trace::v1::span::Event;
use weir_pipeline::test_util::realistic;
use weir_pipeline::{Metrics, Processor, Signal};

use super::eval::{View, holds};
use super::ottl::{Context, parse};
use super::*;

fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn check(cond: &str, view: &View<'_>) -> bool {
    let e = parse(cond, Context::Span).unwrap_or_else(|e| panic!("{cond}: {e}"));
    holds(&e, view)
}

#[test]
fn conditions_read_names_kinds_attributes_and_resources() {
    let attrs = [
        kv("http.route", Value::StringValue("/healthz".into())),
        kv("http.status_code", Value::IntValue(503)),
        kv("ratio", Value::DoubleValue(0.5)),
        kv("internal", Value::BoolValue(true)),
    ];
    let resource = [kv(
        "deployment.environment",
        Value::StringValue("dev".into()),
    )];
    let view = View {
        name: Some("GET /healthz"),
        kind: Some(2),
        attributes: &attrs,
        resource: &resource,
        scope_name: Some("io.opentelemetry.http"),
        ..View::default()
    };
    let yes = [
        r#"attributes["http.route"] == "/healthz""#,
        r#"attributes["http.status_code"] >= 500"#,
        r#"attributes["http.status_code"] > 499.5"#,
        r#"attributes["ratio"] < 1"#,
        r#"attributes["internal"]"#,
        r#"attributes["missing"] == nil"#,
        r#"attributes["missing"] != "x""#,
        "kind == SPAN_KIND_SERVER",
        "kind != SPAN_KIND_CLIENT",
        r#"IsMatch(name, "^GET /health")"#,
        r#"IsMatch(attributes["http.status_code"], "^5")"#,
        r#"resource.attributes["deployment.environment"] == "dev" and not (kind == SPAN_KIND_CLIENT)"#,
        r#"name == "nope" or instrumentation_scope.name == "io.opentelemetry.http""#,
        r#"not name == "nope" and (kind == 1 or kind == 2)"#,
    ];
    for c in yes {
        assert!(check(c, &view), "{c} should hold");
    }
    let no = [
        r#"attributes["http.route"] != "/healthz""#,
        r#"attributes["http.status_code"] == "503""#,
        r#"attributes["http.status_code"] < 500"#,
        r#"attributes["missing"] > 3"#,
        r#"IsMatch(attributes["missing"], ".*")"#,
        "kind == SPAN_KIND_INTERNAL",
        r#"name == "GET /healthz" and kind == SPAN_KIND_CLIENT"#,
        "false",
    ];
    for c in no {
        assert!(!check(c, &view), "{c} should not hold");
    }
}

#[test]
fn severity_enums_have_the_otlp_numbers() {
    let view = |n| View {
        severity_number: Some(n),
        ..View::default()
    };
    let cond = |c: &str| parse(c, Context::LogRecord).expect("parses");
    let below_info = cond("severity_number < SEVERITY_NUMBER_INFO");
    assert!(holds(&below_info, &view(8)), "DEBUG4 is below INFO");
    assert!(!holds(&below_info, &view(9)));
    let warn3 = cond("severity_number == SEVERITY_NUMBER_WARN3");
    assert!(holds(&warn3, &view(15)));
    let fatal4 = cond("severity_number == SEVERITY_NUMBER_FATAL4");
    assert!(holds(&fatal4, &view(24)));
}

#[test]
fn what_weir_does_not_run_is_refused_by_name() {
    let refused = [
        (r#"IsString(attributes["k"])"#, "function IsString"),
        (r#"Concat(["a"], "") == "a""#, "function Concat"),
        (r#"attributes["a"]["b"] == 1"#, "nested keys"),
        ("status.code == STATUS_CODE_ERROR", "path status.code"),
        (r#"severity_number > 3"#, "path severity_number"),
        ("kind == SPAN_KIND_WHATEVER", "enum SPAN_KIND_WHATEVER"),
        ("duration + 1 > 3", "'+'"),
        (r#"name == "a" and"#, "ends too early"),
        (r#"IsMatch(name, "(")"#, "not a valid regex"),
        (r#"name == "x" name"#, "unexpected name"),
    ];
    for (c, want) in refused {
        let e = parse(c, Context::Span).expect_err(c).to_string();
        assert!(e.contains(want), "{c}: {e} should name {want}");
    }
}

#[test]
fn a_condition_weir_does_not_run_is_refused_when_read_and_unsupported_keys_are_listed() {
    let err = crate::read_error::read_error::<FilterConfig>(
        r#"
error_mode: ignore
traces: { span: ['name == "ok"', 'Foo(name)'] }
"#,
    );
    assert!(err.starts_with("traces.span[1]: "), "{err}");
    assert!(err.contains("Foo(name)"), "{err}");
    // Each list parses for its own context: `kind` is no path of a log record.
    let err = crate::read_error::read_error::<FilterConfig>("logs: { log_record: ['kind == 1'] }");
    assert!(err.starts_with("logs.log_record[0]: "), "{err}");
    let ok: FilterConfig =
        serde_yaml_ng::from_str("traces: { span: ['kind == 1'] }").expect("a span has a kind");
    assert_eq!(ok.problems(), vec![]);
    assert!(
        !FilterConfig::default().problems().is_empty(),
        "no conditions"
    );
    assert!(UNSUPPORTED_COLLECTOR_KEYS.contains(&"spans"));
}

fn filter(yaml: &str, metrics: &Metrics) -> Filter {
    let cfg: FilterConfig = serde_yaml_ng::from_str(yaml).expect("parses");
    Filter::new("filter/x", &cfg, metrics)
}

fn filtered(metrics: &Metrics, signal: &str) -> u64 {
    metrics
        .value(catalogue::RECORDS_FILTERED, &[signal, "filter/x"])
        .unwrap_or(0)
}

#[test]
fn spans_are_dropped_and_counted_and_events_removed() {
    let metrics = Metrics::new();
    let f = filter(
        r#"traces:
  span: ['name == "drop me"']
  spanevent: ['name == "noise" and span.name == "keep"']
"#,
        &metrics,
    );
    let mut spans = realistic::spans(4, 0);
    let all: Vec<_> = spans
        .iter_mut()
        .flat_map(|r| &mut r.scope_spans)
        .flat_map(|s| &mut s.spans)
        .collect();
    let n = all.len();
    for (i, s) in all.into_iter().enumerate() {
        s.name = if i % 2 == 0 {
            "drop me".into()
        } else {
            "keep".into()
        };
        s.events = vec![
            Event {
                name: "noise".into(),
                ..Default::default()
            },
            Event {
                name: "signal".into(),
                ..Default::default()
            },
        ];
    }
    let mut batch = realistic::batch(Signal::Traces(spans));
    assert_eq!(f.process(&mut batch), Outcome::pass());
    let kept = batch.record_count();
    assert_eq!(kept as usize, n / 2);
    assert_eq!(filtered(&metrics, "traces"), (n - n / 2) as u64);
    let Signal::Traces(rs) = batch.signal() else {
        unreachable!()
    };
    for s in rs
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
    {
        assert_eq!(s.name, "keep");
        let names: Vec<&str> = s.events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["signal"]);
    }
}

#[test]
fn logs_below_a_severity_are_dropped_and_empty_resources_go() {
    let metrics = Metrics::new();
    let f = filter(
        "logs: { log_record: ['severity_number < SEVERITY_NUMBER_WARN'] }",
        &metrics,
    );
    let mut logs = realistic::logs(6, 0);
    for l in logs
        .iter_mut()
        .flat_map(|r| &mut r.scope_logs)
        .flat_map(|s| &mut s.log_records)
    {
        l.severity_number = 9;
    }
    let n = logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum::<usize>();
    let mut batch = realistic::batch(Signal::Logs(logs));
    f.process(&mut batch);
    assert!(batch.is_empty());
    let Signal::Logs(rl) = batch.signal() else {
        unreachable!()
    };
    assert!(rl.is_empty(), "empty resources are removed");
    assert_eq!(filtered(&metrics, "logs"), n as u64);
}

#[test]
fn metrics_and_data_points_are_dropped_and_counted_as_points() {
    let metrics = Metrics::new();
    let batch = realistic::batch(Signal::Metrics(realistic::metrics(4, 0)));
    let first = match batch.signal() {
        Signal::Metrics(rm) => rm[0].scope_metrics[0].metrics[0].name.clone(),
        _ => unreachable!(),
    };
    let total = batch.record_count();
    let f = filter(
        &format!("metrics: {{ metric: ['name == \"{first}\"'], datapoint: ['true'] }}"),
        &metrics,
    );
    let mut b = batch.clone();
    f.process(&mut b);
    assert!(b.is_empty(), "every point matched `true`");
    assert_eq!(filtered(&metrics, "metrics"), total);
    // A filter for logs only leaves metrics alone.
    let logs_only = filter("logs: { log_record: ['true'] }", &Metrics::new());
    let mut b = batch.clone();
    logs_only.process(&mut b);
    assert_eq!(b.signal(), batch.signal());
}
