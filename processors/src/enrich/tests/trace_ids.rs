//! Trace-id promotion onto log records: from each source, in order, with invalid values counted
//! and left alone.

use weir_pipeline::TraceParent;
use weir_pipeline::otlp::common::v1::KeyValueList;

use super::*;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn hex(b: &[u8]) -> String {
    const_hex::encode(b)
}

fn log(attrs: Vec<KeyValue>, body: Option<AnyValue>) -> LogRecord {
    LogRecord {
        attributes: attrs,
        body,
        ..Default::default()
    }
}

/// Runs the default processor (or `cfg`) on one log record; returns it and the registry.
fn promote_with(cfg: &EnrichConfig, ctx: RequestContext, l: LogRecord) -> (LogRecord, Metrics) {
    let (e, metrics) = enrich(cfg);
    let mut batch = logs_batch(ctx, None, vec![l]);
    run(&e, &mut batch);
    (logs(&batch)[0].clone(), metrics)
}

fn promote(l: LogRecord) -> (LogRecord, Metrics) {
    promote_with(&EnrichConfig::default(), ctx(Some("r")), l)
}

#[test]
fn promoted_from_snake_and_camel_case_attributes() {
    for (t, s) in [("trace_id", "span_id"), ("traceId", "spanId")] {
        let (l, m) = promote(log(vec![kv(t, TRACE), kv(s, SPAN), kv("k", "v")], None));
        assert_eq!(hex(&l.trace_id), TRACE, "{t}");
        assert_eq!(hex(&l.span_id), SPAN, "{s}");
        assert_eq!(
            values(&l.attributes, t),
            [TRACE],
            "kept unless asked to remove"
        );
        assert_eq!(invalid(&m, "attributes"), 0);
    }
    let (l, _) = promote(log(vec![kv("TRACE_ID", &TRACE.to_uppercase())], None));
    assert!(l.trace_id.is_empty(), "keys are case-sensitive");
    let (l, _) = promote(log(vec![kv("trace_id", &TRACE.to_uppercase())], None));
    assert_eq!(hex(&l.trace_id), TRACE, "upper-case hex is fine");
    assert!(l.span_id.is_empty());
}

#[test]
fn promoted_from_a_traceparent_attribute_with_its_flags() {
    let (l, _) = promote(log(vec![kv("traceparent", TRACEPARENT)], None));
    assert_eq!(hex(&l.trace_id), TRACE);
    assert_eq!(hex(&l.span_id), SPAN);
    assert_eq!(l.flags, 1);
}

#[test]
fn promoted_from_bytes_values() {
    let bytes = |b: Vec<u8>| AnyValue {
        value: Some(Value::BytesValue(b)),
    };
    let (l, _) = promote(log(
        vec![
            kv_any("trace_id", bytes(vec![9; 16])),
            kv_any("span_id", bytes(vec![8; 8])),
        ],
        None,
    ));
    assert_eq!(l.trace_id, vec![9; 16]);
    assert_eq!(l.span_id, vec![8; 8]);
}

#[test]
fn a_record_with_a_valid_trace_id_is_left_alone() {
    let mut original = log(vec![kv("trace_id", TRACE), kv("span_id", SPAN)], None);
    original.trace_id = vec![5; 16];
    original.span_id = vec![6; 8];
    let (l, m) = promote(original);
    assert_eq!((l.trace_id, l.span_id), (vec![5; 16], vec![6; 8]));
    assert_eq!(invalid(&m, "attributes"), 0, "not even looked at");
}

#[test]
fn an_all_zero_trace_id_counts_as_none() {
    let mut original = log(vec![kv("trace_id", TRACE)], None);
    original.trace_id = vec![0; 16];
    let (l, _) = promote(original);
    assert_eq!(hex(&l.trace_id), TRACE);
}

