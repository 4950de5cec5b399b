//! Wiring: builds the components a [`Config`] names, binds every listener, and runs until told
//! to stop.
//!
//! Start-up fails (with a [`StartError`] naming the component) when an exporter cannot be built
//! or a listener cannot be bound; nothing is left listening in that case. Once running, a
//! listener that stops with an error is logged and shuts the rest down.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinSet;
use weir_exporters::debug::DebugExporter;
use weir_pipeline::pipeline::{NamedExporter, NamedProcessor};
use weir_pipeline::{Exporter, Metrics, Pipeline, Processor, Router, TenantId};

use crate::admin::{self, Readiness};
use crate::config::batch::BatchPassThrough;
use crate::config::{ComponentId, Config, ExporterConfig, ProcessorConfig, ReceiverConfig};
use crate::receivers::{self, Bound, ReceiverError, ReceiverShared};

/// Why weir could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// An exporter could not be built (for example its output file cannot be opened).
    #[error("exporter {id}: {message}")]
    Exporter {
        /// The exporter id.
        id: String,
        /// What failed.
        message: String,
    },
    /// A receiver's tenant default is not a valid tenant id.
    #[error("receiver {id}: tenant.default: {message}")]
    Tenant {
        /// The receiver id.
        id: String,
        /// What is wrong with it.
        message: String,
    },
    /// A listener could not be bound.
    #[error(transparent)]
    Listener(#[from] ReceiverError),
}

/// A running weir: its bound addresses and the handle that stops it.
pub struct Running {
    /// `(listener, address)` for every bound listener, e.g. `("otlp/grpc", 127.0.0.1:4317)`.
    pub listeners: Vec<(String, SocketAddr)>,
    /// Readiness, as `/health/ready` reports it.
    pub readiness: Readiness,
    stop: watch::Sender<bool>,
    tasks: JoinSet<Result<(), ReceiverError>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, and waits for every listener to close.
    pub async fn shutdown(mut self) {
        self.readiness.set_draining();
        let _ = self.stop.send(true);
        while let Some(done) = self.tasks.join_next().await {
            match done {
                Ok(Err(e)) => tracing::error!(error = %e, "listener failed"),
                Err(e) => tracing::error!(error = %e, "listener task failed"),
                Ok(Ok(())) => {}
            }
        }
    }

    /// Resolves when a listener stops by itself (an error); weir should then shut down.
    pub async fn failed(&mut self) -> Option<ReceiverError> {
        match self.tasks.join_next().await? {
            Ok(Err(e)) => Some(e),
            Ok(Ok(())) => None,
            Err(e) => Some(ReceiverError::Serve {
                listener: "task".into(),
                message: e.to_string(),
            }),
        }
    }
}

/// Builds and starts everything `config` describes.
pub async fn start(config: &Config, metrics: Metrics) -> Result<Running, StartError> {
    let exporters = build_exporters(config)?;
    let routers = build_routers(config, &exporters);
    let (stop, stop_rx) = watch::channel(false);
    let shutdown = move || -> BoxFuture<'static, ()> {
        let mut rx = stop_rx.clone();
        Box::pin(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })
    };
    let readiness = Readiness::default();
    let mut bound: Vec<(String, Bound)> = Vec::new();
    for (id, receiver) in &config.receivers {
        let Some(router) = routers.get(id) else {
            tracing::warn!(receiver = %id, "receiver is in no pipeline; not started");
            continue;
        };
        let ReceiverConfig::Otlp(cfg) = receiver;
        let shared = ReceiverShared {
            id: Arc::from(id.to_string()),
            router: router.clone(),
            metrics: metrics.clone(),
            default_tenant: TenantId::new(&cfg.tenant.default).map_err(|e| StartError::Tenant {
                id: id.to_string(),
                message: e.to_string(),
            })?,
            tenant_header: Arc::from(cfg.tenant.header.to_ascii_lowercase()),
        };
        if let Some(grpc) = &cfg.protocols.grpc {
            let b = receivers::otlp_grpc::bind(grpc, shared.clone(), shutdown()).await?;
            bound.push((format!("{id}/grpc"), b));
        }
        if let Some(http) = &cfg.protocols.http {
            let b = receivers::otlp_http::bind(http, shared.clone(), shutdown()).await?;
            bound.push((format!("{id}/http"), b));
        }
    }
    let b = admin::bind(
        &config.service.admin.endpoint,
        metrics.clone(),
        readiness.clone(),
        shutdown(),
    )
    .await?;
    bound.push(("admin".into(), b));

    let mut tasks = JoinSet::new();
    let mut listeners = Vec::new();
    for (name, b) in bound {
        listeners.push((name, b.local_addr));
        tasks.spawn(b.serve);
    }
    readiness.set_ready();
    Ok(Running {
        listeners,
        readiness,
        stop,
        tasks,
    })
}

fn build_exporters(
    config: &Config,
) -> Result<BTreeMap<ComponentId, Arc<dyn Exporter>>, StartError> {
    let mut out: BTreeMap<ComponentId, Arc<dyn Exporter>> = BTreeMap::new();
    let used: Vec<&ComponentId> = config
        .service
        .pipelines
        .iter()
        .flat_map(|p| &p.exporters)
        .collect();
    for (id, cfg) in &config.exporters {
        if !used.contains(&id) {
            continue;
        }
        let exporter: Arc<dyn Exporter> = match cfg {
            ExporterConfig::Debug(c) => {
                Arc::new(DebugExporter::new(&id.to_string(), c).map_err(|e| {
                    StartError::Exporter {
                        id: id.to_string(),
                        message: e.to_string(),
                    }
                })?)
            }
        };
        out.insert(id.clone(), exporter);
    }
    Ok(out)
}

fn build_processor(cfg: &ProcessorConfig) -> Arc<dyn Processor> {
    match cfg {
        ProcessorConfig::Batch(_) => Arc::new(BatchPassThrough),
    }
}

fn build_routers(
    config: &Config,
    exporters: &BTreeMap<ComponentId, Arc<dyn Exporter>>,
) -> BTreeMap<ComponentId, Router> {
    let mut routers: BTreeMap<ComponentId, Router> = BTreeMap::new();
    for p in &config.service.pipelines {
        let processors = p
            .processors
            .iter()
            .filter_map(|id| {
                config.processors.get(id).map(|cfg| NamedProcessor {
                    id: Arc::from(id.to_string()),
                    processor: build_processor(cfg),
                })
            })
            .collect();
        let pipeline_exporters = p
            .exporters
            .iter()
            .filter_map(|id| {
                exporters.get(id).map(|e| NamedExporter {
                    id: Arc::from(id.to_string()),
                    exporter: Arc::clone(e),
                })
            })
            .collect();
        let pipeline = Arc::new(Pipeline::new(
            p.id.as_str(),
            p.signal,
            processors,
            pipeline_exporters,
        ));
        for r in &p.receivers {
            routers
                .entry(r.clone())
                .or_default()
                .add(Arc::clone(&pipeline));
        }
    }
    routers
}
