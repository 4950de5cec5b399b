//! The admin listener: weir's own `/metrics` (Prometheus text 0.0.4, or OpenMetrics when the
//! scraper asks, or `?format=json` for a person), `/health` (each subsystem), `/health/live`,
//! `/health/ready`, and the ops page `/admin/ops/overview` with its `.json` ([`ops`]).
//!
//! Readiness is 200 once every listener is bound and weir is not shutting down, 503 with the
//! reason otherwise; saturation shows in metrics and back-pressure, not in readiness, so a
//! loaded tier is not pulled out all at once. Binding can fail (the error names the endpoint);
//! serving does not fail per request. Requests naming a host that is not allowed get 421
//! ([`host`]).

pub mod host;
pub mod ops;
pub mod side;
mod views;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::future::BoxFuture;
use http::{HeaderMap, StatusCode, header};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use weir_pipeline::Metrics;
use weir_pipeline::metrics::catalogue;
use weir_pipeline::metrics::render::{self, Format};

use crate::config::service::AdminConfig;
use crate::listen::{self, Bound, ListenError, http_metrics};

const LISTENER: &str = "admin";

/// Where weir is in its life, as readiness reports it (and `weir_ready`).
#[derive(Debug, Clone)]
pub struct Readiness {
    state: Arc<AtomicU8>,
    metrics: Metrics,
}

// 0 is starting.
const READY: u8 = 1;
const DRAINING: u8 = 2;

impl Readiness {
    /// Starting: not ready yet.
    pub fn new(metrics: Metrics) -> Self {
        metrics.counter(catalogue::READY, &[]).set(0);
        Self {
            state: Arc::default(),
            metrics,
        }
    }

    /// Every listener is bound.
    pub fn set_ready(&self) {
        self.state.store(READY, Ordering::SeqCst);
        self.metrics.counter(catalogue::READY, &[]).set(1);
    }

    /// Shutting down: load balancers should stop sending.
    pub fn set_draining(&self) {
        self.state.store(DRAINING, Ordering::SeqCst);
        self.metrics.counter(catalogue::READY, &[]).set(0);
    }

    /// `ready`, `starting` or `draining`.
    pub fn state(&self) -> &'static str {
        match self.state.load(Ordering::SeqCst) {
            READY => "ready",
            DRAINING => "draining",
            _ => "starting",
        }
    }

    /// The answer of `/health/ready`: 200 `ready`, or 503 with the reason.
    pub fn answer(&self) -> Response {
        match self.not_ready_reason() {
            None => (StatusCode::OK, "ready\n").into_response(),
            Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response(),
        }
    }

    /// `None` when ready, else why not.
    pub fn not_ready_reason(&self) -> Option<&'static str> {
        match self.state.load(Ordering::SeqCst) {
            READY => None,
            DRAINING => Some("draining: weir is shutting down"),
            _ => Some("starting: listeners are not all bound yet"),
        }
    }
}

/// One pipeline as the JSON views show it.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineInfo {
    /// Pipeline id.
    pub id: String,
    /// Receiver ids.
    pub receivers: Vec<String>,
    /// Processor ids, in order.
    pub processors: Vec<String>,
    /// Exporter ids.
    pub exporters: Vec<String>,
}

/// What the admin views show of weir's shape.
#[derive(Debug, Clone, Default)]
pub struct AdminInfo {
    /// Bound listeners other than the admin one.
    pub listeners: Vec<(String, SocketAddr)>,
    /// Pipelines.
    pub pipelines: Vec<PipelineInfo>,
    /// Exporter ids in use.
    pub exporters: Vec<String>,
    /// The process-wide memory limit, shown by `/health` (readiness ignores it).
    pub memory: crate::memory::MemoryGuard,
    /// `service.telemetry.resource`, shown as `target_info` on `/metrics`.
    pub resource: Vec<(String, String)>,
    /// Each `tenant_limit`'s shared store, by processor id, shown by `/health` (readiness
    /// ignores it: a replica on its fallback still takes traffic).
    pub limit_stores: Vec<(String, weir_processors::tenant_limit::StoreHealth)>,
}

/// [`AdminInfo`] as the admin listener reads it: a reload puts the new shape in place.
pub type SharedInfo = Arc<parking_lot::RwLock<AdminInfo>>;

/// Shared by the admin handlers.
pub struct AdminState {
    metrics: Metrics,
    readiness: Readiness,
    info: SharedInfo,
    started: Instant,
    previous: Mutex<Option<(Instant, views::Totals)>>,
    ops: ops::OpsState,
}

/// Binds the admin endpoint of `config`; the returned future serves until `shutdown` resolves.
pub async fn bind(
    config: &AdminConfig,
    metrics: Metrics,
    readiness: Readiness,
    info: SharedInfo,
    shutdown: BoxFuture<'static, ()>,
) -> Result<Bound, ListenError> {
    let open = listen::open_plain(LISTENER, &config.endpoint).await?;
    let local_addr = open.local_addr;
    let state = Arc::new(AdminState {
        metrics: metrics.clone(),
        readiness,
        info,
        started: Instant::now(),
        previous: Mutex::new(None),
        ops: ops::OpsState::new(&config.ops, local_addr),
    });
    let app = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/health", get(health))
        .route("/health/live", get(|| async { "live\n" }))
        .route("/health/ready", get(ready));
    let app = ops::routes(app, &state.ops);
    ops::spawn_sampler(Arc::downgrade(&state));
    let app = host::guard(
        app,
        host::AllowedHosts::new(&config.allowed_hosts, metrics.clone()),
    );
    let app = http_metrics::track(app, metrics).with_state(state);
    Ok(listen::serve(LISTENER.into(), open, app, shutdown))
}

#[derive(Deserialize)]
struct MetricsQuery {
    format: Option<String>,
}

async fn metrics_page(
    State(s): State<Arc<AdminState>>,
    Query(q): Query<MetricsQuery>,
    headers: HeaderMap,
) -> Response {
    match q.format.as_deref() {
        Some("json") => return axum::Json(views::metrics_json(&s)).into_response(),
        Some("prometheus") | Some("text") | None => {}
        Some(other) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("unknown format {other:?}; use json, or no format for Prometheus text\n"),
            )
                .into_response();
        }
    }
    let resource = s.info.read().resource.clone();
    exposition(&s.metrics, &resource, &headers)
}

/// weir's metrics as Prometheus text, or OpenMetrics when `headers` ask for it, with
/// `target_info` carrying `resource`.
pub(crate) fn exposition(
    metrics: &Metrics,
    resource: &[(String, String)],
    headers: &HeaderMap,
) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::from_accept(accept);
    let body = render::exposition_with_target(
        &metrics.snapshot(),
        format,
        env!("CARGO_PKG_VERSION"),
        resource,
    );
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

async fn health(State(s): State<Arc<AdminState>>) -> Response {
    let (ok, body) = views::health_json(&s);
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

async fn ready(State(s): State<Arc<AdminState>>) -> Response {
    s.readiness.answer()
}