#[test]
fn invalid_attribute_ids_are_left_alone_and_counted() {
    for bad in [
        "4bf92f3577b34da6a3ce929d0e0e473",   // 31 digits
        "4bf92f3577b34da6a3ce929d0e0e47360", // 33 digits
        "00000000000000000000000000000000",  // all zero
        "4bf92f3577b34da6a3ce929d0e0e47zz",  // not hex
        "",
    ] {
        let (l, m) = promote(log(vec![kv("trace_id", bad), kv("span_id", SPAN)], None));
        assert!(l.trace_id.is_empty() && l.span_id.is_empty(), "{bad:?}");
        assert_eq!(values(&l.attributes, "trace_id"), [bad]);
        assert_eq!(invalid(&m, "attributes"), 1, "{bad:?}");
        assert_eq!(invalid(&m, "body"), 0);
    }
    let (l, m) = promote(log(
        vec![kv_any(
            "trace_id",
            AnyValue {
                value: Some(Value::IntValue(7)),
            },
        )],
        None,
    ));
    assert!(l.trace_id.is_empty());
    assert_eq!(invalid(&m, "attributes"), 1, "a number is not an id");

    // A valid trace id with a bad span id: the trace id alone, the span id counted.
    let (l, m) = promote(log(vec![kv("trace_id", TRACE), kv("span_id", "xyz")], None));
    assert_eq!(hex(&l.trace_id), TRACE);
    assert!(l.span_id.is_empty());
    assert_eq!(invalid(&m, "attributes"), 1);

    let (l, m) = promote(log(vec![kv("traceparent", "00-0-0-01")], None));
    assert!(l.trace_id.is_empty());
    assert_eq!(invalid(&m, "attributes"), 1);
}

