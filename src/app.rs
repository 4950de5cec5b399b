//! Wiring: builds the components a [`Config`] names, binds every listener, and runs until told
//! to stop.
//!
//! Start-up fails (with a [`StartError`] naming the component) when an exporter cannot be built
//! or a listener cannot be bound; nothing is left listening in that case. Once running, a
//! listener that stops with an error is logged and shuts the rest down.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinSet;
use weir_exporters::debug::DebugExporter;
use weir_exporters::load_balancing;
use weir_exporters::loki::LokiExporter;
use weir_exporters::otlp::OtlpGrpcExporter;
use weir_exporters::otlphttp::OtlpHttpExporter;
use weir_exporters::prometheus::PrometheusExporter;
use weir_exporters::remote_write::RemoteWriteExporter;
use weir_exporters::sentry::SentryExporter;
use weir_pipeline::pipeline::{ExporterHandle, NamedExporter, NamedProcessor};
use weir_pipeline::queue::accounted::Accounted;
use weir_pipeline::queue::delivery::Delivery;
use weir_pipeline::queue::{QueueBatchConfig, QueueConfig, QueuedExporter, RetryConfig, Sizer};
use weir_pipeline::{Exporter, Metrics, Pipeline, Processor, Router};
use weir_processors::enrich::Enrich;
use weir_processors::redaction::Redaction;
use weir_processors::tenant_limit::TenantLimit;

