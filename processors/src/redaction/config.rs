//! Config of the `redaction` processor: the Collector's keys (`redact_all_types` on by default,
//! unlike the Collector) plus weir's `mask`, `extra_allowed_keys`, `hash_key`, `hashed_keys` and
//! `strict_maps`.
//!
//! Key-list entries ([`KeyEntry`]) and patterns ([`Pattern`], compiled once) are checked when
//! the config is read: a bad one fails the reading at its index. [`RedactionConfig::problems`]
//! is pure (no I/O) and keeps what the reading cannot see alone: a blocked-value pattern that
//! matches the empty string, an empty mask, and hashing that is incomplete. The config loader
//! runs both before anything starts; [`super::Redaction::new`] does not check them again.

use std::fmt;

use serde::Deserialize;
use weir_pipeline::spec::Spec;

use super::keys::KeyEntry;
use super::sanitizers::{DbSanitizerConfig, UrlSanitizerConfig};
use crate::pattern::Pattern;

/// Collector keys weir does not implement for this processor; the loader reports each one as
/// `not supported by weir: <key>`. `ignored_key_patterns`: use `ignored_keys` with a trailing
/// `.*` (a regex per key would cost every record). `url_sanitizer`, `db_sanitizer`: not built.
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] = &["ignored_key_patterns"];

/// The `redaction` processor kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const SPEC: Spec = Spec {
    unsupported: UNSUPPORTED_COLLECTOR_KEYS,
    ..Spec::named("redaction")
};

/// The placeholder that replaces a masked value unless `mask` says otherwise.
pub const DEFAULT_MASK: &str = "[REDACTED]";

/// Shortest accepted `hash_key`, in bytes.
pub const MIN_HASH_KEY_BYTES: usize = 16;

