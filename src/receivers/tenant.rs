//! Config of tenant identity on the `otlp` receiver (`receivers.otlp.tenant`).
//!
//! ```yaml
//! tenant:
//!   from: [token, { header: X-Scope-OrgID }, { resource: tenant.id }, client_cert]
//!   default: default          # absent: a request that names no tenant gets 401
//!   tokens_file: /etc/weir/tokens.yaml
//! ```
//! Sources are tried in order. With `token` among them, the token decides: any other source
//! that names a different tenant is refused (403), never trusted. Errors are `(key, message)`
//! pairs from [`TenantConfig::problems`], checked without opening any file.

use std::path::PathBuf;

use serde::Deserialize;
use weir_pipeline::TenantId;

/// Where a request's tenant comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum TenantSource {
    /// `token` (a bearer token or API key looked up in `tokens_file`) or `client_cert` (the
    /// subject common name of a verified TLS client certificate).
    Named(String),
    /// `{ header: X-Scope-OrgID }`: a request header.
    Header {
        /// The header name.
        header: String,
    },
    /// `{ resource: tenant.id }`: a resource attribute; a request whose resources name several
    /// tenants is split per tenant.
    Resource {
        /// The attribute key.
        resource: String,
    },
}

/// `receivers.otlp.tenant`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Sources, in order; the default is `[{ header: X-Scope-OrgID }]`.
    #[serde(default = "default_sources")]
    pub from: Vec<TenantSource>,
    /// Tenant of a request no source names; without it such a request is refused with 401.
    #[serde(default = "default_tenant")]
    pub default: Option<String>,
    /// YAML file mapping tokens to tenants (`tokens: { "<token>": tenant }`), read at start and
    /// re-read when it changes. Tokens arrive as `Authorization: Bearer <token>` or `X-API-Key`.
    #[serde(default)]
    pub tokens_file: Option<PathBuf>,
}

impl Default for TenantConfig {
    fn default() -> Self {
        Self {
            from: default_sources(),
            default: default_tenant(),
            tokens_file: None,
        }
    }
}

fn default_sources() -> Vec<TenantSource> {
    vec![TenantSource::Header {
        header: "X-Scope-OrgID".into(),
    }]
}

fn default_tenant() -> Option<String> {
    Some("default".into())
}

impl TenantConfig {
    /// `(key, message)` for each invalid setting.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, s) in self.from.iter().enumerate() {
            match s {
                TenantSource::Named(n) if n == "token" && self.tokens_file.is_none() => {
                    out.push((format!("tenant.from[{i}]"), "token needs tenant.tokens_file".into()));
                }
                TenantSource::Named(n) if n == "token" || n == "client_cert" => {}
                TenantSource::Named(n) => out.push((
                    format!("tenant.from[{i}]"),
                    format!("unknown tenant source {n:?}; use token, client_cert, {{header: NAME}} or {{resource: KEY}}"),
                )),
                TenantSource::Header { header } if header.is_empty() => {
                    out.push((format!("tenant.from[{i}].header"), "must not be empty".into()))
                }
                TenantSource::Resource { resource } if resource.is_empty() => {
                    out.push((format!("tenant.from[{i}].resource"), "must not be empty".into()))
                }
                _ => {}
            }
        }
        if let Some(d) = &self.default
            && let Err(e) = TenantId::new(d)
        {
            out.push(("tenant.default".into(), e.to_string()));
        }
        if self.tokens_file.is_some()
            && !self
                .from
                .iter()
                .any(|s| s == &TenantSource::Named("token".into()))
        {
            out.push((
                "tenant.tokens_file".into(),
                "set, but token is not in tenant.from".into(),
            ));
        }
        out
    }
}