use crate::admin::{self, AdminInfo, PipelineInfo, Readiness};
use crate::config::batch::PassThrough;
use crate::config::{ComponentId, Config, ExporterConfig, ProcessorConfig, ReceiverConfig};
use crate::receivers::identity::Identity;
use crate::receivers::limits::{ConnectionBudget, InflightBytes};
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
    /// A processor could not be built.
    #[error("processor {id}: {message}")]
    Processor {
        /// The processor id.
        id: String,
        /// What failed.
        message: String,
    },
    /// A receiver's tenant settings cannot be used (e.g. the tokens file is unreadable).
    #[error("receiver {id}: tenant: {message}")]
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
    admin_stop: watch::Sender<bool>,
    admin: tokio::task::JoinHandle<Result<(), ReceiverError>>,
    queued: Vec<ExporterHandle>,
    drain_timeout: Duration,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, waits for every receiver to close
    /// (connections still open at the deadline are cut), then drains the exporters' queues until the deadline, `service.drain_timeout` after the signal (what is left then is
    /// counted as dropped with reason `shutdown`), and closes the admin listener last, so
    /// `/health/ready` answers 503 and `/metrics` stays readable while weir drains.
    pub async fn shutdown(mut self) {
        self.readiness.set_draining();
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + self.drain_timeout;
        let tasks = &mut self.tasks;
        let closed = tokio::time::timeout_at(deadline, async {
            while let Some(done) = tasks.join_next().await {
                match done {
                    Ok(Err(e)) => tracing::error!(error = %e, "listener failed"),
                    Err(e) => tracing::error!(error = %e, "listener task failed"),
                    Ok(Ok(())) => {}
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
        let queued: u64 = self.queued.iter().map(|q| q.queued_records()).sum();
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        tracing::info!(
            queued_records = queued,
            timeout_ms = left.as_millis() as u64,
            "draining exporter queues"
        );
        futures::future::join_all(self.queued.iter().map(|q| q.drain(left))).await;
        let _ = self.admin_stop.send(true);
        match self.admin.await {
            Ok(Err(e)) => tracing::error!(error = %e, "admin listener failed"),
            Err(e) => tracing::error!(error = %e, "admin listener task failed"),
            Ok(Ok(())) => {}
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
    let exporters = build_exporters(config, &metrics).await?;
    let routers = build_routers(config, &exporters.handles, &metrics)?;
    let (stop, stop_rx) = watch::channel(false);
    let shutdown = move || -> BoxFuture<'static, ()> {
        let mut rx = stop_rx.clone();
        Box::pin(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })
    };
    let readiness = Readiness::new(metrics.clone());
    let memory =
        crate::memory::guard_for(config, &metrics).map_err(|message| StartError::Processor {
            id: "memory_limiter".into(),
            message,
        })?;
    let mut bound: Vec<(String, Bound)> = Vec::new();
    let connections = ConnectionBudget::from_fd_limit();
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
            identity: Arc::new(Identity::from_config(&cfg.tenant, metrics.clone()).map_err(
                |message| StartError::Tenant {
                    id: id.to_string(),
                    message,
                },
            )?),
            inflight: InflightBytes::new(&id.to_string(), cfg.max_inflight_bytes, metrics.clone()),
            connections: connections.clone(),
            memory: memory.clone(),
        };
        let mut grpc_addr = None;
        if let Some(grpc) = &cfg.protocols.grpc {
            let b = receivers::otlp_grpc::bind(grpc, shared.clone(), shutdown()).await?;
            grpc_addr = Some(b.local_addr);
            bound.push((format!("{id}/grpc"), b));
        }
        if let Some(http) = &cfg.protocols.http {
            let b = receivers::otlp_http::bind(http, grpc_addr, shared.clone(), shutdown()).await?;
            bound.push((format!("{id}/http"), b));
        }
    }
    let info = AdminInfo {
        listeners: bound
            .iter()
            .map(|(n, b)| (n.clone(), b.local_addr))
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
        exporters: exporters.handles.keys().map(ToString::to_string).collect(),
        memory,
    };
    let (admin_stop, mut admin_rx) = watch::channel(false);
    let admin_bound = admin::bind(
        &config.service.admin,
        metrics.clone(),
        readiness.clone(),
        info,
        Box::pin(async move {
            let _ = admin_rx.wait_for(|stop| *stop).await;
        }),
    )
    .await?;

    let mut tasks = JoinSet::new();
    let mut listeners = Vec::new();
    for (name, b) in bound {
        listeners.push((name, b.local_addr));
        tasks.spawn(b.serve);
    }
    listeners.push(("admin".into(), admin_bound.local_addr));
    let admin = tokio::spawn(admin_bound.serve);
    readiness.set_ready();
    Ok(Running {
        listeners,
        readiness,
        stop,
        tasks,
        admin_stop,
        admin,
        queued: exporters.queued,
        drain_timeout: config.service.drain_timeout,
    })
}

/// The exporters that pipelines use, and those among them with a queue to drain at shutdown.
struct Exporters {
    handles: BTreeMap<ComponentId, ExporterHandle>,
    queued: Vec<ExporterHandle>,
}

async fn build_exporters(config: &Config, metrics: &Metrics) -> Result<Exporters, StartError> {
    let mut out = Exporters {
        handles: BTreeMap::new(),
        queued: Vec::new(),
    };
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
        let name = id.to_string();
        let failed = |e: &dyn std::fmt::Display| StartError::Exporter {
            id: name.clone(),
            message: e.to_string(),
        };
        // An exporter behind the engine: its queue (with a pipeline's `batch` mapped onto it)
        // and retries.
        let queued = |exporter: Arc<dyn Exporter>,
                      queue: &QueueConfig,
                      retry: &RetryConfig,
                      timeout: Duration| {
            let queue = with_pipeline_batching(config, id, queue);
            delivered(&name, exporter, &queue, retry, timeout, metrics)
        };
        let handle = match cfg {
            ExporterConfig::Debug(c) => ExporterHandle::Direct(Arc::new(Accounted::new(
                &name,
                Arc::new(DebugExporter::new(&name, c).map_err(|e| failed(&e))?),
                metrics.clone(),
            ))),
            ExporterConfig::Otlp(c) => queued(
                Arc::new(OtlpGrpcExporter::new(&name, c).map_err(|e| failed(&e))?),
                &c.sending_queue,
                &c.retry_on_failure,
                c.timeout,
            ),
            ExporterConfig::OtlpHttp(c) => queued(
                Arc::new(OtlpHttpExporter::new(&name, c).map_err(|e| failed(&e))?),
                &c.sending_queue,
                &c.retry_on_failure,
                c.timeout,
            ),
            ExporterConfig::Loki(c) => queued(
                Arc::new(LokiExporter::new(&name, c).map_err(|e| failed(&e))?),
                &c.sending_queue,
                &c.retry_on_failure,
                c.timeout,
            ),
            ExporterConfig::Sentry(c) => queued(
                Arc::new(SentryExporter::new(&name, c, metrics.clone()).map_err(|e| failed(&e))?),
                &c.sending_queue,
                &c.retry_on_failure,
                c.timeout,
            ),
            ExporterConfig::RemoteWrite(c) => queued(
                Arc::new(RemoteWriteExporter::new(&name, c).map_err(|e| failed(&e))?),
                &c.sending_queue,
                &c.retry_on_failure,
                c.timeout,
            ),
            ExporterConfig::LoadBalancing(c) => {
                if id.kind != "load_balancing" {
                    tracing::warn!(exporter = %id, "the loadbalancing exporter is now named load_balancing; the old name is deprecated");
                }
                let queue = with_pipeline_batching(config, id, &c.protocol.otlp.sending_queue);
                ExporterHandle::Balanced(
                    load_balancing::start(&name, c, queue, metrics.clone())
                        .map_err(|e| failed(&e))?,
                )
            }
            ExporterConfig::Prometheus(c) => {
                // A scrape endpoint only updates its in-memory view: inline, no queue.
                let exporter = PrometheusExporter::bind(&name, c)
                    .await
                    .map_err(|e| failed(&e))?;
                ExporterHandle::Direct(Arc::new(Accounted::new(
                    &name,
                    Arc::new(exporter),
                    metrics.clone(),
                )))
            }
        };
        if !matches!(handle, ExporterHandle::Direct(_)) {
            out.queued.push(handle.clone());
        }
        out.handles.insert(id.clone(), handle);
    }
    Ok(out)
}

