//! Attributes, values and strings of spans and log records.

use weir_pipeline::otlp::common::v1::any_value::Value;
use weir_pipeline::otlp::logs::v1::LogRecord;
use weir_pipeline::otlp::trace::v1::{Span, Status, span};

use super::*;

const JWT: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";

#[test]
fn a_key_that_is_not_allowed_keeps_its_key_and_gets_the_mask_whatever_its_type() {
    let (p, m) = build("{}");
    let mut b = traces(
        vec![kv("service.name", s("checkout")), kv("team", s("payments"))],
        vec![Span {
            name: "GET /cart".into(),
            attributes: vec![
                kv("http.route", s("/cart/{id}")),
                kv("http.response.status_code", i(200)),
                kv("customer.note", s("leave at the door")),
                kv("customer.age", i(42)),
                kv("customer.profile", map(vec![kv("city", s("Lyon"))])),
            ],
            ..Default::default()
        }],
    );
    pass(&p, &mut b);
    let span = spans(&b)[0];
    assert_eq!(get_str(&span.attributes, "http.route"), "/cart/{id}");
    assert_eq!(get(&span.attributes, "http.response.status_code"), &i(200));
    for key in ["customer.note", "customer.age", "customer.profile"] {
        assert_eq!(get_str(&span.attributes, key), M, "{key}");
    }
    assert_eq!(span.attributes.len(), 5, "no attribute removed or added");
    assert_eq!(get_str(resource_attrs(&b), "service.name"), "checkout");
    assert_eq!(get_str(resource_attrs(&b), "team"), M);
    assert_eq!(span.name, "GET /cart");
    assert_eq!(counted(&m, "not_allowed"), 4);
}

#[test]
fn blocked_keys_are_masked_even_when_allowed_and_at_any_depth() {
    let (p, m) = build("allowed_keys: [password, db.password, http.request.header.*, payload]");
    let mut b = traces(
        vec![],
        vec![Span {
            attributes: vec![
                kv("password", s("hunter2")),
                kv("db.password", i(1234)),
                kv("http.request.header.authorization", s("opaque-credential")),
                kv(
                    "payload",
                    map(vec![
                        kv("user", s("ok")),
                        kv("items", arr(vec![map(vec![kv("api_key", s("k-123"))])])),
                        kv("session", map(vec![kv("refresh_token", s("r-456"))])),
                    ]),
                ),
            ],
            ..Default::default()
        }],
    );
    pass(&p, &mut b);
    let a = &spans(&b)[0].attributes;
    assert_eq!(get_str(a, "password"), M);
    assert_eq!(get_str(a, "db.password"), M);
    assert_eq!(get_str(a, "http.request.header.authorization"), M);
    let expected = map(vec![
        kv("user", s("ok")),
        kv("items", arr(vec![map(vec![kv("api_key", s(M))])])),
        kv("session", map(vec![kv("refresh_token", s(M))])),
    ]);
    assert_eq!(get(a, "payload"), &expected);
    assert_eq!(counted(&m, "blocked_key"), 5);
}

#[test]
fn blocked_values_are_masked_in_every_string_that_stays() {
    let (p, m) = build("{}");
    let mut b = traces(
        vec![kv("service.name", s("api alice@example.com"))],
        vec![Span {
            name: format!("login {JWT}"),
            attributes: vec![kv("url.path", s("/reset?token=abc123&lang=fr"))],
            events: vec![span::Event {
                name: "card 4111 1111 1111 1111".into(),
                attributes: vec![
                    kv("exception.message", s("denied for bob@example.org")),
                    kv(
                        "exception.stacktrace",
                        s("Traceback:\n  auth(header='Bearer sk9a8b7c6d5e4f')\nValueError"),
                    ),
                ],
                ..Default::default()
            }],
            links: vec![span::Link {
                attributes: vec![kv("code.function", s("aws AKIAIOSFODNN7EXAMPLE"))],
                ..Default::default()
            }],
            status: Some(Status {
                message: "db at postgres://app:s3cr3t@db:5432 down".into(),
                code: 2,
            }),
            ..Default::default()
        }],
    );
    pass(&p, &mut b);
    let span = spans(&b)[0];
    assert_eq!(
        get_str(resource_attrs(&b), "service.name"),
        format!("api {M}")
    );
    assert_eq!(span.name, format!("login {M}"));
    assert_eq!(
        get_str(&span.attributes, "url.path"),
        format!("/reset?token={M}&lang=fr")
    );
    let e = &span.events[0];
    assert_eq!(e.name, format!("card {M}"));
    assert_eq!(
        get_str(&e.attributes, "exception.message"),
        format!("denied for {M}")
    );
    assert_eq!(
        get_str(&e.attributes, "exception.stacktrace"),
        format!("Traceback:\n  auth(header='Bearer {M}')\nValueError")
    );
    assert_eq!(
        get_str(&span.links[0].attributes, "code.function"),
        format!("aws {M}")
    );
    let status = span.status.as_ref().expect("status");
    assert_eq!(
        status.message,
        format!("db at postgres://app:{M}@db:5432 down")
    );
    assert_eq!(counted(&m, "blocked_value"), 8);
}

