//! Fields outside attribute lists (scope name and version, `trace_state`, `schema_url`,
//! `severity_text`, metric name, description and unit) and numbers under `redact_all_types`.

use weir_pipeline::otlp::common::v1::InstrumentationScope;
use weir_pipeline::otlp::metrics::v1::{Gauge, Metric, metric::Data};
use weir_pipeline::otlp::trace::v1::span::Link;

use super::metrics::{batch, metrics_of, number, sum_metric};
use super::*;

const EMAIL: &str = "bob.k@example.com";
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl";
const CARD: i64 = 4_111_111_111_111_111;

fn d(v: f64) -> AnyValue {
    AnyValue {
        value: Some(Value::DoubleValue(v)),
    }
}

#[test]
fn scope_name_and_version_mask_only_the_match() {
    let (p, m) = build("{}");
    let mut b = traces(vec![], vec![Span::default()]);
    let Signal::Traces(rs) = b.signal_mut() else {
        unreachable!()
    };
    rs[0].scope_spans[0].scope = Some(InstrumentationScope {
        name: format!("lib/{EMAIL}"),
        version: format!("1.0+{JWT}"),
        ..Default::default()
    });
    pass(&p, &mut b);
    let Signal::Traces(rs) = b.signal() else {
        unreachable!()
    };
    let scope = rs[0].scope_spans[0].scope.as_ref().expect("scope");
    assert_eq!(scope.name, format!("lib/{M}"));
    assert_eq!(scope.version, format!("1.0+{M}"));
    assert_eq!(counted(&m, "blocked_value"), 2);
}

#[test]
fn trace_state_loses_only_the_member_holding_a_secret() {
    let (p, m) = build("{}");
    let span = Span {
        trace_state: format!("vendor=abc, user={EMAIL},rojo=00f067aa0ba902b7"),
        links: vec![Link {
            trace_state: format!("a=1,jwt={JWT}"),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut b = traces(vec![], vec![span]);
    pass(&p, &mut b);
    let out = spans(&b)[0];
    assert_eq!(out.trace_state, "vendor=abc,rojo=00f067aa0ba902b7");
    assert_eq!(out.links[0].trace_state, "a=1");
    assert_eq!(counted(&m, "blocked_value"), 2);
    // A clean trace_state is left exactly as it came, spaces included.
    let clean = "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7";
    let mut b = traces(
        vec![],
        vec![Span {
            trace_state: clean.into(),
            ..Default::default()
        }],
    );
    pass(&p, &mut b);
    assert_eq!(spans(&b)[0].trace_state, clean);
}

#[test]
fn schema_urls_holding_a_secret_are_emptied_and_severity_text_masked() {
    let (p, _) = build("{}");
    let record = LogRecord {
        severity_text: format!("WARN {EMAIL}"),
        ..Default::default()
    };
    let mut b = logs(vec![], vec![record]);
    let Signal::Logs(rl) = b.signal_mut() else {
        unreachable!()
    };
    rl[0].schema_url = "https://u:pw9urlpass@schemas.example/1.0".into();
    rl[0].scope_logs[0].schema_url = "https://opentelemetry.io/schemas/1.26.0".into();
    pass(&p, &mut b);
    let Signal::Logs(rl) = b.signal() else {
        unreachable!()
    };
    assert_eq!(rl[0].schema_url, "");
    assert_eq!(
        rl[0].scope_logs[0].schema_url,
        "https://opentelemetry.io/schemas/1.26.0"
    );
    assert_eq!(records(&b)[0].severity_text, format!("WARN {M}"));
}

#[test]
fn metric_name_description_and_unit_are_masked_the_name_with_name_characters() {
    let (p, m) = build("{}");
    let mut metric = sum_metric(vec![number(vec![], 1)]);
    metric.name = format!("logins/{EMAIL}");
    metric.description = format!("logins of {EMAIL}");
    metric.unit = format!("{{{JWT}}}");
    let mut b = batch(vec![], vec![metric]);
    pass(&p, &mut b);
    let out = &metrics_of(&b)[0];
    assert_eq!(out.name, "logins/REDACTED");
    assert_eq!(out.description, format!("logins of {M}"));
    assert_eq!(out.unit, format!("{{{M}}}"));
    assert_eq!(counted(&m, "blocked_value"), 3);
}

#[test]
fn a_renamed_metric_meeting_another_of_its_kind_is_merged_into_it() {
    let (p, m) = build("{}");
    let route = |r: &str| kv("http.route", s(r));
    let named = |name: &str, points| {
        let mut metric = sum_metric(points);
        metric.name = name.into();
        metric
    };
    let mut b = batch(
        vec![],
        vec![
            named("logins/REDACTED", vec![number(vec![route("/a")], 2)]),
            named(
                &format!("logins/{EMAIL}"),
                vec![number(vec![route("/a")], 3), number(vec![route("/b")], 4)],
            ),
        ],
    );
    pass(&p, &mut b);
    let out = metrics_of(&b);
    assert_eq!(out.len(), 1, "{out:?}");
    let Some(Data::Sum(sum)) = &out[0].data else {
        panic!("sum expected")
    };
    let values: Vec<_> = sum.data_points.iter().map(|p| p.value).collect();
    use weir_pipeline::otlp::metrics::v1::number_data_point::Value::AsInt;
    assert_eq!(values, [Some(AsInt(5)), Some(AsInt(4))]);
    assert_eq!(counted(&m, "series_merged"), 1);
}

#[test]
fn a_renamed_metric_meeting_one_of_another_type_is_dropped_and_reported() {
    let (p, m) = build("{}");
    let mut gauge = Metric {
        name: "logins/REDACTED".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![number(vec![], 1)],
        })),
        ..Default::default()
    };
    gauge.description = "a gauge".into();
    let mut sum = sum_metric(vec![number(vec![], 2), number(vec![], 3)]);
    sum.name = format!("logins/{EMAIL}");
    let mut b = batch(vec![], vec![gauge.clone(), sum]);
    let Outcome::Pass { rejected, message } = p.process(&mut b) else {
        panic!("refused")
    };
    assert_eq!(rejected, 2);
    assert!(message.is_some_and(|m| m.contains("2 data points dropped")));
    assert_eq!(metrics_of(&b), [gauge]);
    assert_eq!(counted(&m, "series_dropped"), 2);
    // Two metrics of one name as they came are left alone.
    let mut twice = vec![sum_metric(vec![number(vec![], 1)]); 2];
    twice[1].unit = "s".into();
    let mut b = batch(vec![], twice.clone());
    pass(&p, &mut b);
    assert_eq!(metrics_of(&b), twice);
}

