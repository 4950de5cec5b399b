//! Property test of the fields outside attribute lists: for random text with planted secrets
//! in a scope name and version, a span's and a link's `trace_state`, a log's `severity_text`,
//! `schema_url`s, a metric's name, description and unit, and random integers (card numbers
//! among them) on data points, no unmasked match of a blocked-value pattern survives, a
//! `trace_state` keeps only members it had, and a data point keeps no integer holding a card
//! number.

use proptest::prelude::*;
use weir_pipeline::otlp::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weir_pipeline::otlp::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric::Data,
};
use weir_pipeline::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
use weir_pipeline::{Batch, Metrics, Processor, RequestContext, Signal};

use super::prop_tests::{
    CARDS, NAME_MASK, PATTERNS, check_ints, check_strings, check_strings_with, text,
};
use super::{Redaction, RedactionConfig};

fn scope(name: &str, version: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.into(),
        version: version.into(),
        ..Default::default()
    })
}

fn members(state: &str) -> Vec<&str> {
    state
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect()
}

fn int(v: i64) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::IntValue(v)),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn no_secret_survives_in_fields_outside_attributes(
        scope_name in text(),
        version in text(),
        states in prop::collection::vec(text(), 1..4),
        severity in text(),
        url in text(),
        metric_text in prop::collection::vec(text(), 3),
        number in prop_oneof![any::<i64>(), prop::sample::select(CARDS)],
    ) {
        let p = Redaction::new("redaction", &RedactionConfig::default(), Metrics::new())
            .expect("valid");
        let patterns = &*PATTERNS;
        let state: String = states
            .iter()
            .enumerate()
            .map(|(i, t)| format!("k{i}={t}"))
            .collect::<Vec<_>>()
            .join(",");

        let span_in = Span {
            trace_state: state.clone(),
            links: vec![span::Link { trace_state: state.clone(), ..Default::default() }],
            ..Default::default()
        };
        let mut traces = Batch::new(RequestContext::for_tests(), Signal::Traces(vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                scope: scope(&scope_name, &version),
                spans: vec![span_in],
                schema_url: url.clone(),
            }],
            schema_url: url.clone(),
            ..Default::default()
        }]));
        p.process(&mut traces);
        let Signal::Traces(rs) = traces.signal() else { unreachable!() };
        let ss = &rs[0].scope_spans[0];
        let sc = ss.scope.as_ref().expect("scope kept");
        let out = &ss.spans[0];
        check_strings(
            &[&sc.name, &sc.version, &out.trace_state, &out.links[0].trace_state,
              &ss.schema_url, &rs[0].schema_url],
            patterns,
        )?;
        for kept in [&out.trace_state, &out.links[0].trace_state] {
            for m in members(kept) {
                prop_assert!(members(&state).contains(&m), "{m:?} was not a member of {state:?}");
            }
        }
        for u in [&ss.schema_url, &rs[0].schema_url] {
            prop_assert!(u.is_empty() || *u == url, "a schema_url is kept whole or emptied");
        }

        let log_in = LogRecord { severity_text: severity.clone(), ..Default::default() };
        let mut logs = Batch::new(RequestContext::for_tests(), Signal::Logs(vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                scope: scope(&scope_name, &version),
                log_records: vec![log_in],
                ..Default::default()
            }],
            ..Default::default()
        }]));
        p.process(&mut logs);
        let Signal::Logs(rl) = logs.signal() else { unreachable!() };
        check_strings(&[&rl[0].scope_logs[0].log_records[0].severity_text], patterns)?;

        let point = NumberDataPoint {
            attributes: vec![KeyValue {
                key: "http.response.status_code".into(),
                value: int(number),
                ..Default::default()
            }],
            ..Default::default()
        };
        let metric = Metric {
            name: metric_text[0].clone(),
            description: metric_text[1].clone(),
            unit: metric_text[2].clone(),
            data: Some(Data::Gauge(Gauge { data_points: vec![point] })),
            ..Default::default()
        };
        let mut metrics = Batch::new(RequestContext::for_tests(), Signal::Metrics(vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics { metrics: vec![metric], ..Default::default() }],
            ..Default::default()
        }]));
        p.process(&mut metrics);
        let Signal::Metrics(rm) = metrics.signal() else { unreachable!() };
        let out = &rm[0].scope_metrics[0].metrics[0];
        check_strings_with(&[&out.name], patterns, NAME_MASK)?;
        check_strings(&[&out.description, &out.unit], patterns)?;
        let Some(Data::Gauge(g)) = &out.data else { unreachable!() };
        for kv in &g.data_points[0].attributes {
            check_ints(kv.value.as_ref().expect("value"))?;
        }
    }
}
