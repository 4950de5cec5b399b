//! Config of the frontend log intake: `protocols.http.frontend_log` (weir's key; the Collector
//! has no such thing).
//!
//! ```yaml
//! protocols:
//!   http:
//!     frontend_log:
//!       enabled: true
//!       path: /api/frontend-log        # default
//!       max_bytes: 65536               # default; 413 beyond
//!       per_ip_per_minute: 30          # default; 429 with Retry-After beyond
//!       trusted_proxies: [10.0.0.0/8]  # the client is then the last untrusted X-Forwarded-For hop
//!       tenant: web                    # required when tenant.from has token
//!       service_name: frontend         # default; the records' service.name
//! ```
//! A count below 1 or a `trusted_proxies` entry that is not a CIDR or an address fails the
//! reading at its key; the other checks are `(key, message)` pairs from
//! [`FrontendLogConfig::problems`], keys relative to the `http` protocol; checking opens
//! nothing.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, de};
use weir_pipeline::TenantId;

/// Paths the OTLP/HTTP receiver serves itself, which the intake may not take.
const OTLP_PATHS: [&str; 3] = ["/v1/traces", "/v1/metrics", "/v1/logs"];

/// `protocols.http.frontend_log`: browsers' errors and logs as JSON, one log record each.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FrontendLogConfig {
    /// Serve the intake. Default: `false` (the path answers 404).
    #[serde(default)]
    pub enabled: bool,
    /// Path of the intake on the OTLP/HTTP listener. Default: `/api/frontend-log`.
    #[serde(default = "default_path")]
    pub path: String,
    /// Largest body accepted, in bytes; a larger one gets 413. Default: 65536 (64 KiB).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Requests one client IP may send per minute (a burst of this many, then one every
    /// 60/n seconds); past it, 429 with `Retry-After`. IPv6 clients are counted per /64.
    /// Default: 30. At least 1.
    #[serde(
        default = "default_per_ip_per_minute",
        deserialize_with = "at_least_one"
    )]
    pub per_ip_per_minute: NonZeroU32,
    /// Proxies (CIDRs such as `10.0.0.0/8`, or single addresses) whose `X-Forwarded-For` is
    /// believed: when the connection comes from one, the client is the last hop of that header
    /// that is not a trusted proxy. Default: none (the client is the connection's peer).
    #[serde(default)]
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Tenant of every frontend record. Unset: the receiver's `tenant` sources other than
    /// `token` (browsers hold no token), then its `default`. Required when `tenant.from` has
    /// `token`, since no other source can then be trusted.
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// `service.name` of the records' resource. Default: `frontend`.
    #[serde(default = "default_service_name")]
    pub service_name: String,
}

impl Default for FrontendLogConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            path: default_path(),
            max_bytes: default_max_bytes(),
            per_ip_per_minute: default_per_ip_per_minute(),
            trusted_proxies: Vec::new(),
            tenant: None,
            service_name: default_service_name(),
        }
    }
}

fn default_path() -> String {
    "/api/frontend-log".into()
}
fn default_max_bytes() -> u64 {
    64 * 1024
}
fn default_per_ip_per_minute() -> NonZeroU32 {
    NonZeroU32::MIN.saturating_add(29)
}

/// Reads a count that must be at least 1.
fn at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<NonZeroU32, D::Error> {
    NonZeroU32::new(u32::deserialize(d)?).ok_or_else(|| de::Error::custom("must be at least 1"))
}
fn default_service_name() -> String {
    "frontend".into()
}

/// One `trusted_proxies` entry: a CIDR, or a single address (as a /32 or /128). Parsed when
/// the config is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy(pub IpNet);

impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(Self(net));
        }
        text.parse::<IpAddr>()
            .map(|ip| Self(IpNet::from(ip)))
            .map_err(|_| format!("{text:?} is not a CIDR (10.0.0.0/8) or an IP address"))
    }
}

impl<'de> Deserialize<'de> for TrustedProxy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

impl FrontendLogConfig {
    /// `(key, message)` for each invalid setting; `token_tenants` is true when the receiver's
    /// `tenant.from` has `token`.
    pub fn problems(&self, token_tenants: bool) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut problem = |key: &str, message: String| {
            out.push((format!("frontend_log.{key}"), message));
        };
        if !self.path.starts_with('/') || self.path.contains(['?', '#', ' ']) {
            problem(
                "path",
                format!("{:?} must be a path starting with / (no query)", self.path),
            );
        } else if OTLP_PATHS.contains(&self.path.as_str()) {
            problem("path", format!("{} is an OTLP path", self.path));
        }
        if self.max_bytes == 0 {
            problem("max_bytes", "must be at least 1".into());
        }
        if self.service_name.is_empty() {
            problem("service_name", "must not be empty".into());
        }
        if self.enabled && token_tenants && self.tenant.is_none() {
            problem(
                "tenant",
                "required when tenant.from has token: browsers hold no token, so no other \
                 source of theirs can be trusted"
                    .into(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_off_64k_and_30_a_minute() {
        let c: FrontendLogConfig = serde_yaml_ng::from_str("{}").expect("parses");
        assert_eq!(c, FrontendLogConfig::default());
        assert!(!c.enabled);
        assert_eq!((c.max_bytes, c.per_ip_per_minute.get()), (65536, 30));
        assert!(c.problems(false).is_empty());
    }

    #[test]
    fn problems_name_their_key() {
        let c: FrontendLogConfig = serde_yaml_ng::from_str(
            "{ enabled: true, path: /v1/logs, max_bytes: 0, trusted_proxies: [10.0.0.0/8, '::1'] }",
        )
        .expect("parses");
        let keys: Vec<String> = c.problems(true).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "frontend_log.path",
                "frontend_log.max_bytes",
                "frontend_log.tenant"
            ]
        );
    }

    #[test]
    fn counts_and_proxies_are_checked_when_read() {
        let read = |yaml: &str| {
            serde_yaml_ng::from_str::<FrontendLogConfig>(yaml)
                .expect_err(yaml)
                .to_string()
        };
        let zero = read("per_ip_per_minute: 0");
        assert!(zero.contains("must be at least 1"), "{zero}");
        let proxy = read("trusted_proxies: [10.0.0.0/8, 10.0.0.300/8]");
        assert!(proxy.contains("\"10.0.0.300/8\" is not a CIDR"), "{proxy}");
    }

    #[test]
    fn single_addresses_are_host_networks() {
        let net: TrustedProxy = "127.0.0.1".parse().expect("address");
        assert_eq!(net.0.to_string(), "127.0.0.1/32");
        assert!("fd00::/8".parse::<TrustedProxy>().is_ok());
        let err = "proxy.internal"
            .parse::<TrustedProxy>()
            .expect_err("a host name");
        assert_eq!(
            err,
            "\"proxy.internal\" is not a CIDR (10.0.0.0/8) or an IP address"
        );
    }
}
