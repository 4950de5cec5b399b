//! The Collector's `url_sanitizer` and `db_sanitizer`: values of the listed attributes keep
//! their shape and lose what identifies a person or a row.
//!
//! - URLs: the user and password, the query and the fragment are removed, and each path
//!   segment holding a digit or longer than 32 characters (ids, hashes, tokens) becomes `*`:
//!   `https://u:p@shop.example/users/12345/orders?id=9` → `https://shop.example/users/*/orders`.
//! - SQL: string and number literals become `?`:
//!   `SELECT * FROM t WHERE email = 'a@b.c' AND id = 42` → `… WHERE email = ? AND id = ?`.
//! - Redis and Valkey: the command and its key stay, every other argument becomes `?`.
//! - Memcached: the command and its key stay; the rest of the line and any data lines go.
//! - MongoDB, OpenSearch and Elasticsearch: every scalar of a JSON query becomes `"?"`; a
//!   value that is not JSON is replaced by `?` as a whole.
//!
//! They run on allowed attributes before the blocked-value scan, which still applies to what
//! they leave. Nothing here fails.

use serde::Deserialize;
use serde_json::Value as Json;

/// `url_sanitizer`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UrlSanitizerConfig {
    /// Turn it on. Default `false`.
    pub enabled: bool,
    /// The attribute keys holding URLs (`url.full`, `http.url`). Default: none.
    pub attributes: Vec<String>,
}

/// One database kind of `db_sanitizer`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DbKindConfig {
    /// Turn it on. Default `false`.
    pub enabled: bool,
    /// The attribute keys holding statements of this kind (`db.query.text`,
    /// `db.statement`). Default: none.
    pub attributes: Vec<String>,
}

/// `db_sanitizer`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DbSanitizerConfig {
    /// SQL statements.
    pub sql: DbKindConfig,
    /// Redis commands.
    pub redis: DbKindConfig,
    /// Valkey commands (as Redis).
    pub valkey: DbKindConfig,
    /// Memcached commands.
    pub memcached: DbKindConfig,
    /// MongoDB queries (JSON).
    pub mongo: DbKindConfig,
    /// OpenSearch queries (JSON).
    pub opensearch: DbKindConfig,
    /// Elasticsearch queries (JSON).
    pub es: DbKindConfig,
    /// The Collector's span-name sanitizing; only `false` (or absent) is accepted: weir's
    /// blocked values already scan span names.
    pub sanitize_span_name: Option<bool>,
}

/// What a sanitizer does to a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Url,
    Sql,
    Redis,
    Memcached,
    Json,
}

/// The sanitizers of one processor, by attribute key.
#[derive(Debug, Clone, Default)]
pub(super) struct Sanitizers {
    by_key: Vec<(Box<str>, Kind)>,
}

impl Sanitizers {
    /// The sanitizers `url` and `db` turn on.
    pub fn new(url: &UrlSanitizerConfig, db: &DbSanitizerConfig) -> Self {
        let mut by_key = Vec::new();
        let mut add = |on: bool, keys: &[String], kind| {
            if on {
                by_key.extend(keys.iter().map(|k| (k.as_str().into(), kind)));
            }
        };
        add(url.enabled, &url.attributes, Kind::Url);
        add(db.sql.enabled, &db.sql.attributes, Kind::Sql);
        add(db.redis.enabled, &db.redis.attributes, Kind::Redis);
        add(db.valkey.enabled, &db.valkey.attributes, Kind::Redis);
        add(
            db.memcached.enabled,
            &db.memcached.attributes,
            Kind::Memcached,
        );
        for j in [&db.mongo, &db.opensearch, &db.es] {
            add(j.enabled, &j.attributes, Kind::Json);
        }
        Self { by_key }
    }

    /// The sanitized form of `value` when `key` has a sanitizer and it changes something.
    pub fn apply(&self, key: &str, value: &str) -> Option<String> {
        let (_, kind) = self.by_key.iter().find(|(k, _)| &**k == key)?;
        let out = match kind {
            Kind::Url => url(value),
            Kind::Sql => sql(value),
            Kind::Redis => redis(value),
            Kind::Memcached => memcached(value),
            Kind::Json => json(value),
        };
        (out != value).then_some(out)
    }
}

