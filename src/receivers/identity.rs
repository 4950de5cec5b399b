//! Who a request belongs to: the tenant, from a token, a header, a client certificate or a
//! resource attribute, in the configured order.
//!
//! With tokens on, the token decides and any other source that names another tenant is refused
//! (403), never trusted; a missing or unknown token is 401. A verified client certificate is
//! proof too: without a token it decides, and headers and resource attributes may only agree
//! with it (403 otherwise), whatever their order in `from`. A request whose resources name
//! several tenants is split per tenant ([`Identity::split`]). Every refusal for credentials or
//! identity is counted in `weir_auth_failures_total{reason}`. Tokens are kept as SHA-256 digests
//! and looked up by digest, so no comparison runs over the secret's bytes.
//!
//! Building fails only when the tokens file cannot be read: a [`BuildError`] at
//! `tenant.tokens_file` whose source is the [`TokensError`] (sources and the default are typed
//! when the config is read).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::resource::v1::Resource;
use parking_lot::RwLock;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use weir_pipeline::metrics::catalogue;
use weir_pipeline::{BuildError, Metrics, Refusal, RefusalKind, Signal, TenantId};

use super::tenant::{TenantConfig, TenantSource};

/// How often the tokens file is checked for changes.
const RELOAD_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
enum Source {
    Token,
    ClientCert,
    Header(String),
    Resource(String),
}

/// The tenant sources of one receiver, ready to use.
#[derive(Debug)]
pub struct Identity {
    sources: Vec<Source>,
    default: Option<TenantId>,
    tokens: Option<Arc<TokenStore>>,
    metrics: Metrics,
}

/// What the request itself says about its tenant.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// The request's tenant (token, header, certificate or default), if any.
    pub tenant: Option<TenantId>,
    /// The tenant proven by a token or a verified client certificate, against which every
    /// other claim is checked.
    pub authenticated: Option<TenantId>,
}

impl Identity {
    /// Header-then-default identity (no tokens), as the receiver had before tenant sources.
    pub fn header(header: &str, default: TenantId, metrics: Metrics) -> Self {
        Self {
            sources: vec![Source::Header(header.to_ascii_lowercase())],
            default: Some(default),
            tokens: None,
            metrics,
        }
    }

    /// Builds the tenant settings of receiver `id` from config, reading the tokens file; must
    /// run inside a Tokio runtime (the file is re-read in the background when it changes).
    pub fn from_config(id: &str, cfg: &TenantConfig, metrics: Metrics) -> Result<Self, BuildError> {
        let sources = cfg
            .from
            .iter()
            .map(|s| match s {
                TenantSource::Token => Source::Token,
                TenantSource::ClientCert => Source::ClientCert,
                TenantSource::Header(header) => Source::Header(header.to_ascii_lowercase()),
                TenantSource::Resource(key) => Source::Resource(key.clone()),
            })
            .collect();
        let default = cfg.default.clone();
        let tokens = match &cfg.tokens_file {
            Some(path) => Some(
                TokenStore::open(path).map_err(|e| BuildError::at(id, "tenant.tokens_file", e))?,
            ),
            None => None,
        };
        Ok(Self {
            sources,
            default,
            tokens,
            metrics,
        })
    }

    fn fail(&self, kind: RefusalKind, reason: &'static str, message: String) -> Refusal {
        self.metrics
            .counter(catalogue::AUTH_FAILURES, &[reason])
            .add(1);
        Refusal::new(kind, message)
    }

    fn check_claim(
        &self,
        claimed: TenantId,
        what: &str,
        resolved: &Resolved,
    ) -> Result<TenantId, Refusal> {
        match &resolved.authenticated {
            Some(proven) if proven != &claimed => Err(self.fail(
                RefusalKind::Forbidden,
                "tenant_mismatch",
                format!(
                    "{what} names tenant {claimed}, but the request's credentials belong to another tenant"
                ),
            )),
            _ => Ok(claimed),
        }
    }

