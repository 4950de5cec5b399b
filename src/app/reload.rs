//! Reload: a new config replaces the running one without losing what was acknowledged and
//! without closing a listener whose address stays.
//!
//! Order: build the new components (an exporter or `tenant_limit` whose settings did not
//! change is kept as it runs, queue and budgets included), bind the listeners whose address is
//! new, then switch each receiver to its new pipelines, stop the listeners that left, and
//! retire the exporters that were replaced or removed. A retiring exporter waits until no
//! request routed before the switch can still reserve room in it, hands what waits in its
//! queue to the exporter replacing it (same id), lets what it is sending finish, and drains.
//!
//! Failure: anything that cannot be built or bound refuses the reload ([`StartError`]); what
//! was built for it is stopped and the running config stays whole. Settings that only a
//! restart applies (the admin listener, the memory limit, weir's own telemetry, the other
//! settings of a receiver whose addresses stay) are kept as they were, with a warning.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;
use weir_pipeline::Router;
use weir_pipeline::metrics::catalogue;
use weir_pipeline::pipeline::ExporterHandle;
use weir_pipeline::queue::Handover;

use super::listeners::{self, Listener, Receiver};
use super::{Running, StartError, admin_info, build};
use crate::config::{ComponentId, Config, ReceiverConfig};
use crate::receivers::routes::Routes;

/// Why a reload did not happen; the running config stays.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The new config has errors (as `weir validate` prints them).
    #[error("the config is invalid:\n{0}")]
    Invalid(String),
    /// A component of the new config cannot be built or bound.
    #[error(transparent)]
    Start(#[from] StartError),
}

/// How long a retiring exporter waits for requests routed before the switch to finish.
const ROUTED_GRACE: Duration = Duration::from_secs(30);

/// How long a retiring exporter's sends may go on before they are cut (counted `shutdown`).
const RETIRE_TIMEOUT: Duration = Duration::from_secs(600);

/// Receivers and listeners a reload changed, for its log line.
#[derive(Debug, Default)]
struct Changes {
    kept_listeners: usize,
    new_listeners: usize,
    stopped_listeners: usize,
    new_exporters: usize,
    retired_exporters: usize,
}

impl Running {
    /// Reloads from `loaded` (the config read again, or its errors): applies it, or refuses
    /// it and keeps running as before. Counts the outcome in `weir_config_reloads_total` and
    /// logs it.
    pub async fn reload(&mut self, loaded: Result<Config, String>) -> Result<(), ReloadError> {
        let result = match loaded {
            Err(errors) => Err(ReloadError::Invalid(errors)),
            Ok(config) => self.apply(config).await.map_err(ReloadError::from),
        };
        let label = match &result {
            Ok(()) => "success",
            Err(ReloadError::Invalid(_)) => "invalid",
            Err(ReloadError::Start(_)) => "failed",
        };
        self.common
            .metrics
            .counter(catalogue::CONFIG_RELOADS, &[label])
            .add(1);
        if let Err(e) = &result {
            tracing::error!(error = %e, result = label, "reload refused; the running config stays");
        }
        result
    }

