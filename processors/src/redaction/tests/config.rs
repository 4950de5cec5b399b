//! Config problems, Collector compatibility and the built-in rules.

use regex::{Regex, RegexSet};

use super::*;
use crate::redaction::defaults::{ALLOWED_KEYS, BLOCKED_KEY_PATTERNS, BLOCKED_VALUES};
use crate::redaction::keys;

fn problems(yaml: &str) -> Vec<(String, String)> {
    serde_yaml_ng::from_str::<RedactionConfig>(yaml)
        .expect("parses")
        .problems()
}

fn keys(yaml: &str) -> Vec<String> {
    problems(yaml).into_iter().map(|(k, _)| k).collect()
}

#[test]
fn a_collector_config_runs_as_it_is() {
    let yaml = r#"
allow_all_keys: false
allowed_keys: [description, group, id, name]
ignored_keys: [safe_attribute]
blocked_values: ["4[0-9]{12}(?:[0-9]{3})?", "(5[1-5][0-9]{14})"]
blocked_key_patterns: [".*token.*"]
allowed_values: [".+@mycompany.com"]
summary: debug
"#;
    assert_eq!(problems(yaml), vec![]);
    build(yaml);
}

#[test]
fn every_bad_setting_is_reported_at_its_key() {
    let yaml = r#"
allowed_keys: [a]
blocked_values: ["x*", "y"]
mask: ""
"#;
    assert_eq!(keys(yaml), ["blocked_values[0]", "mask"]);
    let all = problems(yaml);
    assert!(all[0].1.contains("empty string"), "{all:?}");
}

#[test]
fn bad_entries_and_patterns_are_refused_when_read_at_their_index() {
    for (yaml, says) in [
        (
            r#"allowed_keys: [ok, "*"]"#,
            "allowed_keys[1]: to keep every key, set allow_all_keys",
        ),
        (
            "extra_allowed_keys: [a.*.b]",
            "extra_allowed_keys[0]: \"a.*.b\": the only wildcard",
        ),
        (r#"ignored_keys: [""]"#, "ignored_keys[0]: empty key"),
        (
            r#"hashed_keys: [a, "b*"]"#,
            "hashed_keys[1]: \"b*\": the only wildcard",
        ),
        (
            r#"blocked_values: [ok, "("]"#,
            "blocked_values[1]: invalid regex: ",
        ),
        (
            r#"allowed_values: ["["]"#,
            "allowed_values[0]: invalid regex: ",
        ),
        (
            r#"blocked_key_patterns: [")"]"#,
            "blocked_key_patterns[0]: invalid regex: ",
        ),
    ] {
        let err = crate::read_error::read_error::<RedactionConfig>(yaml);
        assert!(err.starts_with(says), "{yaml}: {err}");
    }
}

#[test]
fn hashing_must_be_keyed_and_complete() {
    assert!(
        problems("hash_function: md5\nhashed_keys: [a]")[0]
            .1
            .contains("not supported by weir")
    );
    assert!(
        problems("hash_function: crc32\nhashed_keys: [a]")[0]
            .1
            .contains("hmac-sha256")
    );
    assert_eq!(
        keys("hash_function: hmac-sha256\nhashed_keys: [a]"),
        ["hash_key"]
    );
    assert_eq!(
        keys("hash_function: hmac-sha256\nhash_key: short\nhashed_keys: [a]"),
        ["hash_key"]
    );
    assert_eq!(
        keys("hash_function: hmac-sha256\nhash_key: 0123456789abcdef"),
        ["hashed_keys"]
    );
    assert_eq!(keys("hashed_keys: [a]"), ["hashed_keys"]);
    assert_eq!(keys("hash_key: 0123456789abcdef"), ["hash_key"]);
    assert!(
        problems("hash_function: sha1")[0]
            .1
            .starts_with("sha1 is not supported"),
        "{:?}",
        problems("hash_function: sha1")
    );
}

#[test]
fn the_hash_key_never_shows_in_debug_output() {
    let cfg: RedactionConfig =
        serde_yaml_ng::from_str("hash_key: very-secret-key-123").expect("parses");
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("very-secret"), "{shown}");
}

#[test]
fn unknown_keys_and_summary_values_are_refused_by_the_parser() {
    // Each error names the key (its path within the component) and what is wrong with it.
    for (yaml, says) in [
        ("allowed_key: [a]", "unknown field `allowed_key`"),
        ("summary: loud", "summary: unknown variant `loud`"),
        (
            "strict_maps: [{ attribute: m }]",
            "strict_maps[0]: missing field `allowed_keys`",
        ),
    ] {
        let err = serde_yaml_ng::from_str::<RedactionConfig>(yaml)
            .expect_err(yaml)
            .to_string();
        assert!(err.contains(says), "{yaml}: {err}");
    }
}

#[test]
fn the_built_in_rules_compile_and_do_not_block_the_default_allowlist() {
    let blocked = RegexSet::new(BLOCKED_KEY_PATTERNS).expect("key patterns compile");
    for p in BLOCKED_VALUES {
        let re = Regex::new(p).expect("value pattern compiles");
        assert!(!re.is_match(""), "{p} matches the empty string");
    }
    for key in ALLOWED_KEYS {
        keys::check(key).expect("valid entry");
        assert!(
            !blocked.is_match(key),
            "{key} is allowed by default but blocked"
        );
    }
}

#[test]
fn built_in_key_patterns_hit_seed_keys_and_spare_look_alikes() {
    let blocked = RegexSet::new(BLOCKED_KEY_PATTERNS).expect("compile");
    for key in [
        "password",
        "password_hash",
        "access_token",
        "refresh_token",
        "id_token",
        "ssh_private_key",
        "ssh_private_key_enc",
        "access_secret_enc",
        "stripe_customer_id",
        "payment_reference",
        "scheduler_metadata",
        "Authorization",
        "http.request.header.cookie",
        "x-api-key",
        "apiKey",
        "user.email",
        "username",
        "client_secret",
        "token",
    ] {
        assert!(blocked.is_match(key), "{key} should be blocked");
    }
    for key in [
        "gen_ai.usage.input_tokens",
        "policy_key",
        "idempotency_key_hash",
        "node_id",
        "http.route",
        "service.name",
        "error_code",
    ] {
        assert!(!blocked.is_match(key), "{key} should not be blocked");
    }
}

#[test]
fn built_in_value_patterns_spare_ordinary_text() {
    let (p, _) = build("allow_all_keys: true");
    let ordinary = [
        "1732263815000000000",
        "basic information about keys",
        "monkey=3",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "GET /api/v1/users/{id}",
        "status code=500",
        "input_tokens=12",
    ];
    for text in ordinary {
        let mut b = traces(
            vec![],
            vec![weir_pipeline::otlp::trace::v1::Span {
                name: text.into(),
                ..Default::default()
            }],
        );
        pass(&p, &mut b);
        assert_eq!(spans(&b)[0].name, text);
    }
}
