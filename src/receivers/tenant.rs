//! Config of tenant identity on the `otlp` receiver (`receivers.otlp.tenant`).
//!
//! ```yaml
//! tenant:
//!   from: [token, { header: X-Scope-OrgID }, { resource: tenant.id }, client_cert]
//!   default: default          # absent: a request that names no tenant gets 401
//!   tokens_file: /etc/weir/tokens.yaml
//! ```
//! Sources are tried in order. With `token` among them, the token decides: any other source
//! that names a different tenant is refused (403), never trusted. Each source and the default
//! are typed as they are read (an unknown source, an empty header name or a default that is
//! no tenant id fails the reading at its key); [`TenantConfig::problems`] keeps the rules
//! between keys, checked without opening any file.

use std::path::PathBuf;

use serde::Deserialize;
use weir_pipeline::TenantId;

/// Where a request's tenant comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "SourceText")]
pub enum TenantSource {
    /// `token`: a bearer token or API key looked up in `tokens_file`.
    Token,
    /// `client_cert`: the subject common name of a verified TLS client certificate.
    ClientCert,
    /// `{ header: X-Scope-OrgID }`: a request header, by its name (not empty).
    Header(String),
    /// `{ resource: tenant.id }`: a resource attribute, by its key (not empty); a request whose
    /// resources name several tenants is split per tenant.
    Resource(String),
}

/// A source as written, before its name is checked.
#[derive(Deserialize)]
#[serde(untagged)]
enum SourceText {
    Named(String),
    Header { header: String },
    Resource { resource: String },
}

/// Why a tenant source does not read: the message of the error at `tenant.from[i]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantSourceError {
    /// A name other than `token` and `client_cert`.
    #[error(
        "unknown tenant source {0:?}; use token, client_cert, {{header: NAME}} or {{resource: KEY}}"
    )]
    Unknown(String),
    /// `{ header: "" }` or `{ resource: "" }`.
    #[error("{0} must not be empty")]
    Empty(&'static str),
}

impl TryFrom<SourceText> for TenantSource {
    type Error = TenantSourceError;

    fn try_from(text: SourceText) -> Result<Self, TenantSourceError> {
        match text {
            SourceText::Named(n) if n == "token" => Ok(Self::Token),
            SourceText::Named(n) if n == "client_cert" => Ok(Self::ClientCert),
            SourceText::Named(n) => Err(TenantSourceError::Unknown(n)),
            SourceText::Header { header } if header.is_empty() => {
                Err(TenantSourceError::Empty("header"))
            }
            SourceText::Resource { resource } if resource.is_empty() => {
                Err(TenantSourceError::Empty("resource"))
            }
            SourceText::Header { header } => Ok(Self::Header(header)),
            SourceText::Resource { resource } => Ok(Self::Resource(resource)),
        }
    }
}

/// `receivers.otlp.tenant`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Sources, in order; the default is `[{ header: X-Scope-OrgID }]`.
    #[serde(default = "default_sources")]
    pub from: Vec<TenantSource>,
    /// Tenant of a request no source names (`default` unless set; `null`: such a request is
    /// refused with 401).
    #[serde(default = "default_tenant")]
    pub default: Option<TenantId>,
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
    vec![TenantSource::Header("X-Scope-OrgID".into())]
}

fn default_tenant() -> Option<TenantId> {
    Some(TenantId::default_tenant())
}

impl TenantConfig {
    /// True when `token` is among the sources.
    pub fn has_token(&self) -> bool {
        self.from.contains(&TenantSource::Token)
    }

    /// `(key, message)` for each rule between keys that does not hold.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.tokens_file.is_none()
            && let Some(i) = self.from.iter().position(|s| s == &TenantSource::Token)
        {
            out.push((
                format!("tenant.from[{i}]"),
                "token needs tenant.tokens_file".into(),
            ));
        }
        if self.tokens_file.is_some() && !self.has_token() {
            out.push((
                "tenant.tokens_file".into(),
                "set, but token is not in tenant.from".into(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<TenantConfig, serde_yaml_ng::Error> {
        serde_yaml_ng::from_str(yaml)
    }

    #[test]
    fn sources_and_the_default_are_typed_as_read() {
        let cfg = parse(
            "from: [token, client_cert, { header: X-T }, { resource: tenant.id }]\ntokens_file: t.yaml\ndefault: team-a",
        )
        .expect("parses");
        assert_eq!(
            cfg.from,
            [
                TenantSource::Token,
                TenantSource::ClientCert,
                TenantSource::Header("X-T".into()),
                TenantSource::Resource("tenant.id".into()),
            ]
        );
        assert_eq!(cfg.default, TenantId::new("team-a").ok());
        assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
        assert_eq!(parse("default: null").expect("parses").default, None);
        assert_eq!(TenantConfig::default(), parse("{}").expect("parses"));
    }

    #[test]
    fn a_bad_source_or_default_fails_the_reading() {
        for (yaml, says) in [
            ("from: [cookie]", "unknown tenant source \"cookie\""),
            ("from: [{ header: '' }]", "header must not be empty"),
            ("from: [{ resource: '' }]", "resource must not be empty"),
            ("default: a/b", "tenant id holds '/'"),
        ] {
            let err = parse(yaml).expect_err(yaml).to_string();
            assert!(err.contains(says), "{yaml}: {err}");
        }
    }

    #[test]
    fn token_and_tokens_file_need_each_other() {
        let keys = |yaml: &str| -> Vec<String> {
            let cfg = parse(yaml).expect("parses");
            cfg.problems().into_iter().map(|(k, _)| k).collect()
        };
        assert_eq!(keys("from: [client_cert, token]"), ["tenant.from[1]"]);
        assert_eq!(keys("tokens_file: t.yaml"), ["tenant.tokens_file"]);
    }
}
