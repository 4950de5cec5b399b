//! `service.admin`: the admin listener's settings (endpoint, tenant label bound, allowed
//! `Host` names) and the ops page's (`service.admin.ops`), with their checks. Deserialising
//! fails on unknown keys; [`check_ops`] lists the semantic problems of the ops settings.

use std::time::Duration;

use serde::Deserialize;

/// `service.admin`: the listener for `/metrics`, `/health/*` and the ops page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// `host:port` to listen on; port 0 picks a free port. Keep it on loopback or a private
    /// network: it shows weir's own metrics.
    #[serde(default = "default_admin_endpoint")]
    pub endpoint: String,
    /// Tenants named in metric labels: the first this many seen keep their id, later ones are
    /// counted as `other`, so `/metrics` stays bounded whatever tenant ids clients send.
    #[serde(default = "default_max_tenant_labels")]
    pub max_tenant_labels: usize,
    /// How long a tenant named only by a header or a resource attribute keeps its name in
    /// metric labels without traffic, once all `max_tenant_labels` names are taken (default
    /// `1h`): then a new tenant may take it, and its counters move to `other`. Tenants
    /// proven by a token or a client certificate are preferred and keep their names.
    #[serde(default = "default_tenant_label_idle", with = "humantime_serde")]
    pub tenant_label_idle: Duration,
    /// The ops page (`/admin/ops/overview` and its `.json`): health, queues, throughput,
    /// errors and recent incidents on one page for an operator.
    #[serde(default)]
    pub ops: OpsConfig,
    /// Host names (beyond IP literals and `localhost`, always allowed) that requests to the
    /// admin listener may name in their `Host` header, e.g. `weir.internal`. Any other name is
    /// answered 421: a web page cannot then read `/metrics` or the ops page through a DNS name
    /// it rebinds to this machine. Probes and scrapes by IP address pass.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

fn default_tenant_label_idle() -> Duration {
    weir_pipeline::metrics::tenants::DEFAULT_IDLE_AFTER
}

fn default_max_tenant_labels() -> usize {
    weir_pipeline::metrics::tenants::DEFAULT_MAX
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            endpoint: default_admin_endpoint(),
            max_tenant_labels: default_max_tenant_labels(),
            tenant_label_idle: default_tenant_label_idle(),
            ops: OpsConfig::default(),
            allowed_hosts: Vec::new(),
        }
    }
}

fn default_admin_endpoint() -> String {
    "127.0.0.1:8888".into()
}

/// Shortest ops token accepted, in characters.
pub const MIN_OPS_TOKEN_LEN: usize = 16;
/// Most recent incidents the ops page may be asked to keep.
pub const MAX_RECENT_INCIDENTS: usize = 1000;

/// `service.admin.ops`: the ops page on the admin listener.
///
/// ```yaml
/// service:
///   admin:
///     endpoint: 0.0.0.0:8888
///     ops: { token: "${env:WEIR_OPS_TOKEN}" }
/// ```
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    /// Serve the ops page (default `true`). `false`: `/admin/ops/*` answers 404.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The secret an operator presents to see the page: `Authorization: Bearer <token>`, or
    /// HTTP Basic with any user name and the token as password (so a browser asks for it).
    /// At least 16 printable ASCII characters without spaces, e.g. from
    /// `openssl rand -hex 32`; write `${env:WEIR_OPS_TOKEN}` rather than the secret itself.
    /// Unset or empty (`${env:WEIR_OPS_TOKEN:-}` with the variable unset): the page is
    /// served without credentials only when the admin endpoint is bound to a loopback
    /// address (127.0.0.0/8, ::1), and answers 403 on any other address.
    #[serde(default)]
    pub token: Option<String>,
    /// How often the open page reloads its figures (default `5s`, at least `1s`).
    #[serde(default = "default_refresh", with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// How many recent incidents (exporter errors, refused, failed and dropped records, auth
    /// failures) the page keeps and shows, newest first (default 50, at most 1000).
    #[serde(default = "default_recent_incidents")]
    pub recent_incidents: usize,
}

impl OpsConfig {
    /// The token when one is set and not empty.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref().filter(|t| !t.is_empty())
    }
}

// By hand, so that the token never reaches a log line or a panic message.
impl std::fmt::Debug for OpsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpsConfig")
            .field("enabled", &self.enabled)
            .field("token", &self.token().map(|_| "<redacted>"))
            .field("refresh_interval", &self.refresh_interval)
            .field("recent_incidents", &self.recent_incidents)
            .finish()
    }
}

impl Default for OpsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            token: None,
            refresh_interval: default_refresh(),
            recent_incidents: default_recent_incidents(),
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_refresh() -> Duration {
    Duration::from_secs(5)
}

fn default_recent_incidents() -> usize {
    50
}

/// The problems of `ops` as `(key under service.admin.ops, message)`; the messages never
/// repeat the token.
pub(super) fn check_ops(ops: &OpsConfig) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(t) = ops.token() {
        let len = t.chars().count();
        if len < MIN_OPS_TOKEN_LEN {
            out.push((
                "token",
                format!(
                    "too short ({len} characters): use at least {MIN_OPS_TOKEN_LEN} random \
                     characters, e.g. from `openssl rand -hex 32`"
                ),
            ));
        }
        if !t.chars().all(|c| c.is_ascii_graphic()) {
            out.push((
                "token",
                "use printable ASCII without spaces, so that it fits an Authorization header"
                    .into(),
            ));
        }
    }
    if ops.refresh_interval < Duration::from_secs(1) {
        out.push(("refresh_interval", "must be at least 1s".into()));
    }
    if ops.recent_incidents == 0 || ops.recent_incidents > MAX_RECENT_INCIDENTS {
        out.push((
            "recent_incidents",
            format!("must be between 1 and {MAX_RECENT_INCIDENTS}"),
        ));
    }
    out
}

/// The problems of `allowed_hosts` as `(index, message)`: each must be a bare host name.
pub(super) fn check_hosts(hosts: &[String]) -> Vec<(usize, String)> {
    hosts
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let bare = !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
            (!bare).then(|| {
                let m = format!(
                    "{h:?} is not a host name: write the name alone (no scheme, port or path)"
                );
                (i, m)
            })
        })
        .collect()
}
