//! The ops page on the admin listener: `GET /admin/ops/overview` (one self-contained HTML
//! page: health, charts of the last 15 minutes, queue depth, throughput, error rates, auth
//! failures, recent incidents; it reloads its figures every `refresh_interval`) and
//! `GET /admin/ops/overview.json` (the same figures, as the page renders them).
//!
//! Access (`auth.rs`): with `service.admin.ops.token` set, a Bearer token or HTTP Basic auth
//! (any user, the token as password); without it, open on a loopback admin endpoint and 403
//! elsewhere. The figures are aggregates built from the `/metrics?format=json` and `/health`
//! views (`overview.rs`), and the charts' points from a sample of the registry every second
//! (`history.rs`, drawn as inline SVG by `charts.rs`); messages are cleaned of credentials (`weir_pipeline::scrub`) and everything
//! is escaped into HTML (`render.rs`, `format.rs`). Responses forbid caching, framing and any
//! script but the page's own (by hash).
//!
//! How it fails: a refused request gets 401 (counted in `weir_auth_failures_total`) or 403
//! with a message saying what to do; serving a page never fails otherwise.

mod auth;
mod charts;
#[cfg(test)]
mod config_tests;
mod format;
mod history;
mod incidents;
mod overview;
mod render;

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Weak};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use sha2::{Digest, Sha256};
use weir_pipeline::Metrics;
use weir_pipeline::metrics::catalogue;

use self::auth::{Denied, Gate};
use self::history::History;
use self::incidents::Incidents;
use super::AdminState;
use super::views::{self, QueueFigures};
use crate::config::service::OpsConfig;
pub use weir_pipeline::scrub::Scrubber;

/// The page's path.
pub const PAGE: &str = "/admin/ops/overview";
/// The figures' path.
pub const DATA: &str = "/admin/ops/overview.json";

/// How often incidents and the charts' points are sampled, whether or not anybody looks.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// The ops page's part of the admin listener's state.
pub struct OpsState {
    enabled: bool,
    gate: Gate,
    refresh: Duration,
    admin_addr: SocketAddr,
    /// Cleans exporter messages, for `/health` too.
    pub(super) scrubber: Scrubber,
    incidents: Incidents,
    history: History,
}

impl OpsState {
    /// The state for an admin listener bound at `bound`.
    pub fn new(cfg: &OpsConfig, bound: SocketAddr) -> Self {
        let gate = Gate::new(cfg.token(), bound);
        if cfg.enabled
            && let Gate::Closed(at) = &gate
        {
            tracing::warn!(
                address = %at,
                "the ops page answers 403: the admin endpoint is not loopback and \
                 service.admin.ops.token is not set"
            );
        }
        Self {
            enabled: cfg.enabled,
            gate,
            refresh: cfg.refresh_interval,
            admin_addr: bound,
            scrubber: Scrubber::new(cfg.token().map(str::to_owned)),
            incidents: Incidents::new(cfg.recent_incidents),
            history: History::new(history::POINTS),
        }
    }

    /// Samples incidents (before each page, so that the log is as current as the figures).
    fn sample(&self, metrics: &Metrics, now: SystemTime) {
        let totals = views::totals(&metrics.snapshot());
        self.sample_totals(&totals, metrics, now);
    }

    fn sample_totals(&self, totals: &views::Totals, metrics: &Metrics, now: SystemTime) {
        self.incidents
            .sample(totals, &metrics.export_notes(), &self.scrubber, now);
    }
}

/// The sampler's tick: incidents, and one point of the charts (only here, so that points
/// stay a second apart however often the page is loaded).
fn take_sample(s: &AdminState, now: SystemTime) {
    let totals = views::totals(&s.metrics.snapshot());
    s.ops.sample_totals(&totals, &s.metrics, now);
    let at = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let info = s.info.read();
    let fills = info
        .exporters
        .iter()
        .map(|id| (id.as_str(), QueueFigures::of(&totals, id).fill()));
    s.ops.history.record(at, &totals, fills);
}

/// Adds the ops routes to `router` when the page is enabled.
pub fn routes(router: Router<Arc<AdminState>>, ops: &OpsState) -> Router<Arc<AdminState>> {
    if !ops.enabled {
        return router;
    }
    router.route(PAGE, get(page)).route(DATA, get(data))
}

/// Samples incidents and the charts' points every second until the admin listener's state is
/// gone.
pub fn spawn_sampler(state: Weak<AdminState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(s) = state.upgrade() else { break };
            if !s.ops.enabled {
                break;
            }
            take_sample(&s, SystemTime::now());
        }
    });
}

/// The `Content-Security-Policy` of the page: nothing from elsewhere, and only its own script.
static POLICY: LazyLock<String> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(render::SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; \
         connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
});

/// `None` when the request may see the page, else the answer refusing it.
fn admit(s: &AdminState, headers: &HeaderMap) -> Option<Response> {
    let denied = s.ops.gate.check(headers).err()?;
    if let Some(reason) = denied.reason() {
        s.metrics
            .counter(catalogue::AUTH_FAILURES, &[reason])
            .add(1);
        if denied == Denied::Invalid {
            tracing::warn!(reason, "ops page refused: wrong credentials");
        }
    }
    Some(refusal(&denied))
}

fn refusal(denied: &Denied) -> Response {
    let status = match denied {
        Denied::NoToken(_) => StatusCode::FORBIDDEN,
        Denied::Missing | Denied::Invalid => StatusCode::UNAUTHORIZED,
    };
    let mut response = (status, format!("{denied}\n")).into_response();
    let h = response.headers_mut();
    if status == StatusCode::UNAUTHORIZED {
        let challenge = format!("Basic realm=\"{}\", charset=\"UTF-8\"", auth::REALM);
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            h.append(header::WWW_AUTHENTICATE, v);
        }
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Headers every ops answer carries.
fn guard(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

async fn page(State(s): State<Arc<AdminState>>, headers: HeaderMap) -> Response {
    if let Some(refused) = admit(&s, &headers) {
        return refused;
    }
    let html = render::page(&overview::build(&s), s.ops.refresh);
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response();
    let h = response.headers_mut();
    guard(h);
    if let Ok(v) = HeaderValue::from_str(&POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

async fn data(State(s): State<Arc<AdminState>>, headers: HeaderMap) -> Response {
    if let Some(refused) = admit(&s, &headers) {
        return refused;
    }
    let mut response = axum::Json(overview::build(&s)).into_response();
    guard(response.headers_mut());
    response
}