/// The `redaction` processor's settings.
///
/// ```yaml
/// processors:
///   redaction:
///     extra_allowed_keys: [app.cart.size, feature_flag.*]
///     blocked_values: ["ORD-[0-9]{8}"]
///     hash_function: hmac-sha256
///     hash_key: ${env:WEIR_REDACTION_HASH_KEY}
///     hashed_keys: [user.email, enduser.id]
///     summary: info
///     strict_maps:
///       - name: audit
///         when: { attribute: event.domain, equals: audit }
///         attribute: metadata
///         allowed_keys: [reason, policy_key, old_value, new_value]
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedactionConfig {
    /// Keep every attribute key: only `blocked_key_patterns`, `blocked_values` and `hashed_keys`
    /// apply (as in the Collector). `allowed_keys` and `extra_allowed_keys` are then unused.
    /// Default `false`.
    pub allow_all_keys: bool,
    /// Attribute keys whose values are kept (then scanned for `blocked_values`). An attribute
    /// with any other key keeps its key and gets `mask` as its value; on metric data points it
    /// is removed instead (see the module docs). An entry ending in `.*` allows every key under
    /// that prefix (`service.*` allows `service.name`, not `service`); no other wildcard exists.
    /// Absent: weir's built-in list of OpenTelemetry semantic-convention keys a backend needs
    /// (`service.*`, `telemetry.*`, `deployment.*`, host/k8s/cloud ids, `http.route`, …).
    /// Present, it replaces that list; an empty list masks every attribute (fails closed).
    pub allowed_keys: Option<Vec<KeyEntry>>,
    /// weir: keys added to the allowlist in force (the built-in one or `allowed_keys`), so
    /// that extending the defaults does not mean copying them. Same syntax as `allowed_keys`.
    pub extra_allowed_keys: Vec<KeyEntry>,
    /// Keys passed through untouched: not masked, not hashed, values not scanned. Use only for
    /// keys known to be safe. Same syntax as `allowed_keys`.
    pub ignored_keys: Vec<KeyEntry>,
    /// Regexes (searched anywhere in the key, as in the Collector) for keys whose values are
    /// always masked, even when the key is allowed, at any depth of nested maps and log
    /// bodies. Added to weir's built-in patterns (password, *_token, *secret*, authorization,
    /// cookie, api keys, private keys, email, user name, payment fields, …), which
    /// cannot be switched off; to let one such key through, list it in `ignored_keys`.
    pub blocked_key_patterns: Vec<Pattern>,
    /// Regexes for secrets inside values: the matching part of every string that stays
    /// (allowed attribute values, log bodies, span and event names, status messages, scope
    /// names and versions, metric names, descriptions and units, `severity_text`) is replaced by
    /// `mask`, keeping each field valid: a `trace_state` member holding a match is removed, a
    /// `schema_url` emptied, and a metric name gets the mask without the characters a name
    /// cannot hold. A pattern with a capture group named `secret` masks only that group
    /// (`token=(?P<secret>[^&]+)` keeps `token=`). Added to weir's built-in patterns (card
    /// numbers, JWTs, bearer/basic credentials, AWS and other vendor keys, emails, private-key
    /// blocks, credentials in URLs, `token=`/`key=`/`password=` values), which stay on.
    pub blocked_values: Vec<Pattern>,
    /// Scan integer and double values too (their decimal text: a card number sent as an int),
    /// as the Collector's key does. A matching number becomes the string `mask` on resource,
    /// scope, span, event, link, log and exemplar attributes and in log bodies; on a metric data
    /// point its attribute is removed (a mask would merge series). Default `true` (the
    /// Collector's default is `false`: strings only).
    pub redact_all_types: bool,
    /// Regexes for values exempt from `blocked_values`: a string that matches one of them as a
    /// whole (anchored, unlike the Collector's search, so an allowed address inside a longer
    /// string cannot carry a secret through) is kept as it is. Does not override the
    /// allowlist or blocked keys.
    pub allowed_values: Vec<Pattern>,
    /// weir: the placeholder written in place of a masked value or match. Default
    /// `[REDACTED]`; must not be empty (an empty string reads as "no value").
    pub mask: Option<String>,
    /// Keyed hash for `hashed_keys`: only `hmac-sha256` (the Collector's unkeyed `md5`,
    /// `sha1` and `sha3` are refused: an email's plain hash is reversed by hashing guesses).
    /// Unset: nothing is hashed.
    pub hash_function: Option<String>,
    /// weir: the HMAC key (the Collector's `hmac_key` is read as this), at least 16 bytes,
    /// from the environment:
    /// `hash_key: ${env:WEIR_REDACTION_HASH_KEY}`. Required with `hash_function`. The same
    /// key on every replica keeps hashes joinable across them.
    #[serde(alias = "hmac_key")]
    pub hash_key: Option<HashKey>,
    /// weir: keys whose values are replaced by the lower-case hex HMAC of the value instead of
    /// the mask, for identifiers that must stay joinable (an email or user name used as an id).
    /// Wins over blocked key patterns (the value does not survive either way) and over the
    /// allowlist; on metric data points the attribute is hashed instead of removed. Same
    /// syntax as `allowed_keys`; applies at any depth. Needs `hash_function` and `hash_key`.
    pub hashed_keys: Vec<KeyEntry>,
    /// Diagnostic attributes on changed records: `silent` (default: none), `info`
    /// (`redaction.masked.count`, the number of values changed) or `debug` (also
    /// `redaction.masked.keys`, their keys, sorted and comma-separated). Never added to metric
    /// data points (it would create new series). The counter
    /// `weir_redacted_values_total{processor,reason}` counts in every mode.
    pub summary: Summary,
    /// weir: maps that may hold only listed keys. A span or log record that matches `when` and
    /// whose `attribute` (a map) holds any other key is rejected: removed, counted, logged
    /// without values, and reported in OTLP `partial_success` naming the key. A listed map is
    /// kept (its values still scanned), as is the matched `when` attribute. Default: none.
    pub strict_maps: Vec<StrictMapConfig>,
    /// The Collector's URL sanitizer: `{enabled, attributes}`; see `sanitizers.rs`.
    pub url_sanitizer: UrlSanitizerConfig,
    /// The Collector's database statement sanitizer: `{sql|redis|valkey|memcached|mongo|
    /// opensearch|es: {enabled, attributes}}`; see `sanitizers.rs`.
    pub db_sanitizer: DbSanitizerConfig,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        Self {
            allow_all_keys: false,
            allowed_keys: None,
            extra_allowed_keys: Vec::new(),
            ignored_keys: Vec::new(),
            blocked_key_patterns: Vec::new(),
            blocked_values: Vec::new(),
            redact_all_types: true,
            allowed_values: Vec::new(),
            mask: None,
            hash_function: None,
            hash_key: None,
            hashed_keys: Vec::new(),
            summary: Summary::default(),
            strict_maps: Vec::new(),
            url_sanitizer: UrlSanitizerConfig::default(),
            db_sanitizer: DbSanitizerConfig::default(),
        }
    }
}

/// An HMAC key; its `Debug` never shows the key.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct HashKey(pub String);

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HashKey(<{} bytes>)", self.0.len())
    }
}