/// The exporter's queue settings, with batching taken from a `batch` processor in one of its
/// pipelines when `sending_queue.batch` is not set (the Collector's processor, mapped onto the
/// queue: `send_batch_size` → `min_size`, `send_batch_max_size` → `max_size`, `timeout` →
/// `flush_timeout`).
pub fn with_pipeline_batching(
    config: &Config,
    exporter: &ComponentId,
    queue: &QueueConfig,
) -> QueueConfig {
    let mut queue = queue.clone();
    if queue.batch.is_some() {
        return queue;
    }
    let batch = config
        .service
        .pipelines
        .iter()
        .filter(|p| p.exporters.contains(exporter))
        .flat_map(|p| &p.processors)
        .find_map(|id| match config.processors.get(id) {
            Some(ProcessorConfig::Batch(b)) => Some(b),
            _ => None,
        });
    if let Some(b) = batch {
        queue.batch = Some(QueueBatchConfig {
            flush_timeout: b.timeout,
            min_size: u64::from(b.send_batch_size),
            max_size: u64::from(b.send_batch_max_size),
            sizer: Sizer::Items,
        });
    }
    queue
}

/// Puts `exporter` behind its queue, or (queue disabled) behind inline retries.
fn delivered(
    id: &str,
    exporter: Arc<dyn Exporter>,
    queue: &QueueConfig,
    retry: &RetryConfig,
    timeout: Duration,
    metrics: &Metrics,
) -> ExporterHandle {
    if queue.enabled {
        ExporterHandle::Queued(QueuedExporter::start(
            id,
            exporter,
            queue,
            retry.clone(),
            timeout,
            metrics.clone(),
        ))
    } else {
        // Nobody stops an inline delivery: the client waiting for it bounds it.
        let (_never, stop) = tokio::sync::watch::channel(false);
        ExporterHandle::Direct(Arc::new(Delivery::new(
            Arc::from(id),
            exporter,
            retry.clone(),
            timeout,
            metrics.clone(),
            stop,
        )))
    }
}

fn build_processor(
    id: &ComponentId,
    cfg: &ProcessorConfig,
    metrics: &Metrics,
) -> Result<Arc<dyn Processor>, StartError> {
    let name = id.to_string();
    let failed = |e: &dyn std::fmt::Display| StartError::Processor {
        id: name.clone(),
        message: e.to_string(),
    };
    Ok(match cfg {
        ProcessorConfig::Batch(_) | ProcessorConfig::MemoryLimiter(_) => Arc::new(PassThrough),
        ProcessorConfig::Redaction(c) => {
            Arc::new(Redaction::new(&name, c, metrics.clone()).map_err(|e| failed(&e))?)
        }
        ProcessorConfig::Enrich(c) => {
            Arc::new(Enrich::new(&name, c, metrics.clone()).map_err(|e| failed(&e))?)
        }
        ProcessorConfig::TenantLimit(c) => {
            Arc::new(TenantLimit::new(&name, c).map_err(|e| failed(&e))?)
        }
    })
}

fn build_routers(
    config: &Config,
    exporters: &BTreeMap<ComponentId, ExporterHandle>,
    metrics: &Metrics,
) -> Result<BTreeMap<ComponentId, Router>, StartError> {
    let mut routers: BTreeMap<ComponentId, Router> = BTreeMap::new();
    // A tenant_limit is one instance for every pipeline that names it: a tenant's budget is
    // spent by its traces, metrics and logs together.
    let mut shared: BTreeMap<&ComponentId, Arc<dyn Processor>> = BTreeMap::new();
    for p in &config.service.pipelines {
        let mut processors = Vec::new();
        for id in &p.processors {
            if let Some(cfg) = config.processors.get(id) {
                let processor = match (cfg, shared.get(id)) {
                    (ProcessorConfig::TenantLimit(_), Some(one)) => Arc::clone(one),
                    (ProcessorConfig::TenantLimit(_), None) => {
                        let one = build_processor(id, cfg, metrics)?;
                        shared.insert(id, Arc::clone(&one));
                        one
                    }
                    _ => build_processor(id, cfg, metrics)?,
                };
                processors.push(NamedProcessor {
                    id: Arc::from(id.to_string()),
                    processor,
                });
            }
        }
        let pipeline_exporters = p
            .exporters
            .iter()
            .filter_map(|id| {
                exporters.get(id).map(|handle| NamedExporter {
                    id: Arc::from(id.to_string()),
                    handle: handle.clone(),
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
    Ok(routers)
}
