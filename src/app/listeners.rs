//! The OTLP listeners of the receivers, each stoppable on its own: a reload stops only the
//! listeners whose address changed (or whose receiver left), and binds the new ones before
//! anything is stopped, so a listener that stays never closes.
//!
//! Binding fails with a [`StartError`] (a port in use, a TLS file unreadable, a tenant setting
//! that cannot be used); nothing is left listening by the call that failed.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinSet;
use weir_pipeline::Metrics;

use super::StartError;
use crate::config::ComponentId;
use crate::listen::ListenError;
use crate::receivers::config::OtlpReceiverConfig;
use crate::receivers::identity::Identity;
use crate::receivers::limits::{ConnectionBudget, InflightBytes};
use crate::receivers::routes::Routes;
use crate::receivers::{self, ReceiverShared};

/// What every receiver shares with the others for the whole run.
#[derive(Clone)]
pub(super) struct Common {
    pub metrics: Metrics,
    pub connections: ConnectionBudget,
    pub memory: crate::memory::MemoryGuard,
}

/// The serving tasks: each ends with its listener's number and result.
pub(super) type Tasks = JoinSet<(u64, Result<(), ListenError>)>;

/// One bound listener.
pub(super) struct Listener {
    /// `otlp/grpc`, `otlp/http`, ...
    pub name: String,
    /// The endpoint as configured (what a reload compares).
    pub endpoint: String,
    /// The address bound.
    pub local_addr: SocketAddr,
    /// Its number, to tell its end from a failure.
    pub serial: u64,
    stop: watch::Sender<bool>,
}

impl Listener {
    /// Stops taking connections and lets open requests finish.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

/// A receiver: its settings, the pipelines it feeds, its listeners.
pub(super) struct Receiver {
    pub config: OtlpReceiverConfig,
    pub routes: Routes,
    pub grpc: Option<Listener>,
    pub http: Option<Listener>,
}

impl Receiver {
    /// Its listeners.
    pub fn listeners(&self) -> impl Iterator<Item = &Listener> {
        self.grpc.iter().chain(self.http.iter())
    }
}

/// The state a receiver's requests share, for `cfg`.
pub(super) fn shared(
    id: &ComponentId,
    cfg: &OtlpReceiverConfig,
    routes: Routes,
    common: &Common,
) -> Result<ReceiverShared, StartError> {
    let identity = Identity::from_config(&id.to_string(), &cfg.tenant, common.metrics.clone())
        .map_err(StartError::Receiver)?;
    Ok(ReceiverShared {
        id: Arc::from(id.to_string()),
        router: routes,
        metrics: common.metrics.clone(),
        identity: Arc::new(identity),
        inflight: InflightBytes::new(
            &id.to_string(),
            cfg.max_inflight_bytes,
            common.metrics.clone(),
        ),
        connections: common.connections.clone(),
        memory: common.memory.clone(),
    })
}

/// Binds the listeners of receiver `id` for `cfg`, except those `keep` names (kept from
/// before: `(grpc, http)`), and spawns them into `tasks`. On failure, what this call bound is
/// stopped.
pub(super) async fn bind(
    id: &ComponentId,
    cfg: &OtlpReceiverConfig,
    shared: ReceiverShared,
    keep: (bool, bool),
    grpc_addr: Option<SocketAddr>,
    tasks: &mut Tasks,
    next_serial: &mut u64,
) -> Result<(Option<Listener>, Option<Listener>), StartError> {
    let mut grpc = None;
    if let Some(g) = cfg.protocols.grpc.as_ref().filter(|_| !keep.0) {
        let (stop, shutdown) = stopper();
        let b = receivers::otlp_grpc::bind(g, shared.clone(), shutdown).await?;
        grpc = Some(spawn(
            format!("{id}/grpc"),
            &g.endpoint,
            b,
            stop,
            tasks,
            next_serial,
        ));
    }
    let grpc_addr = grpc.as_ref().map(|l| l.local_addr).or(grpc_addr);
    let mut http = None;
    if let Some(h) = cfg.protocols.http.as_ref().filter(|_| !keep.1) {
        let (stop, shutdown) = stopper();
        match receivers::otlp_http::bind(h, grpc_addr, shared.clone(), shutdown).await {
            Ok(b) => {
                http = Some(spawn(
                    format!("{id}/http"),
                    &h.endpoint,
                    b,
                    stop,
                    tasks,
                    next_serial,
                ))
            }
            Err(e) => {
                if let Some(g) = &grpc {
                    g.stop();
                }
                return Err(e.into());
            }
        }
    }
    Ok((grpc, http))
}

/// A stop switch and the shutdown future a listener serves until.
fn stopper() -> (watch::Sender<bool>, BoxFuture<'static, ()>) {
    let (stop, mut rx) = watch::channel(false);
    let shutdown: BoxFuture<'static, ()> = Box::pin(async move {
        let _ = rx.wait_for(|s| *s).await;
    });
    (stop, shutdown)
}

fn spawn(
    name: String,
    endpoint: &str,
    bound: crate::listen::Bound,
    stop: watch::Sender<bool>,
    tasks: &mut Tasks,
    next_serial: &mut u64,
) -> Listener {
    *next_serial += 1;
    let serial = *next_serial;
    let serve = bound.serve;
    tasks.spawn(async move { (serial, serve.await) });
    Listener {
        name,
        endpoint: endpoint.to_owned(),
        local_addr: bound.local_addr,
        serial,
        stop,
    }
}