    async fn apply(&mut self, new: Config) -> Result<(), StartError> {
        let built = build::build(&new, &self.common.metrics, Some(&self.built)).await?;
        build::log_sanitizing(&new);
        let mut changes = Changes {
            new_exporters: built.fresh.len(),
            ..Changes::default()
        };
        // Bind what is new before anything changes: a failure leaves the running config whole.
        let mut bound: Vec<(ComponentId, Receiver, (bool, bool))> = Vec::new();
        for (id, ReceiverConfig::Otlp(cfg)) in &new.receivers {
            let Some(router) = built.routers.get(id) else {
                continue;
            };
            let old = self.receivers.get(id);
            if let Some(old) = old.filter(|o| o.config == *cfg) {
                changes.kept_listeners += old.listeners().count();
                continue;
            }
            let same = |old: Option<&Listener>, new: Option<&str>| {
                old.zip(new).is_some_and(|(o, n)| o.endpoint == n)
            };
            let keep = (
                same(
                    old.and_then(|o| o.grpc.as_ref()),
                    cfg.protocols.grpc.as_ref().map(|g| g.endpoint.as_str()),
                ),
                same(
                    old.and_then(|o| o.http.as_ref()),
                    cfg.protocols.http.as_ref().map(|h| h.endpoint.as_str()),
                ),
            );
            if keep.0 || keep.1 {
                tracing::warn!(receiver = %id, "receiver settings changed on a listener whose address stays; the listener keeps its settings until a restart");
            }
            let routes = old.map_or_else(|| Routes::new(router.clone()), |o| o.routes.clone());
            let grpc_addr = old
                .and_then(|o| o.grpc.as_ref())
                .filter(|_| keep.0)
                .map(|l| l.local_addr);
            let result = match listeners::shared(id, cfg, routes.clone(), &self.common) {
                Ok(shared) => {
                    listeners::bind(
                        id,
                        cfg,
                        shared,
                        keep,
                        grpc_addr,
                        &mut self.tasks,
                        &mut self.next_serial,
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            match result {
                Ok((grpc, http)) => bound.push((
                    id.clone(),
                    Receiver {
                        config: cfg.clone(),
                        routes,
                        grpc,
                        http,
                    },
                    keep,
                )),
                Err(e) => {
                    for (_, r, _) in &bound {
                        for l in r.listeners() {
                            self.stopped.insert(l.serial);
                            l.stop();
                        }
                    }
                    built.abandon().await;
                    return Err(e);
                }
            }
        }

        // The switch.
        let mut routed_before: Vec<Weak<Router>> = Vec::new();
        for (id, mut fresh, keep) in bound {
            changes.new_listeners += fresh.listeners().count();
            if let Some(mut old) = self.receivers.remove(&id) {
                if keep.0 {
                    fresh.grpc = old.grpc.take();
                }
                if keep.1 {
                    fresh.http = old.http.take();
                }
                changes.kept_listeners += usize::from(keep.0) + usize::from(keep.1);
                changes.stopped_listeners += self.stop_listeners(&old);
            }
            self.receivers.insert(id, fresh);
        }
        let gone: Vec<ComponentId> = self
            .receivers
            .keys()
            .filter(|id| !built.routers.contains_key(*id))
            .cloned()
            .collect();
        for id in gone {
            if let Some(old) = self.receivers.remove(&id) {
                changes.stopped_listeners += self.stop_listeners(&old);
                routed_before.push(Arc::downgrade(&old.routes.load()));
            }
        }
        for (id, r) in &self.receivers {
            if let Some(router) = built.routers.get(id) {
                routed_before.push(Arc::downgrade(&r.routes.store(router.clone())));
            }
        }

        // Exporters replaced or removed retire.
        for (id, old) in &self.built.exporters {
            let replacement = built.exporters.get(id).map(|e| &e.handle);
            if replacement.is_some_and(|r| r.same(&old.handle)) {
                continue;
            }
            changes.retired_exporters += 1;
            self.retire(
                id,
                old.handle.clone(),
                replacement.cloned(),
                routed_before.clone(),
            );
        }

        warn_restart_only(&self.config, &new);
        *self.info.write() = admin_info(&new, &built, &self.receivers, self.common.memory.clone());
        self.built = built;
        self.drain_timeout = new.service.drain_timeout;
        self.config = new;
        tracing::info!(
            kept_listeners = changes.kept_listeners,
            new_listeners = changes.new_listeners,
            stopped_listeners = changes.stopped_listeners,
            new_exporters = changes.new_exporters,
            retired_exporters = changes.retired_exporters,
            "configuration reloaded"
        );
        Ok(())
    }

    /// Stops the listeners of `old` still in it (those not carried over); returns how many.
    fn stop_listeners(&mut self, old: &Receiver) -> usize {
        let mut n = 0;
        for l in old.listeners() {
            self.stopped.insert(l.serial);
            l.stop();
            n += 1;
        }
        n
    }

    /// Retires exporter `id`: once the requests routed before the switch are done with it,
    /// what waits in its queue goes to `replacement` (when there is one), and it drains.
    fn retire(
        &self,
        id: &ComponentId,
        old: ExporterHandle,
        replacement: Option<ExporterHandle>,
        routed_before: Vec<Weak<Router>>,
    ) {
        self.retiring.lock().push(old.clone());
        let retiring = Arc::clone(&self.retiring);
        let id = id.to_string();
        tokio::spawn(async move {
            let until = Instant::now() + ROUTED_GRACE;
            while routed_before.iter().any(|w| w.strong_count() > 0) && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let mut moved = 0;
            if let Some(new) = &replacement {
                old.hand_over_to(Arc::new(Replacement(new.clone())));
                for batch in old.take_queued() {
                    if hand_over(new, &batch).await {
                        moved += batch.record_count();
                    } else {
                        tracing::warn!(exporter = %id, records = batch.record_count(), "the replacing exporter cannot take these queued records; they are sent by the replaced one");
                    }
                }
            }
            tracing::info!(exporter = %id, moved_records = moved, "exporter replaced by the reload; draining it");
            old.drain(RETIRE_TIMEOUT).await;
            retiring.lock().retain(|h| !h.same(&old));
        });
    }
}

/// The exporter replacing a retired one, taking its bundles that wait for a retry.
struct Replacement(ExporterHandle);

impl Handover for Replacement {
    fn hand(&self, bundle: Arc<weir_pipeline::Bundle>) -> BoxFuture<'static, bool> {
        let new = self.0.clone();
        Box::pin(async move {
            for part in bundle.parts() {
                if !hand_over(&new, part).await {
                    return false;
                }
            }
            true
        })
    }
}

/// Puts `batch` in `new`'s queues, waiting for room up to [`ROUTED_GRACE`].
async fn hand_over(new: &ExporterHandle, batch: &Arc<weir_pipeline::Batch>) -> bool {
    let until = Instant::now() + ROUTED_GRACE;
    loop {
        match new.requeue(batch).await {
            Ok(()) => return true,
            Err(_) if Instant::now() < until => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(_) => return false,
        }
    }
}

/// Warns about settings a reload does not apply.
fn warn_restart_only(old: &Config, new: &Config) {
    if old.service.admin != new.service.admin {
        tracing::warn!(
            "service.admin changed; the admin listener keeps its settings until a restart"
        );
    }
    if old.extensions != new.extensions || old.service.extensions != new.service.extensions {
        tracing::warn!("extensions changed; they keep their settings until a restart");
    }
    if old.service.telemetry != new.service.telemetry {
        tracing::warn!(
            "service.telemetry changed; weir's own logs and traces keep their settings until a restart"
        );
    }
    let limiter = |c: &Config| crate::memory::config::active(c).cloned();
    if limiter(old) != limiter(new) {
        tracing::warn!(
            "memory_limiter changed; the memory limit keeps its settings until a restart"
        );
    }
}