#[test]
fn numbers_holding_a_card_number_become_the_mask() {
    let (p, m) = build("extra_allowed_keys: [app.size]");
    let span = Span {
        attributes: vec![
            kv("http.response.status_code", i(CARD)),
            kv("app.size", i(512)),
        ],
        ..Default::default()
    };
    let mut b = traces(vec![kv("service.version", d(CARD as f64))], vec![span]);
    pass(&p, &mut b);
    let out = spans(&b)[0];
    assert_eq!(get_str(&out.attributes, "http.response.status_code"), M);
    assert_eq!(get(&out.attributes, "app.size"), &i(512));
    assert_eq!(get_str(resource_attrs(&b), "service.version"), M);
    assert_eq!(counted(&m, "blocked_value"), 2);
    // In a log body, nested.
    let record = LogRecord {
        body: Some(map(vec![kv("n", arr(vec![i(CARD), i(7)]))])),
        ..Default::default()
    };
    let mut b = logs(vec![], vec![record]);
    pass(&p, &mut b);
    assert_eq!(
        records(&b)[0].body,
        Some(map(vec![kv("n", arr(vec![s(M), i(7)]))]))
    );
}

#[test]
fn a_data_point_attribute_holding_a_card_number_is_removed() {
    let (p, m) = build("{}");
    let code = |v| kv("http.response.status_code", v);
    let mut b = batch(
        vec![],
        vec![sum_metric(vec![
            number(vec![code(i(CARD))], 2),
            number(vec![code(i(4_111_111_111_111_112))], 3),
            number(vec![code(i(200))], 4),
        ])],
    );
    pass(&p, &mut b);
    let Some(Data::Sum(sum)) = &metrics_of(&b)[0].data else {
        panic!("sum expected")
    };
    let attrs: Vec<_> = sum.data_points.iter().map(|p| &p.attributes).collect();
    assert_eq!(
        attrs,
        [&vec![], &vec![code(i(200))]],
        "the two cards merged"
    );
    assert_eq!(counted(&m, "dropped"), 2);
    assert_eq!(counted(&m, "series_merged"), 1);
}

#[test]
fn redact_all_types_off_leaves_numbers_as_the_collector_does() {
    let (p, m) = build("redact_all_types: false");
    let span = Span {
        attributes: vec![kv("http.response.status_code", i(CARD))],
        ..Default::default()
    };
    let mut b = traces(vec![], vec![span]);
    pass(&p, &mut b);
    assert_eq!(
        get(&spans(&b)[0].attributes, "http.response.status_code"),
        &i(CARD)
    );
    assert_eq!(counted(&m, "blocked_value"), 0);
    assert!(RedactionConfig::default().redact_all_types, "on by default");
}
