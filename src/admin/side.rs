//! Listeners beside the admin one, each with one job, placed where a Collector file puts them:
//! the `health_check` extension's route (`endpoint`, `path`), answering as `/health/ready` does,
//! as Kubernetes probes expect; and `service.telemetry.metrics`' `/metrics`, the same page as
//! the admin listener's.
//!
//! Binding fails with [`ReceiverError::Bind`] naming the listener and endpoint; serving does not
//! fail per request. Both stop with the admin listener, last at shutdown, so probes read 503
//! while weir drains.

use axum::Router;
use axum::routing::get;
use futures::future::BoxFuture;
use http::HeaderMap;
use weir_pipeline::Metrics;

use tokio::sync::watch;

use super::Readiness;
use crate::config::extensions::HealthCheckConfig;
use crate::config::{Config, ExtensionConfig};
use crate::receivers::{Bound, ReceiverError};

/// Binds `endpoint` for the listener `name` and logs its `listening` line.
pub(super) async fn listen(
    name: &str,
    endpoint: &str,
) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), ReceiverError> {
    let bind_err = |source| ReceiverError::Bind {
        listener: name.to_owned(),
        endpoint: endpoint.to_owned(),
        source,
    };
    let listener =
        tokio::net::TcpListener::bind(&*crate::receivers::endpoint::bind_address(endpoint))
            .await
            .map_err(bind_err)?;
    let local_addr = listener.local_addr().map_err(bind_err)?;
    tracing::info!(listener = %name, address = %local_addr, "listening");
    Ok((listener, local_addr))
}

/// Serves `router` on `listener` (the listener `name`) until `shutdown` resolves.
pub(super) fn serve(
    name: String,
    listener: tokio::net::TcpListener,
    local_addr: std::net::SocketAddr,
    router: Router,
    shutdown: BoxFuture<'static, ()>,
) -> Bound {
    let serve = async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| ReceiverError::Serve {
                listener: name,
                message: e.to_string(),
            })
    };
    Bound {
        local_addr,
        serve: Box::pin(serve),
    }
}

/// Binds `router` at `endpoint` as the listener `name`; serves until `shutdown` resolves.
async fn bind(
    name: String,
    endpoint: &str,
    router: Router,
    shutdown: BoxFuture<'static, ()>,
) -> Result<Bound, ReceiverError> {
    let (listener, local_addr) = listen(&name, endpoint).await?;
    Ok(serve(name, listener, local_addr, router, shutdown))
}

/// The `health_check` extension `id`: `cfg.path` answers as `/health/ready`.
pub async fn health_check(
    id: &str,
    cfg: &HealthCheckConfig,
    readiness: Readiness,
    shutdown: BoxFuture<'static, ()>,
) -> Result<Bound, ReceiverError> {
    let router = Router::new().route(
        &cfg.path,
        get(move || {
            let r = readiness.clone();
            async move { r.answer() }
        }),
    );
    bind(id.to_owned(), &cfg.endpoint, router, shutdown).await
}

/// `service.telemetry.metrics`: weir's `/metrics` at `endpoint`.
pub async fn metrics(
    endpoint: &str,
    metrics: Metrics,
    resource: Vec<(String, String)>,
    shutdown: BoxFuture<'static, ()>,
) -> Result<Bound, ReceiverError> {
    let router = Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| {
            let (m, r) = (metrics.clone(), resource.clone());
            async move { super::exposition(&m, &r, &headers) }
        }),
    );
    bind("telemetry/metrics".into(), endpoint, router, shutdown).await
}

/// `service.telemetry.resource` as `(key, value)` pairs.
pub fn resource_of(config: &Config) -> Vec<(String, String)> {
    let r = &config.service.telemetry.resource;
    r.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Binds the `health_check` extensions `service.extensions` lists and the
/// `service.telemetry.metrics` listener; each stops when `stop` says so.
pub async fn bind_all(
    config: &Config,
    registry: &Metrics,
    readiness: &Readiness,
    stop: &watch::Sender<bool>,
) -> Result<Vec<(String, Bound)>, ReceiverError> {
    let until_stop = || -> BoxFuture<'static, ()> {
        let mut rx = stop.subscribe();
        Box::pin(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })
    };
    let mut out = Vec::new();
    for id in &config.service.extensions {
        if let Some(ExtensionConfig::HealthCheck(h)) = config.extensions.get(id) {
            let name = id.to_string();
            let b = health_check(&name, h, readiness.clone(), until_stop()).await?;
            out.push((name, b));
        }
    }
    if let Some(endpoint) = &config.service.telemetry.metrics.endpoint {
        let b = metrics(
            endpoint,
            registry.clone(),
            resource_of(config),
            until_stop(),
        )
        .await?;
        out.push(("telemetry/metrics".into(), b));
    }
    Ok(out)
}
