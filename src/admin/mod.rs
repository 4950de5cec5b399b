//! The admin listener: weir's own `/metrics` (Prometheus text format 0.0.4), `/health/live` and
//! `/health/ready`.
//!
//! Readiness is 200 once every listener is bound and weir is not shutting down, 503 with the
//! reason otherwise. Binding can fail (the error names the endpoint); serving does not fail per
//! request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::future::BoxFuture;
use http::{StatusCode, header};
use weir_pipeline::Metrics;

use crate::receivers::{Bound, ReceiverError};

const LISTENER: &str = "admin";

/// Where weir is in its life, as readiness reports it.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicU8>);

// 0 (the default) is starting.
const READY: u8 = 1;
const DRAINING: u8 = 2;

impl Readiness {
    /// Every listener is bound.
    pub fn set_ready(&self) {
        self.0.store(READY, Ordering::SeqCst);
    }

    /// Shutting down: load balancers should stop sending.
    pub fn set_draining(&self) {
        self.0.store(DRAINING, Ordering::SeqCst);
    }

    /// `None` when ready, else why not.
    pub fn not_ready_reason(&self) -> Option<&'static str> {
        match self.0.load(Ordering::SeqCst) {
            READY => None,
            DRAINING => Some("draining: weir is shutting down"),
            _ => Some("starting: listeners are not all bound yet"),
        }
    }
}

#[derive(Clone)]
struct AdminState {
    metrics: Metrics,
    readiness: Readiness,
}

/// Binds the admin endpoint; the returned future serves until `shutdown` resolves.
pub async fn bind(
    endpoint: &str,
    metrics: Metrics,
    readiness: Readiness,
    shutdown: BoxFuture<'static, ()>,
) -> Result<Bound, ReceiverError> {
    let bind_err = |source| ReceiverError::Bind {
        listener: LISTENER.into(),
        endpoint: endpoint.to_owned(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(endpoint)
        .await
        .map_err(bind_err)?;
    let local_addr = listener.local_addr().map_err(bind_err)?;
    tracing::info!(listener = LISTENER, address = %local_addr, "listening");
    let app = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/health/live", get(|| async { "live\n" }))
        .route("/health/ready", get(ready))
        .with_state(AdminState { metrics, readiness });
    let serve = async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| ReceiverError::Serve {
                listener: LISTENER.into(),
                message: e.to_string(),
            })
    };
    Ok(Bound {
        local_addr,
        serve: Box::pin(serve),
    })
}

async fn metrics_page(State(s): State<AdminState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render_prometheus(),
    )
        .into_response()
}

async fn ready(State(s): State<AdminState>) -> Response {
    match s.readiness.not_ready_reason() {
        None => (StatusCode::OK, "ready\n").into_response(),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response(),
    }
}
