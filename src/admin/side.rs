//! Listeners beside the admin one, each with one job, placed where a Collector file puts them:
//! the `health_check` extension's route (`endpoint`, `path`), answering as `/health/ready` does,
//! as Kubernetes probes expect; and `service.telemetry.metrics`' `/metrics`, the same page as
//! the admin listener's.
//!
//! Binding fails with [`ListenError::Bind`] naming the listener and endpoint; serving does not
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
use crate::listen::{self, Bound, ListenError};

/// Binds `router` at `endpoint` as the listener `name`; serves until `shutdown` resolves.
async fn bind(
    name: String,
    endpoint: &str,
    router: Router,
    shutdown: BoxFuture<'static, ()>,
) -> Result<Bound, ListenError> {
    let open = listen::open_plain(&name, endpoint).await?;
    Ok(listen::serve(name, open, router, shutdown))
}

/// The `health_check` extension `id`: `cfg.path` answers as `/health/ready`.
pub async fn health_check(
    id: &str,
    cfg: &HealthCheckConfig,
    readiness: Readiness,
    shutdown: BoxFuture<'static, ()>,
) -> Result<Bound, ListenError> {
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
) -> Result<Bound, ListenError> {
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
) -> Result<Vec<(String, Bound)>, ListenError> {
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