    /// The request-level tenant from token, headers and client certificate.
    pub fn resolve<'a>(
        &self,
        get: impl Fn(&str) -> Option<&'a [u8]>,
        peer: Option<&str>,
    ) -> Result<Resolved, Refusal> {
        self.resolve_with(get, peer, true)
    }

    /// The same without the `token` source, for senders that hold no token (web pages): the
    /// headers, the client certificate, then the default.
    pub fn resolve_without_token<'a>(
        &self,
        get: impl Fn(&str) -> Option<&'a [u8]>,
        peer: Option<&str>,
    ) -> Result<Resolved, Refusal> {
        self.resolve_with(get, peer, false)
    }

    fn resolve_with<'a>(
        &self,
        get: impl Fn(&str) -> Option<&'a [u8]>,
        peer: Option<&str>,
        tokens: bool,
    ) -> Result<Resolved, Refusal> {
        let mut out = Resolved::default();
        if let Some(store) = self.tokens.as_ref().filter(|_| tokens) {
            let presented = bearer(get("authorization"))
                .or_else(|| get("x-api-key").and_then(|v| std::str::from_utf8(v).ok()));
            let Some(token) = presented else {
                return Err(self.fail(
                    RefusalKind::Unauthenticated,
                    "missing_token",
                    "missing credentials: send Authorization: Bearer <token> or X-API-Key".into(),
                ));
            };
            match store.lookup(token) {
                Some(t) => {
                    self.metrics.prove_tenant(&t);
                    out.authenticated = Some(t);
                }
                None => {
                    return Err(self.fail(
                        RefusalKind::Unauthenticated,
                        "invalid_token",
                        "unknown token".into(),
                    ));
                }
            }
        }
        // A certificate the TLS layer verified is proof, like a token: it is checked against
        // the token, and everything else against it, before any other source is read.
        let certified = match peer {
            Some(subject) if self.sources.iter().any(|s| matches!(s, Source::ClientCert)) => {
                let cert = self.parse(subject, "client certificate subject")?;
                let cert = self.check_claim(cert, "the client certificate", &out)?;
                self.metrics.prove_tenant(&cert);
                out.authenticated.get_or_insert_with(|| cert.clone());
                Some(cert)
            }
            _ => None,
        };
        for source in &self.sources {
            let (claimed, what) = match source {
                Source::Token => (out.authenticated.clone(), String::new()),
                Source::Resource(_) => continue,
                Source::ClientCert => (certified.clone(), "the client certificate".into()),
                Source::Header(name) => match get(name) {
                    Some(raw) => {
                        let text = std::str::from_utf8(raw).map_err(|_| {
                            self.fail(
                                RefusalKind::Invalid,
                                "bad_tenant_id",
                                format!("header {name} is not valid UTF-8"),
                            )
                        })?;
                        (
                            Some(self.parse(text, &format!("header {name}"))?),
                            format!("header {name}"),
                        )
                    }
                    None => (None, String::new()),
                },
            };
            if let Some(c) = claimed {
                let c = self.check_claim(c, &what, &out)?;
                if out.tenant.is_none() {
                    out.tenant = Some(c);
                }
            }
        }
        if out.tenant.is_none() {
            out.tenant = out.authenticated.clone().or_else(|| self.default.clone());
        }
        if out.tenant.is_none()
            && !self
                .sources
                .iter()
                .any(|s| matches!(s, Source::Resource(_)))
        {
            return Err(self.fail(
                RefusalKind::Unauthenticated,
                "no_tenant",
                "no tenant: the request names none and the receiver has no default".into(),
            ));
        }
        Ok(out)
    }

    fn parse(&self, text: &str, what: &str) -> Result<TenantId, Refusal> {
        TenantId::new(text).map_err(|e| {
            self.fail(
                RefusalKind::Invalid,
                "bad_tenant_id",
                format!("{what}: {e}"),
            )
        })
    }

    /// The tenant of the whole request when no resource attribute names tenants (so
    /// [`Self::split`] would not split it), without looking at the request; `None` when one may.
    pub fn single_tenant(&self, resolved: &Resolved) -> Option<TenantId> {
        let by_resource = self
            .sources
            .iter()
            .any(|s| matches!(s, Source::Resource(_)));
        (!by_resource).then(|| whole_request_tenant(resolved))
    }

    /// Splits `signal` by the resource attribute source, when configured: each resource goes to
    /// the tenant it names, or to the request's tenant. One part per tenant, in first-seen order.
    pub fn split(
        &self,
        resolved: &Resolved,
        signal: Signal,
    ) -> Result<Vec<(TenantId, Signal)>, Refusal> {
        let key = self.sources.iter().find_map(|s| match s {
            Source::Resource(k) => Some(k.as_str()),
            _ => None,
        });
        let Some(key) = key else {
            return Ok(vec![(whole_request_tenant(resolved), signal)]);
        };
        match signal {
            Signal::Traces(v) => Ok(self
                .group(v, |r| r.resource.as_ref(), key, resolved)?
                .into_iter()
                .map(|(t, v)| (t, Signal::Traces(v)))
                .collect()),
            Signal::Metrics(v) => Ok(self
                .group(v, |r| r.resource.as_ref(), key, resolved)?
                .into_iter()
                .map(|(t, v)| (t, Signal::Metrics(v)))
                .collect()),
            Signal::Logs(v) => Ok(self
                .group(v, |r| r.resource.as_ref(), key, resolved)?
                .into_iter()
                .map(|(t, v)| (t, Signal::Logs(v)))
                .collect()),
        }
    }

    fn group<R>(
        &self,
        items: Vec<R>,
        resource: fn(&R) -> Option<&Resource>,
        key: &str,
        resolved: &Resolved,
    ) -> Result<Vec<(TenantId, Vec<R>)>, Refusal> {
        let mut out: Vec<(TenantId, Vec<R>)> = Vec::new();
        for item in items {
            let named = resource(&item).and_then(|r| {
                r.attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
                    match kv.value.as_ref()?.value.as_ref()? {
                        Value::StringValue(s) => Some(s.as_str()),
                        _ => None,
                    }
                })
            });
            let tenant = match named {
                Some(t) => {
                    let t = self.parse(t, &format!("resource attribute {key}"))?;
                    self.check_claim(t, &format!("resource attribute {key}"), resolved)?
                }
                None => resolved.tenant.clone().ok_or_else(|| {
                    self.fail(
                        RefusalKind::Unauthenticated,
                        "no_tenant",
                        format!("no tenant: a resource has no {key} and the request names none"),
                    )
                })?,
            };
            match out.iter_mut().find(|(t, _)| *t == tenant) {
                Some((_, v)) => v.push(item),
                None => out.push((tenant, vec![item])),
            }
        }
        if out.is_empty()
            && let Some(t) = &resolved.tenant
        {
            out.push((t.clone(), Vec::new()));
        }
        Ok(out)
    }
}

