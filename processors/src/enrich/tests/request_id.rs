//! The request id on spans and log records: client-supplied or generated, at record or resource
//! level, beside an application's own, and read back by the correlation helper.

use weir_pipeline::correlation;
use weir_pipeline::otlp::logs::v1::LogRecord;
use weir_pipeline::otlp::trace::v1::Span;

use super::super::config::Level;
use super::*;

fn span(attrs: Vec<KeyValue>) -> Span {
    Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        attributes: attrs,
        ..Default::default()
    }
}

fn log(attrs: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        attributes: attrs,
        ..Default::default()
    }
}

#[test]
fn client_request_id_goes_on_every_span_and_log_record() {
    let (e, _) = enrich(&EnrichConfig::default());
    let mut traces = spans_batch(
        ctx(Some("client-7")),
        None,
        vec![span(vec![kv("http.route", "/a")]), span(vec![])],
    );
    run(&e, &mut traces);
    for s in spans(&traces) {
        assert_eq!(values(&s.attributes, "request.id"), ["client-7"]);
        assert_eq!(values(&s.attributes, "weir.request.id"), Vec::<&str>::new());
    }
    assert_eq!(values(&spans(&traces)[0].attributes, "http.route"), ["/a"]);
    assert!(
        resource_of(&traces).is_none(),
        "no resource created at record level"
    );

    let mut batch = logs_batch(ctx(Some("client-7")), None, vec![log(vec![]); 3]);
    run(&e, &mut batch);
    for l in logs(&batch) {
        assert_eq!(values(&l.attributes, "request.id"), ["client-7"]);
        assert_eq!(correlation::of_log(l).request_id, Some("client-7"));
    }
}

#[test]
fn a_generated_request_id_goes_on_records_too() {
    let (e, _) = enrich(&EnrichConfig::default());
    let ctx = ctx(None);
    assert!(ctx.request_id.is_generated());
    let generated = ctx.request_id.as_str().to_owned();
    let mut batch = logs_batch(ctx, None, vec![log(vec![])]);
    run(&e, &mut batch);
    assert_eq!(
        values(&logs(&batch)[0].attributes, "request.id"),
        [generated.as_str()]
    );
}

#[test]
fn an_application_request_id_is_kept_and_weirs_goes_beside_it() {
    let (e, _) = enrich(&EnrichConfig::default());
    let mut batch = spans_batch(
        ctx(Some("export-1")),
        None,
        vec![
            span(vec![kv("request.id", "app-42")]),
            span(vec![kv("request.id", "export-1")]),
            span(vec![
                kv("request.id", "app-43"),
                kv("weir.request.id", "older-hop"),
            ]),
        ],
    );
    run(&e, &mut batch);
    let s = spans(&batch);
    assert_eq!(values(&s[0].attributes, "request.id"), ["app-42"]);
    assert_eq!(values(&s[0].attributes, "weir.request.id"), ["export-1"]);
    assert_eq!(
        correlation::of_span(&s[0]).request_id,
        Some("app-42"),
        "exporters link on the application's id first"
    );
    assert_eq!(s[1].attributes.len(), 1, "same id: nothing added");
    assert_eq!(values(&s[2].attributes, "request.id"), ["app-43"]);
    assert_eq!(
        values(&s[2].attributes, "weir.request.id"),
        ["export-1"],
        "weir's own key holds this hop's id"
    );
}

#[test]
fn running_twice_adds_nothing_more() {
    let (e, _) = enrich(&EnrichConfig::default());
    let mut batch = logs_batch(
        ctx(Some("r")),
        None,
        vec![log(vec![]), log(vec![kv("request.id", "app")])],
    );
    run(&e, &mut batch);
    let once = batch.signal().clone();
    run(&e, &mut batch);
    assert_eq!(*batch.signal(), once);
}

#[test]
fn an_application_id_on_the_resource_is_inherited_by_its_records() {
    let (e, _) = enrich(&EnrichConfig::default());
    let mut batch = logs_batch(
        ctx(Some("export-2")),
        resource(vec![kv("request.id", "app-on-resource")]),
        vec![log(vec![])],
    );
    run(&e, &mut batch);
    let attrs = &logs(&batch)[0].attributes;
    assert_eq!(values(attrs, "request.id"), Vec::<&str>::new());
    assert_eq!(values(attrs, "weir.request.id"), ["export-2"]);
}

#[test]
fn resource_level_writes_once_per_resource_and_not_on_records() {
    let mut cfg = EnrichConfig::default();
    cfg.request_id.level = Level::Resource;
    let (e, _) = enrich(&cfg);

    let mut batch = logs_batch(ctx(Some("r-9")), None, vec![log(vec![]); 2]);
    run(&e, &mut batch);
    let res = resource_of(&batch).expect("resource created");
    assert_eq!(values(&res.attributes, "request.id"), ["r-9"]);
    assert!(logs(&batch).iter().all(|l| l.attributes.is_empty()));
    let Signal::Logs(rl) = batch.signal() else {
        unreachable!()
    };
    assert_eq!(
        correlation::of_log_in(&batch.ctx, rl[0].resource.as_ref(), &logs(&batch)[0]).request_id,
        Some("r-9")
    );

    let mut batch = spans_batch(
        ctx(Some("r-10")),
        resource(vec![kv("service.name", "svc"), kv("request.id", "app")]),
        vec![span(vec![])],
    );
    run(&e, &mut batch);
    let res = resource_of(&batch).expect("resource");
    assert_eq!(values(&res.attributes, "request.id"), ["app"]);
    assert_eq!(values(&res.attributes, "weir.request.id"), ["r-10"]);
    assert!(spans(&batch)[0].attributes.is_empty());
}

#[test]
fn a_custom_key_is_written_and_exporters_still_find_the_request() {
    let mut cfg = EnrichConfig::default();
    cfg.request_id.key = "http.request.header.x-request-id".into();
    let (e, _) = enrich(&cfg);
    let mut batch = logs_batch(ctx(Some("r-11")), None, vec![log(vec![])]);
    run(&e, &mut batch);
    let l = &logs(&batch)[0];
    assert_eq!(
        values(&l.attributes, "http.request.header.x-request-id"),
        ["r-11"]
    );
    assert_eq!(
        correlation::of_log_in(&batch.ctx, None, l).request_id,
        Some("r-11"),
        "the helper falls back to the request's own id"
    );
}

#[test]
fn disabled_request_id_leaves_records_alone() {
    let mut cfg = EnrichConfig::default();
    cfg.request_id.enabled = false;
    let (e, _) = enrich(&cfg);
    let mut batch = spans_batch(ctx(Some("r")), None, vec![span(vec![])]);
    run(&e, &mut batch);
    assert!(spans(&batch)[0].attributes.is_empty());
}
