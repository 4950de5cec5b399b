//! The per-thread memo of verdicts must never change an answer, only its cost.

use weir_pipeline::otlp::trace::v1::Span;

use super::*;

fn one_span(attributes: Vec<KeyValue>) -> Batch {
    traces(
        vec![],
        vec![Span {
            attributes,
            ..Default::default()
        }],
    )
}

#[test]
fn a_rebuilt_processor_with_other_rules_does_not_reuse_verdicts() {
    let (strict, _) = build("{}");
    let (lenient, _) = build("extra_allowed_keys: [app.*]");
    for _ in 0..3 {
        let mut b = one_span(vec![kv("app.cart", s("3 items"))]);
        pass(&strict, &mut b);
        assert_eq!(get_str(&spans(&b)[0].attributes, "app.cart"), M);
        let mut b = one_span(vec![kv("app.cart", s("3 items"))]);
        pass(&lenient, &mut b);
        assert_eq!(get_str(&spans(&b)[0].attributes, "app.cart"), "3 items");
    }
}

#[test]
fn remembered_clean_values_stay_and_secrets_are_masked_every_time() {
    let (p, m) = build("{}");
    for round in 1..=5 {
        let mut b = one_span(vec![
            kv("http.route", s("/cart")),
            kv("url.path", s("/u/carol@example.com")),
            kv("server.address", s("carol@example.com")),
        ]);
        pass(&p, &mut b);
        let a = &spans(&b)[0].attributes;
        assert_eq!(get_str(a, "http.route"), "/cart", "round {round}");
        assert_eq!(get_str(a, "url.path"), format!("/u/{M}"), "round {round}");
        assert_eq!(get_str(a, "server.address"), M, "round {round}");
        assert_eq!(counted(&m, "blocked_value"), 2 * round);
    }
}

#[test]
fn a_key_with_a_secret_is_masked_every_time() {
    let (p, _) = build("allow_all_keys: true");
    for _ in 0..3 {
        let mut b = one_span(vec![kv("seen/dave@example.com", i(1))]);
        pass(&p, &mut b);
        assert_eq!(spans(&b)[0].attributes[0].key, format!("seen/{M}"));
    }
}
