//! Wiring: builds the components a [`Config`] names, binds every listener, runs until told to
//! stop, and takes a new config while running ([`Running::reload`], in [`reload`]).
//!
//! Start-up fails (with a [`StartError`] naming the component) when an exporter cannot be built
//! or a listener cannot be bound; nothing is left listening in that case. Once running, a
//! listener that stops with an error is logged and shuts the rest down. The parts: building
//! components in [`build`], the receivers' listeners in [`listeners`].

mod build;
mod listeners;
mod reload;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;
use weir_pipeline::pipeline::ExporterHandle;
use weir_pipeline::{BuildError, Metrics};

use crate::admin::{self, AdminInfo, PipelineInfo, Readiness, SharedInfo};
use crate::config::{ComponentId, Config, ReceiverConfig};
use crate::listen::ListenError;
use crate::receivers::limits::ConnectionBudget;
use crate::receivers::routes::Routes;

use build::Built;
use listeners::{Common, Receiver, Tasks};
pub use reload::ReloadError;

/// Why weir could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// An exporter could not be built (for example its output file cannot be opened): its id,
    /// the setting at fault and the cause, said once.
    #[error("exporter {0}")]
    Exporter(#[source] BuildError),
    /// A processor could not be built.
    #[error("processor {0}")]
    Processor(#[source] BuildError),
    /// A receiver's tenant settings cannot be used (e.g. the tokens file is unreadable).
    #[error("receiver {0}")]
    Receiver(#[source] BuildError),
    /// A listener could not be bound.
    #[error(transparent)]
    Listener(#[from] ListenError),
}

/// A running weir: its listeners, components and the handle that stops it.
pub struct Running {
    /// Readiness, as `/health/ready` reports it.
    pub readiness: Readiness,
    config: Config,
    built: Built,
    receivers: BTreeMap<ComponentId, Receiver>,
    common: Common,
    tasks: Tasks,
    /// Listeners stopped on purpose (a reload), whose end is no failure.
    stopped: BTreeSet<u64>,
    next_serial: u64,
    /// Exporters a reload replaced or removed, until they have drained.
    retiring: Arc<Mutex<Vec<ExporterHandle>>>,
    info: SharedInfo,
    admin_stop: watch::Sender<bool>,
    admin: tokio::task::JoinHandle<Result<(), ListenError>>,
    admin_addr: SocketAddr,
    /// The `health_check` routes and the `service.telemetry.metrics` listener, closed with the
    /// admin listener; `(name, address)` of each.
    side: Vec<tokio::task::JoinHandle<Result<(), ListenError>>>,
    side_listeners: Vec<(String, SocketAddr)>,
    drain_timeout: Duration,
}

impl Running {
    /// `(listener, address)` for every bound listener, e.g. `("otlp/grpc", 127.0.0.1:4317)`,
    /// the admin listener last.
    pub fn listeners(&self) -> Vec<(String, SocketAddr)> {
        let mut out: Vec<(String, SocketAddr)> = self
            .receivers
            .values()
            .flat_map(Receiver::listeners)
            .map(|l| (l.name.clone(), l.local_addr))
            .collect();
        out.push(("admin".into(), self.admin_addr));
        out.extend(self.side_listeners.iter().cloned());
        out
    }

    /// Stops accepting, lets in-flight requests finish, waits for every receiver to close
    /// (connections still open at the deadline are cut), then drains the exporters' queues
    /// (those a reload is retiring too) until the deadline, `service.drain_timeout` after the
    /// signal (what is left then is counted as dropped with reason `shutdown`), and closes the
    /// admin listener last, so `/health/ready` answers 503 and `/metrics` stays readable while
    /// weir drains.
    pub async fn shutdown(mut self) {
        self.readiness.set_draining();
        for l in self.receivers.values().flat_map(Receiver::listeners) {
            l.stop();
        }
        let deadline = tokio::time::Instant::now() + self.drain_timeout;
        let tasks = &mut self.tasks;
        let closed = tokio::time::timeout_at(deadline, async {
            while let Some(done) = tasks.join_next().await {
                match done {
                    Ok((_, Err(e))) => tracing::error!(error = %e, "listener failed"),
                    Err(e) => tracing::error!(error = %e, "listener task failed"),
                    Ok((_, Ok(()))) => {}
                }
            }
        })
        .await;
        if closed.is_err() {
            // Clients that keep connections open (idle HTTP/2, a hung upload) do not hold weir
            // past the drain deadline: their unanswered requests were never acknowledged.
            tracing::warn!(
                open_listeners = self.tasks.len(),
                "client connections still open at the drain deadline; closing them"
            );
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
        let mut queued: Vec<ExporterHandle> = self
            .built
            .exporters
            .values()
            .map(|e| e.handle.clone())
            .filter(|h| !matches!(h, ExporterHandle::Direct(_)))
            .collect();
        queued.extend(self.retiring.lock().iter().cloned());
        let records: u64 = queued.iter().map(ExporterHandle::queued_records).sum();
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        tracing::info!(
            queued_records = records,
            timeout_ms = left.as_millis() as u64,
            "draining exporter queues"
        );
        futures::future::join_all(queued.iter().map(|q| q.drain(left))).await;
        let _ = self.admin_stop.send(true);
        for task in std::iter::once(self.admin).chain(self.side) {
            match task.await {
                Ok(Err(e)) => tracing::error!(error = %e, "admin listener failed"),
                Err(e) => tracing::error!(error = %e, "admin listener task failed"),
                Ok(Ok(())) => {}
            }
        }
    }

    /// Resolves when a listener stops by itself (an error); weir should then shut down. A
    /// listener a reload stopped is no such stop.
    pub async fn failed(&mut self) -> Option<ListenError> {
        loop {
            match self.tasks.join_next().await? {
                Ok((serial, _)) if self.stopped.remove(&serial) => {}
                Ok((_, Err(e))) => return Some(e),
                Ok((_, Ok(()))) => return None,
                Err(e) => {
                    return Some(ListenError::Serve {
                        listener: "task".into(),
                        message: e.to_string(),
                    });
                }
            }
        }
    }
}

/// Builds and starts everything `config` describes.
pub async fn start(config: &Config, metrics: Metrics) -> Result<Running, StartError> {
    let built = build::build(config, &metrics, None).await?;
    build::log_sanitizing(config);
    let readiness = Readiness::new(metrics.clone());
    let memory = crate::memory::guard_for(config, &metrics)
        .map_err(|message| StartError::Processor(BuildError::whole("memory_limiter", message)))?;
    let common = Common {
        metrics: metrics.clone(),
        connections: ConnectionBudget::from_fd_limit(),
        memory: memory.clone(),
    };
    let mut tasks = Tasks::new();
    let mut next_serial = 0;
    let mut receivers = BTreeMap::new();
    for (id, ReceiverConfig::Otlp(cfg)) in &config.receivers {
        let Some(router) = built.routers.get(id) else {
            tracing::warn!(receiver = %id, "receiver is in no pipeline; not started");
            continue;
        };
        let routes = Routes::new(router.clone());
        let shared = listeners::shared(id, cfg, routes.clone(), &common)?;
        let (grpc, http) = listeners::bind(
            id,
            cfg,
            shared,
            (false, false),
            None,
            &mut tasks,
            &mut next_serial,
        )
        .await?;
        receivers.insert(
            id.clone(),
            Receiver {
                config: cfg.clone(),
                routes,
                grpc,
                http,
            },
        );
    }
    let info: SharedInfo = Arc::new(parking_lot::RwLock::new(admin_info(
        config, &built, &receivers, memory,
    )));
    let (admin_stop, mut admin_rx) = watch::channel(false);
    let admin_bound = admin::bind(
        &config.service.admin,
        metrics.clone(),
        readiness.clone(),
        Arc::clone(&info),
        Box::pin(async move {
            let _ = admin_rx.wait_for(|stop| *stop).await;
        }),
    )
    .await?;
    let admin_addr = admin_bound.local_addr;
    let admin = tokio::spawn(admin_bound.serve);
    let mut side = Vec::new();
    let mut side_listeners = Vec::new();
    for (name, b) in admin::side::bind_all(config, &metrics, &readiness, &admin_stop).await? {
        side_listeners.push((name, b.local_addr));
        side.push(tokio::spawn(b.serve));
    }
    readiness.set_ready();
    Ok(Running {
        readiness,
        config: config.clone(),
        built,
        receivers,
        common,
        tasks,
        stopped: BTreeSet::new(),
        next_serial,
        retiring: Arc::default(),
        info,
        admin_stop,
        admin,
        admin_addr,
        side,
        side_listeners,
        drain_timeout: config.service.drain_timeout,
    })
}

/// What the admin views show of the running shape.
fn admin_info(
    config: &Config,
    built: &Built,
    receivers: &BTreeMap<ComponentId, Receiver>,
    memory: crate::memory::MemoryGuard,
) -> AdminInfo {
    AdminInfo {
        listeners: receivers
            .values()
            .flat_map(Receiver::listeners)
            .map(|l| (l.name.clone(), l.local_addr))
            .collect(),
        pipelines: config
            .service
            .pipelines
            .iter()
            .map(|p| PipelineInfo {
                id: p.id.clone(),
                receivers: p.receivers.iter().map(ToString::to_string).collect(),
                processors: p.processors.iter().map(ToString::to_string).collect(),
                exporters: p.exporters.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        // A load_balancing exporter's queues are its endpoints' (as they are now).
        exporters: built
            .exporters
            .iter()
            .flat_map(|(id, e)| match &e.handle {
                ExporterHandle::Balanced(b) => b
                    .endpoints()
                    .into_iter()
                    .map(|ep| format!("{id}/{ep}"))
                    .collect(),
                _ => vec![id.to_string()],
            })
            .collect(),
        memory,
        resource: admin::side::resource_of(config),
        limit_stores: built.limit_stores(),
    }
}