/// How much the processor tells on the records it changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Summary {
    /// No diagnostic attributes.
    #[default]
    Silent,
    /// `redaction.masked.count`.
    Info,
    /// `redaction.masked.count` and `redaction.masked.keys`.
    Debug,
}

/// One strict map (`strict_maps[i]`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrictMapConfig {
    /// A name for messages and logs (`audit`). Default: the `attribute`.
    #[serde(default)]
    pub name: Option<String>,
    /// Which records the rule covers; absent: every span and log record.
    #[serde(default)]
    pub when: Option<SelectorConfig>,
    /// The record attribute holding the map (`metadata`).
    pub attribute: String,
    /// The only keys the map may hold. Seed 002's audit list: `reason, policy_key, old_value,
    /// new_value, status_from, status_to, error_code, request_scope, idempotency_key_hash,
    /// provider_ref, allocation_id, node_id`.
    pub allowed_keys: Vec<String>,
}

/// Selects records by one of their own attributes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorConfig {
    /// The record attribute to look at (`event.domain`).
    pub attribute: String,
    /// The string value it must equal (`audit`).
    pub equals: String,
}

/// The one hash function weir implements.
pub(super) const HMAC_SHA256: &str = "hmac-sha256";

impl RedactionConfig {
    /// `(key, message)` for each invalid setting; pure (no I/O).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, p) in self.blocked_values.iter().enumerate() {
            if p.regex().is_match("") {
                out.push((
                    format!("blocked_values[{i}]"),
                    format!(
                        "{:?} matches the empty string: it would mask between every character",
                        p.as_str()
                    ),
                ));
            }
        }
        if self.mask.as_deref() == Some("") {
            out.push((
                "mask".into(),
                "must not be empty: an empty value reads as no value; use a visible placeholder"
                    .into(),
            ));
        }
        self.hash_problems(&mut out);
        if self.db_sanitizer.sanitize_span_name == Some(true) {
            out.push((
                "db_sanitizer.sanitize_span_name".into(),
                "not supported by weir: span names are scanned by blocked_values instead".into(),
            ));
        }
        for (i, m) in self.strict_maps.iter().enumerate() {
            if m.attribute.is_empty() {
                out.push((
                    format!("strict_maps[{i}].attribute"),
                    "must not be empty".into(),
                ));
            }
            if m.when.as_ref().is_some_and(|w| w.attribute.is_empty()) {
                out.push((
                    format!("strict_maps[{i}].when.attribute"),
                    "must not be empty".into(),
                ));
            }
        }
        out
    }

    fn hash_problems(&self, out: &mut Vec<(String, String)>) {
        match self.hash_function.as_deref() {
            None => {
                if self.hash_key.is_some() {
                    out.push(("hash_key".into(), "is set but hash_function is not".into()));
                }
                if !self.hashed_keys.is_empty() {
                    out.push((
                        "hashed_keys".into(),
                        format!("need hash_function: {HMAC_SHA256} and a hash_key"),
                    ));
                }
                return;
            }
            Some(HMAC_SHA256) => {}
            Some(f @ ("md5" | "sha1" | "sha3")) => {
                out.push((
                    "hash_function".into(),
                    format!(
                        "{f} is not supported by weir: an unkeyed hash of an email or user name \
                         is reversed by hashing guesses; use {HMAC_SHA256} with hash_key"
                    ),
                ));
                return;
            }
            Some(other) => {
                out.push((
                    "hash_function".into(),
                    format!("unknown hash function {other:?}; weir has: {HMAC_SHA256}"),
                ));
                return;
            }
        }
        match &self.hash_key {
            None => out.push((
                "hash_key".into(),
                format!(
                    "required with hash_function: {HMAC_SHA256}; pass it from the environment: \
                     hash_key: ${{env:WEIR_REDACTION_HASH_KEY}}"
                ),
            )),
            Some(k) if k.0.len() < MIN_HASH_KEY_BYTES => out.push((
                "hash_key".into(),
                format!(
                    "must be at least {MIN_HASH_KEY_BYTES} bytes (it has {}); generate one with \
                     `openssl rand -base64 32`",
                    k.0.len()
                ),
            )),
            Some(_) => {}
        }
        if self.hashed_keys.is_empty() {
            out.push((
                "hashed_keys".into(),
                "is empty: weir hashes only the keys listed here (everything else is masked)"
                    .into(),
            ));
        }
    }

    /// The mask in force.
    pub fn mask(&self) -> &str {
        self.mask.as_deref().unwrap_or(DEFAULT_MASK)
    }
}