#[test]
fn log_bodies_stay_with_blocked_keys_and_values_masked() {
    let (p, _) = build("{}");
    let body = map(vec![
        kv("message", s("user bob@example.org logged in")),
        kv("password", s("hunter2")),
        kv(
            "request",
            map(vec![kv("headers", arr(vec![s(&format!("Bearer {JWT}"))]))]),
        ),
        kv("attempts", i(3)),
    ]);
    let mut b = logs(
        vec![],
        vec![
            LogRecord {
                body: Some(body),
                ..Default::default()
            },
            LogRecord {
                body: Some(s(
                    r#"POST /login {"user":"bob","password":"correct horse"}"#,
                )),
                event_name: "login for bob@example.org".into(),
                ..Default::default()
            },
        ],
    );
    pass(&p, &mut b);
    let r = records(&b);
    let expected = map(vec![
        kv("message", s(&format!("user {M} logged in"))),
        kv("password", s(M)),
        kv(
            "request",
            map(vec![kv("headers", arr(vec![s(&format!("Bearer {M}"))]))]),
        ),
        kv("attempts", i(3)),
    ]);
    assert_eq!(r[0].body.as_ref(), Some(&expected));
    assert_eq!(
        r[1].body.as_ref(),
        Some(&s(&format!(
            r#"POST /login {{"user":"bob","password":"{M}"}}"#
        )))
    );
    assert_eq!(r[1].event_name, format!("login for {M}"));
}

#[test]
fn an_empty_allowlist_fails_closed_and_allow_all_keys_keeps_only_the_rules() {
    let (p, _) = build("allowed_keys: []");
    let mut b = traces(
        vec![kv("service.name", s("checkout"))],
        vec![Span {
            attributes: vec![kv("http.route", s("/cart"))],
            ..Default::default()
        }],
    );
    pass(&p, &mut b);
    assert_eq!(get_str(resource_attrs(&b), "service.name"), M);
    assert_eq!(get_str(&spans(&b)[0].attributes, "http.route"), M);

    let (p, _) = build("allow_all_keys: true");
    let mut b = traces(
        vec![],
        vec![Span {
            attributes: vec![
                kv("anything", s("kept")),
                kv("user.password", s("x")),
                kv("note", s("mail carol@example.com")),
            ],
            ..Default::default()
        }],
    );
    pass(&p, &mut b);
    let a = &spans(&b)[0].attributes;
    assert_eq!(get_str(a, "anything"), "kept");
    assert_eq!(get_str(a, "user.password"), M);
    assert_eq!(get_str(a, "note"), format!("mail {M}"));
}

#[test]
fn prefixes_extra_and_ignored_keys() {
    let (p, _) = build("extra_allowed_keys: [app.*]\nignored_keys: [debug.raw]\nmask: '***'");
    let mut b = traces(
        vec![kv("service.name", s("svc"))],
        vec![Span {
            attributes: vec![
                kv("app.cart.size", i(3)),
                kv("app", s("no prefix match")),
                kv("debug.raw", s("token=abc alice@example.com")),
                kv("app.api_key", s("blocked anyway")),
            ],
            ..Default::default()
        }],
    );
    pass(&p, &mut b);
    let a = &spans(&b)[0].attributes;
    assert_eq!(get(a, "app.cart.size"), &i(3));
    assert_eq!(get_str(a, "app"), "***");
    assert_eq!(get_str(a, "debug.raw"), "token=abc alice@example.com");
    assert_eq!(get_str(a, "app.api_key"), "***");
    assert_eq!(
        get_str(resource_attrs(&b), "service.name"),
        "svc",
        "defaults still apply"
    );
}