/// The tenant resolved for the request, or `default`.
fn whole_request_tenant(resolved: &Resolved) -> TenantId {
    resolved
        .tenant
        .clone()
        .unwrap_or_else(TenantId::default_tenant)
}

fn bearer(v: Option<&[u8]>) -> Option<&str> {
    let text = std::str::from_utf8(v?).ok()?;
    let (scheme, token) = text.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The tokens file, as SHA-256 digests, re-read when it changes.
#[derive(Debug)]
pub struct TokenStore {
    path: PathBuf,
    digests: RwLock<Digests>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    tokens: HashMap<String, String>,
}

impl TokenStore {
    /// Reads `path` and starts watching it (every 2 s) for changes.
    pub fn open(path: &Path) -> Result<Arc<Self>, TokensError> {
        let (modified, digests) = read_tokens(path)?;
        let store = Arc::new(Self {
            path: path.to_owned(),
            digests: RwLock::new((modified, digests)),
        });
        let weak = Arc::downgrade(&store);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                loop {
                    tokio::time::sleep(RELOAD_EVERY).await;
                    let Some(store) = weak.upgrade() else { break };
                    store.reload_if_changed();
                }
            });
        }
        Ok(store)
    }

    fn lookup(&self, token: &str) -> Option<TenantId> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.digests.read().1.get(&digest).cloned()
    }

    /// Re-reads the file when its modification time changed; keeps the old tokens on error.
    pub fn reload_if_changed(&self) {
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        if modified == self.digests.read().0 {
            return;
        }
        match read_tokens(&self.path) {
            Ok(fresh) => {
                let n = fresh.1.len();
                *self.digests.write() = fresh;
                tracing::info!(path = %self.path.display(), tokens = n, "tokens reloaded");
            }
            Err(e) => {
                tracing::warn!(error = %e, "tokens file unreadable; keeping the previous tokens")
            }
        }
    }
}

type Digests = (Option<SystemTime>, HashMap<[u8; 32], TenantId>);

/// Why the tokens file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// It cannot be read.
    #[error("tokens file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// It is not a `tokens:` mapping of tokens to tenants.
    #[error("tokens file {}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why it does not parse.
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// A tenant it names is no valid tenant id.
    #[error("tokens file {}: tenant {tenant:?}: {source}", path.display())]
    Tenant {
        /// The file.
        path: PathBuf,
        /// The tenant as written.
        tenant: String,
        /// Why it is not a tenant id.
        #[source]
        source: weir_pipeline::TenantIdError,
    },
}

fn read_tokens(path: &Path) -> Result<Digests, TokensError> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let text = std::fs::read_to_string(path).map_err(|source| TokensError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file: TokensFile = serde_yaml_ng::from_str(&text).map_err(|source| TokensError::Parse {
        path: path.to_owned(),
        source,
    })?;
    let mut out = HashMap::new();
    for (token, tenant) in file.tokens {
        let t = TenantId::new(&tenant).map_err(|source| TokensError::Tenant {
            path: path.to_owned(),
            tenant: tenant.clone(),
            source,
        })?;
        out.insert(Sha256::digest(token.as_bytes()).into(), t);
    }
    Ok((modified, out))
}
