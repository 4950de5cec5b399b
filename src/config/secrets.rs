//! Which config values are secrets, in one place, and how a config tree is printed without
//! them (`weir print-config`).
//!
//! A value is a secret when its key is one of [`SECRET_KEYS`] (every value under it, for a
//! mapping such as `headers`) or ends with one of [`SECRET_SUFFIXES`]; and in every other
//! string, the user and password of a URL (`https://user:pw@host`) are. Secrets become
//! [`REDACTED`]; an unset or empty value is left as it is, so the output still says that it
//! is unset. Nothing here fails.

use serde_yaml_ng::Value;
pub use weir_pipeline::scrub::REDACTED;
use weir_pipeline::scrub::mask_url_credentials;

/// Keys whose values are secrets: exporters' `headers` (`Authorization`, API keys), Sentry's
/// `dsn` and its per-tenant and per-service DSN maps, the redaction processor's HMAC
/// `hash_key`, the ops page `token`.
pub const SECRET_KEYS: &[&str] = &[
    "headers",
    "dsn",
    "dsns_by_tenant",
    "dsns_by_service",
    "hash_key",
    "token",
];

/// Endings of keys whose values are secrets (`api_token`, `client_secret`, `password`).
pub const SECRET_SUFFIXES: &[&str] = &["_token", "password", "secret", "api_key"];

/// True when a value under `key` is a secret.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.contains(&key.as_str()) || SECRET_SUFFIXES.iter().any(|s| key.ends_with(s))
}

/// Replaces every secret under `value` with [`REDACTED`].
pub fn redact(value: &mut Value) {
    match value {
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                if k.as_str().is_some_and(is_secret_key) {
                    hide(v);
                } else {
                    redact(v);
                }
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(redact),
        Value::Tagged(t) => redact(&mut t.value),
        Value::String(s) => *s = mask_url_credentials(s),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Hides every set leaf under `value`, keeping a mapping's keys (header names) visible.
fn hide(value: &mut Value) {
    match value {
        Value::Mapping(map) => map.iter_mut().for_each(|(_, v)| hide(v)),
        Value::Sequence(items) => items.iter_mut().for_each(hide),
        Value::Tagged(t) => hide(&mut t.value),
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        other => *other = Value::String(REDACTED.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml_ng::from_str(text).expect("yaml")
    }

    #[test]
    fn secrets_by_key_and_in_urls_are_redacted() {
        let mut v = yaml(
            "exporters:
  otlphttp:
    endpoint: https://alice:pw@tempo:4318
    headers: { Authorization: Bearer abc, X-Team: blue }
    tenant_header: X-Scope-OrgID
  sentry: { dsn: 'https://key@sentry.io/1', dsns_by_tenant: { a: 'https://k2@s/2' } }
processors:
  redaction: { hash_key: 0123456789abcdef0123, allowed_keys: [http.route] }
service:
  admin: { ops: { token: s3cret-s3cret-s3cret, refresh_interval: 5s } }
  other: { api_token: t, db_password: p, unset_token: '', empty_secret: null }
",
        );
        redact(&mut v);
        let want = yaml(
            "exporters:
  otlphttp:
    endpoint: https://[REDACTED]@tempo:4318
    headers: { Authorization: '[REDACTED]', X-Team: '[REDACTED]' }
    tenant_header: X-Scope-OrgID
  sentry: { dsn: '[REDACTED]', dsns_by_tenant: { a: '[REDACTED]' } }
processors:
  redaction: { hash_key: '[REDACTED]', allowed_keys: [http.route] }
service:
  admin: { ops: { token: '[REDACTED]', refresh_interval: 5s } }
  other: { api_token: '[REDACTED]', db_password: '[REDACTED]', unset_token: '', empty_secret: null }
",
        );
        assert_eq!(v, want);
    }

    #[test]
    fn ordinary_keys_are_not_secrets() {
        for key in [
            "tokens_file",
            "tenant_header",
            "host_name_key",
            "key",
            "endpoint",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
        for key in ["Token", "HEADERS", "client_secret", "x_api_key"] {
            assert!(is_secret_key(key), "{key}");
        }
    }
}