#[test]
fn allowed_values_exempt_only_whole_values() {
    let (p, _) = build(r#"allowed_values: ['.+@example\.com']"#);
    let mut b = traces(
        vec![],
        vec![Span {
            attributes: vec![
                kv("exception.message", s("ops@example.com")),
                kv("exception.type", s("ops@example.com token=abc")),
            ],
            ..Default::default()
        }],
    );
    pass(&p, &mut b);
    let a = &spans(&b)[0].attributes;
    assert_eq!(get_str(a, "exception.message"), "ops@example.com");
    assert_eq!(get_str(a, "exception.type"), format!("{M} token={M}"));
}

#[test]
fn keys_the_config_does_not_name_are_scanned_too() {
    let (p, _) = build("{}");
    let mut b = traces(
        vec![],
        vec![Span {
            attributes: vec![kv("seen/alice@example.com", i(1))],
            ..Default::default()
        }],
    );
    pass(&p, &mut b);
    assert_eq!(spans(&b)[0].attributes[0].key, format!("seen/{M}"));
}

#[test]
fn hashed_keys_get_a_keyed_hash_that_stays_joinable() {
    let yaml = "hash_function: hmac-sha256\nhash_key: 0123456789abcdef0123\nhashed_keys: [user.email, enduser.*]";
    let (p, m) = build(yaml);
    let run = |p: &Redaction| {
        let mut b = traces(
            vec![],
            vec![Span {
                attributes: vec![
                    kv("user.email", s("alice@example.com")),
                    kv("enduser.id", i(7)),
                    kv("profile", s("x")),
                ],
                ..Default::default()
            }],
        );
        pass(p, &mut b);
        spans(&b)[0].attributes.clone()
    };
    let a = run(&p);
    let h = get_str(&a, "user.email");
    assert_eq!(h.len(), 64);
    assert!(
        h.bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_ne!(get_str(&a, "enduser.id"), h);
    assert_eq!(get_str(&a, "profile"), M);
    assert_eq!(run(&build(yaml).0), a, "the same key gives the same hash");
    let other = build(&yaml.replace("0123456789abcdef0123", "another-key-of-20-bytes")).0;
    assert_ne!(
        get_str(&run(&other), "user.email"),
        h,
        "another key, another hash"
    );
    assert_eq!(counted(&m, "hashed"), 2);
}

#[test]
fn summary_attributes_and_relayed_records_are_not_counted_twice() {
    let (p, m) = build("summary: debug");
    let mut b = traces(
        vec![],
        vec![
            Span {
                attributes: vec![kv("b.secret", s("x")), kv("a.note", s("y"))],
                ..Default::default()
            },
            Span {
                attributes: vec![kv("http.route", s("/ok"))],
                ..Default::default()
            },
        ],
    );
    pass(&p, &mut b);
    let changed = &spans(&b)[0].attributes;
    assert_eq!(get(changed, "redaction.masked.count"), &i(2));
    assert_eq!(get_str(changed, "redaction.masked.keys"), "a.note,b.secret");
    assert_eq!(
        spans(&b)[1].attributes.len(),
        1,
        "unchanged records get no summary"
    );

    let again = b.clone();
    let mut b2 = again;
    let (relay, relay_metrics) = build("summary: debug");
    pass(&relay, &mut b2);
    assert_eq!(
        spans(&b2)[0].attributes,
        *changed,
        "a second weir changes nothing"
    );
    assert_eq!(
        relay_metrics.value(
            weir_pipeline::metrics::catalogue::REDACTED_VALUES,
            &["redaction", "not_allowed"]
        ),
        Some(0)
    );
    assert_eq!(counted(&m, "not_allowed") + counted(&m, "blocked_key"), 2);

    let (info, _) = build("summary: info");
    let mut b = traces(
        vec![],
        vec![Span {
            attributes: vec![kv("x", s("y"))],
            ..Default::default()
        }],
    );
    pass(&info, &mut b);
    let a = &spans(&b)[0].attributes;
    assert_eq!(get(a, "redaction.masked.count"), &i(1));
    assert!(a.iter().all(|kv| kv.key != "redaction.masked.keys"));
}

#[test]
fn a_batch_with_nothing_to_redact_is_left_byte_for_byte() {
    let (p, m) = build("{}");
    let mut b = traces(
        vec![kv("service.name", s("svc")), kv("host.name", s("h1"))],
        vec![Span {
            name: "GET /health".into(),
            attributes: vec![
                kv("http.route", s("/health")),
                kv("http.response.status_code", i(200)),
            ],
            ..Default::default()
        }],
    );
    let before = b.signal().clone();
    pass(&p, &mut b);
    assert_eq!(*b.signal(), before);
    assert!(matches!(
        &spans(&b)[0].attributes[0].value,
        Some(AnyValue {
            value: Some(Value::StringValue(_))
        })
    ));
    assert_eq!(counted(&m, "not_allowed"), 0);
}