/// A URL without credentials, query, fragment, or path segments that look like ids.
pub(super) fn url(value: &str) -> String {
    let cut = value.find(['?', '#']).unwrap_or(value.len());
    let value = &value[..cut];
    let (origin, path) = match value.find("://") {
        Some(i) => {
            let rest = &value[i + 3..];
            let end = rest.find('/').unwrap_or(rest.len());
            let authority = &rest[..end];
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            (format!("{}{host}", &value[..i + 3]), &rest[end..])
        }
        None => (String::new(), value),
    };
    let segments: Vec<&str> = path
        .split('/')
        .map(|s| {
            if s.len() > 32 || s.chars().any(|c| c.is_ascii_digit()) {
                "*"
            } else {
                s
            }
        })
        .collect();
    origin + &segments.join("/")
}

/// SQL with string and number literals replaced by `?`.
pub(super) fn sql(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    let mut prev: Option<char> = None;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // A string literal; '' is an escaped quote inside it.
                while let Some(n) = chars.next() {
                    if n == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
                out.push('?');
                prev = Some('?');
            }
            c if c.is_ascii_digit()
                && !prev.is_some_and(|p| p.is_alphanumeric() || p == '_' || p == '.') =>
            {
                while chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '.')
                {
                    chars.next();
                }
                out.push('?');
                prev = Some('?');
            }
            c => {
                out.push(c);
                prev = Some(c);
            }
        }
    }
    out
}

/// A Redis command with its key: every further argument becomes `?`.
pub(super) fn redis(value: &str) -> String {
    value
        .lines()
        .map(|line| {
            let mut words = line.split_whitespace();
            let mut kept: Vec<&str> = words.by_ref().take(2).collect();
            kept.extend(words.map(|_| "?"));
            kept.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A Memcached command with its key, without its other arguments and data.
pub(super) fn memcached(value: &str) -> String {
    let first = value.lines().next().unwrap_or_default();
    first
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A JSON query with every scalar replaced by `"?"`; `?` for text that is not JSON.
pub(super) fn json(value: &str) -> String {
    fn blank(v: &mut Json) {
        match v {
            Json::Object(m) => m.values_mut().for_each(blank),
            Json::Array(a) => a.iter_mut().for_each(blank),
            other => *other = Json::String("?".into()),
        }
    }
    match serde_json::from_str::<Json>(value) {
        Ok(mut v) => {
            blank(&mut v);
            v.to_string()
        }
        Err(_) => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_queries_and_ids() {
        assert_eq!(
            url("https://u:p@shop.example/users/12345/orders?id=9#x"),
            "https://shop.example/users/*/orders"
        );
        assert_eq!(url("/api/v1/items/abc"), "/api/*/items/abc");
        let long = format!("/t/{}", "a".repeat(40));
        assert_eq!(url(&long), "/t/*");
    }

    #[test]
    fn sql_literals_become_placeholders() {
        assert_eq!(
            sql("SELECT * FROM t2 WHERE email = 'o''brien@x.io' AND id = 42 AND r > 1.5"),
            "SELECT * FROM t2 WHERE email = ? AND id = ? AND r > ?"
        );
    }

    #[test]
    fn redis_memcached_and_json_keep_their_shape() {
        assert_eq!(
            redis("SET session:1 secret-value EX 60"),
            "SET session:1 ? ? ?"
        );
        assert_eq!(memcached("set k 0 60 5\r\nhello"), "set k");
        assert_eq!(
            json(r#"{"find":"users","filter":{"email":"a@b.c","age":{"$gt":3}}}"#),
            r#"{"filter":{"age":{"$gt":"?"},"email":"?"},"find":"?"}"#
        );
        assert_eq!(json("not json"), "?");
    }

    #[test]
    fn only_listed_keys_of_enabled_sanitizers_apply() {
        let url_cfg = UrlSanitizerConfig {
            enabled: true,
            attributes: vec!["url.full".into()],
        };
        let db = DbSanitizerConfig {
            sql: DbKindConfig {
                enabled: false,
                attributes: vec!["db.statement".into()],
            },
            ..Default::default()
        };
        let s = Sanitizers::new(&url_cfg, &db);
        assert_eq!(s.apply("url.full", "/u/1").as_deref(), Some("/u/*"));
        assert_eq!(s.apply("url.full", "/u/a"), None, "unchanged");
        assert_eq!(s.apply("db.statement", "x = 1"), None, "sql is off");
        assert_eq!(s.apply("other", "/u/1"), None);
    }
}
