//! Config of `tenant_limit`'s shared store.
//!
//! ```yaml
//! processors:
//!   tenant_limit:
//!     records_per_second: 5000
//!     store:
//!       redis:
//!         endpoint: redis://redis:6379        # rediss:// for TLS
//!         username: weir                      # Redis 6 ACL user, optional
//!         password: ${env:REDIS_PASSWORD}
//!         timeout: 100ms
//!       local_budget: 0
//!       fallback: local                       # local | allow | deny
//!       retry_interval: 1s
//! ```
//!
//! [`StoreConfig::problems`] is pure: it parses the endpoint and checks numbers; it opens no
//! connection and reads no file.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Where replicas share their tenants' limits, and what a replica does when it cannot reach it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The Redis (or Valkey) server every replica asks. Required.
    pub redis: RedisConfig,
    /// Records a replica may take from the store ahead of need, per tenant and round trip, and
    /// then admit without asking again (a hot tenant costs fewer round trips). The tier may then
    /// admit up to this many records per replica above the shared limit. Needs records to be
    /// the only limited kind (bytes and requests would need a round trip per request anyway).
    /// Default: 0 (every request asks the store).
    #[serde(default)]
    pub local_budget: u64,
    /// What decides while the store is given up after a timeout or an error: `local` (this
    /// replica's own limits, as without a store: the tier may admit up to one limit per
    /// replica), `allow` (everything passes), `deny` (everything is refused as unavailable,
    /// HTTP 503 / gRPC UNAVAILABLE, retryable). Default: `local`.
    #[serde(default)]
    pub fallback: Fallback,
    /// How long the fallback decides after a failed round trip, without calling the store;
    /// then one request tries the store again. Default: 1s.
    #[serde(default = "default_retry_interval", with = "humantime_serde")]
    pub retry_interval: Duration,
}

/// The Redis connection.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://host:port[/db]`, or `rediss://host:port[/db]` for TLS (rustls, the system's
    /// roots unless `tls.ca_file`). Credentials belong in `username` and `password`.
    pub endpoint: String,
    /// The longest wait for one round trip, connecting included; past it the request is decided
    /// by `fallback`. Default: 100ms.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// The ACL user (Redis 6 and later). Default: none (the `default` user).
    #[serde(default)]
    pub username: Option<String>,
    /// The password (`AUTH`); use `${env:VAR}`. Default: none.
    #[serde(default)]
    pub password: Option<String>,
    /// TLS settings for a `rediss://` endpoint.
    #[serde(default)]
    pub tls: RedisTls,
    /// Prefix of the keys weir writes (one hash per processor and tenant, expiring when the
    /// tenant's buckets are full again). Default: `weir:tenant_limit:`.
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
}

/// TLS settings for a `rediss://` endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisTls {
    /// PEM file of the certificate authorities that sign the server's certificate, instead of
    /// the system's roots. Read when weir starts.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// What decides while the store is given up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fallback {
    /// This replica's own limits.
    #[default]
    Local,
    /// Everything passes.
    Allow,
    /// Everything is refused as unavailable (retryable).
    Deny,
}

impl Fallback {
    /// The config value, for metrics and `/health`.
    pub fn as_str(self) -> &'static str {
        match self {
            Fallback::Local => "local",
            Fallback::Allow => "allow",
            Fallback::Deny => "deny",
        }
    }
}

fn default_retry_interval() -> Duration {
    Duration::from_secs(1)
}

fn default_timeout() -> Duration {
    Duration::from_millis(100)
}

fn default_key_prefix() -> String {
    "weir:tenant_limit:".into()
}

impl StoreConfig {
    /// `(key, message)` for each invalid setting, keys relative to `store`; pure. `only_records`
    /// says whether records are the only limited kind (for `local_budget`).
    pub fn problems(&self, only_records: bool) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let r = &self.redis;
        match url_scheme(&r.endpoint) {
            Some("redis" | "rediss") if redis::parse_redis_url(&r.endpoint).is_some() => {}
            Some("redis" | "rediss") => out.push((
                "redis.endpoint".into(),
                "is not a valid redis:// or rediss:// URL".into(),
            )),
            _ => out.push((
                "redis.endpoint".into(),
                "must start with redis:// or rediss:// (TLS)".into(),
            )),
        }
        if r.endpoint.contains('@') {
            out.push((
                "redis.endpoint".into(),
                "holds credentials: set username and password instead".into(),
            ));
        }
        if r.timeout.is_zero() {
            out.push(("redis.timeout".into(), "must be above zero".into()));
        }
        if self.retry_interval.is_zero() {
            out.push(("retry_interval".into(), "must be above zero".into()));
        }
        if r.tls.ca_file.is_some() && url_scheme(&r.endpoint) != Some("rediss") {
            out.push((
                "redis.tls.ca_file".into(),
                "needs a rediss:// endpoint (TLS)".into(),
            ));
        }
        if self.local_budget > 0 && !only_records {
            out.push((
                "local_budget".into(),
                "needs records to be the only limited kind: a request limited by bytes or \
                 requests asks the store every time"
                    .into(),
            ));
        }
        if self.local_budget > u64::from(u32::MAX) {
            out.push((
                "local_budget".into(),
                format!("must be at most {}", u32::MAX),
            ));
        }
        out
    }
}

/// The scheme of `url` (`redis` in `redis://…`).
fn url_scheme(url: &str) -> Option<&str> {
    url.split_once("://").map(|(scheme, _)| scheme)
}