#[test]
fn a_bad_trace_id_key_falls_back_to_traceparent_then_body() {
    let (l, m) = promote(log(
        vec![kv("trace_id", "nope"), kv("traceparent", TRACEPARENT)],
        None,
    ));
    assert_eq!(hex(&l.trace_id), TRACE);
    assert_eq!(invalid(&m, "attributes"), 1);

    let body = format!(r#"{{"msg":"hi","trace_id":"{TRACE}"}}"#);
    let (l, m) = promote(log(vec![kv("trace_id", "nope")], Some(string(&body))));
    assert_eq!(hex(&l.trace_id), TRACE);
    assert_eq!(invalid(&m, "attributes"), 1);
}

#[test]
fn promoted_from_a_json_body_which_stays_as_it_was() {
    for body in [
        format!(r#"{{"level":"info","msg":"x","trace_id":"{TRACE}","span_id":"{SPAN}"}}"#),
        format!(
            r#"  {{"nested":{{"a":[1,{{"b":null}}]}},"traceId":"{TRACE}","spanId":"{SPAN}","n":1.5}}"#
        ),
        format!(r#"{{"traceparent":"{TRACEPARENT}","ok":true}}"#),
        // Escapes in the value are decoded (\u0034 is '4').
        format!(
            r#"{{"trace_id":"\u0034{}","span_id":"{SPAN}"}}"#,
            &TRACE[1..]
        ),
    ] {
        let (l, m) = promote(log(vec![], Some(string(&body))));
        assert_eq!(hex(&l.trace_id), TRACE, "{body}");
        assert_eq!(hex(&l.span_id), SPAN, "{body}");
        assert_eq!(l.body, Some(string(&body)), "body unchanged");
        assert_eq!(invalid(&m, "body"), 0);
    }
}

#[test]
fn json_bodies_that_give_nothing() {
    for body in [
        format!(r#"{{"msg":"x","ctx":{{"trace_id":"{TRACE}"}}}}"#), // nested: not looked at
        format!(r#"trace_id={TRACE} msg=x"#),                       // not JSON
        format!(r#"["trace_id","{TRACE}"]"#),                       // not an object
        format!(r#"{{"trace_id":"{TRACE}""#),                       // truncated
        format!(r#"{{"trace_id":"{TRACE}"}} trailing"#),            // more than one value
    ] {
        let (l, m) = promote(log(vec![], Some(string(&body))));
        assert!(l.trace_id.is_empty(), "{body}");
        assert_eq!(invalid(&m, "body"), 0, "{body}");
    }
    let (l, m) = promote(log(
        vec![],
        Some(string(r#"{"trace_id":"0000","span_id":"zz"}"#)),
    ));
    assert!(l.trace_id.is_empty());
    assert_eq!(
        invalid(&m, "body"),
        1,
        "the bad trace id (a span id alone is not read)"
    );

    let mut cfg = EnrichConfig::default();
    cfg.trace_ids.from_body = false;
    let body = format!(r#"{{"trace_id":"{TRACE}"}}"#);
    let (l, _) = promote_with(&cfg, ctx(None), log(vec![], Some(string(&body))));
    assert!(l.trace_id.is_empty(), "from_body: false");
}

#[test]
fn promoted_from_a_map_body() {
    let body = AnyValue {
        value: Some(Value::KvlistValue(KeyValueList {
            values: vec![kv("message", "m"), kv("traceId", TRACE), kv("spanId", SPAN)],
        })),
    };
    let (l, _) = promote(log(vec![], Some(body)));
    assert_eq!(hex(&l.trace_id), TRACE);
    assert_eq!(hex(&l.span_id), SPAN);
}

#[test]
fn the_request_traceparent_is_used_only_when_asked() {
    let mut with_header = ctx(Some("r"));
    with_header.traceparent =
        TraceParent::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    let (l, _) = promote_with(
        &EnrichConfig::default(),
        with_header.clone(),
        log(vec![], None),
    );
    assert!(l.trace_id.is_empty(), "off by default");

    let mut cfg = EnrichConfig::default();
    cfg.trace_ids.from_request_traceparent = true;
    let (l, _) = promote_with(&cfg, with_header.clone(), log(vec![], None));
    assert_eq!(hex(&l.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&l.span_id), "b7ad6b7169203331");
    assert_eq!(l.flags, 1);

    // The record's own sources come first.
    let (l, _) = promote_with(&cfg, with_header, log(vec![kv("trace_id", TRACE)], None));
    assert_eq!(hex(&l.trace_id), TRACE);
}

#[test]
fn promoted_attributes_can_be_removed() {
    let mut cfg = EnrichConfig::default();
    cfg.trace_ids.remove_promoted_attributes = true;
    let attrs = vec![
        kv("a", "1"),
        kv("trace_id", TRACE),
        kv("b", "2"),
        kv("span_id", SPAN),
    ];
    let (l, _) = promote_with(&cfg, ctx(Some("r")), log(attrs, None));
    assert_eq!(hex(&l.trace_id), TRACE);
    let keys: Vec<&str> = l.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["a", "b", "request.id"]);

    let attrs = vec![kv("trace_id", TRACE), kv("span_id", "bad")];
    let (l, _) = promote_with(&cfg, ctx(Some("r")), log(attrs, None));
    assert_eq!(
        values(&l.attributes, "span_id"),
        ["bad"],
        "an invalid id stays"
    );
    assert_eq!(values(&l.attributes, "trace_id"), Vec::<&str>::new());
}

#[test]
fn custom_keys_replace_the_defaults() {
    let mut cfg = EnrichConfig::default();
    cfg.trace_ids.trace_id_keys = vec!["otelTraceID".into()];
    cfg.trace_ids.span_id_keys = vec!["otelSpanID".into()];
    let attrs = vec![
        kv("trace_id", "ffffffffffffffffffffffffffffffff"),
        kv("otelTraceID", TRACE),
        kv("otelSpanID", SPAN),
    ];
    let (l, _) = promote_with(&cfg, ctx(None), log(attrs, None));
    assert_eq!(hex(&l.trace_id), TRACE);
    assert_eq!(hex(&l.span_id), SPAN);
}

#[test]
fn the_first_configured_key_wins_and_disabled_means_untouched() {
    let attrs = vec![
        kv("traceId", "11111111111111111111111111111111"),
        kv("trace_id", TRACE),
    ];
    let (l, _) = promote(log(attrs.clone(), None));
    assert_eq!(hex(&l.trace_id), TRACE, "trace_id is listed before traceId");

    let mut cfg = EnrichConfig::default();
    cfg.trace_ids.enabled = false;
    let (l, _) = promote_with(&cfg, ctx(None), log(attrs, None));
    assert!(l.trace_id.is_empty());
}
