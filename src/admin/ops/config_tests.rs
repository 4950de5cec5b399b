//! `service.admin.ops` as `weir validate` reads it: defaults, an empty token meaning none,
//! every bad setting reported at its path, and the token never in a message or a `Debug`.

use std::collections::HashMap;
use std::time::Duration;

use crate::config::{Config, ConfigErrors, load_str};

const TOKEN: &str = "ops-token-0123456789abcdef";

fn load(ops: &str) -> Result<Config, ConfigErrors> {
    let yaml = format!(
        "receivers:\n  otlp:\n    protocols:\n      http: {{ endpoint: 127.0.0.1:0 }}\n\
         exporters:\n  debug: {{}}\n\
         service:\n  admin: {{ endpoint: 127.0.0.1:0, ops: {ops} }}\n  pipelines:\n    \
         traces: {{ receivers: [otlp], exporters: [debug] }}\n"
    );
    load_str(&yaml, "weir.yaml", &HashMap::<String, String>::new())
}

#[test]
fn defaults_and_a_token_are_read_and_the_token_is_never_shown() {
    let cfg = load(&format!("{{ token: \"{TOKEN}\", recent_incidents: 10 }}")).expect("valid");
    let ops = &cfg.service.admin.ops;
    assert_eq!(
        (ops.token(), ops.recent_incidents, ops.enabled),
        (Some(TOKEN), 10, true)
    );
    assert_eq!(ops.refresh_interval, Duration::from_secs(5));
    assert!(!format!("{cfg:?}").contains(TOKEN), "Debug shows the token");
    let empty = load("{ token: \"\" }").expect("an empty token is none");
    assert_eq!(empty.service.admin.ops.token(), None);
    let off = load("{ enabled: false }").expect("valid");
    assert!(!off.service.admin.ops.enabled);
}

#[test]
fn bad_settings_are_reported_at_their_path_without_the_token() {
    let errors = load("{ token: abc12, refresh_interval: 100ms, recent_incidents: 0 }")
        .expect_err("invalid")
        .to_string();
    for want in [
        "service.admin.ops.token",
        "too short (5 characters)",
        "service.admin.ops.refresh_interval",
        "service.admin.ops.recent_incidents",
    ] {
        assert!(errors.contains(want), "{want} missing from:\n{errors}");
    }
    assert!(!errors.contains("abc12"), "the token is in: {errors}");
    let spaced = load("{ token: \"has spaces in this long token\" }")
        .expect_err("spaces")
        .to_string();
    assert!(
        spaced.contains("printable ASCII without spaces"),
        "{spaced}"
    );
    let unknown = load("{ tokens: x }").expect_err("unknown key").to_string();
    assert!(
        unknown.contains("service.admin.ops") && unknown.contains("tokens"),
        "names the key: {unknown}"
    );
    assert!(unknown.contains("unknown"), "says what is wrong: {unknown}");
}
