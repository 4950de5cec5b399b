//! Load balancing over endpoints: the engine half of the `load_balancing` exporter.
//!
//! A [`Balancer`] splits each batch by routing key ([`key`], [`split`]) and puts each part in
//! the queue of the endpoint its key hashes to ([`ring`]: rendezvous hashing, so a change of
//! endpoints moves only the keys of the endpoints added or removed). Every endpoint is a
//! [`QueuedExporter`] of its own: its own queue, consumers, retries and metrics (under the
//! exporter id `<id>/<endpoint>`).
//!
//! Failure: an endpoint that gives a bundle up after its retries is marked down for
//! `down_for`; that bundle and, while it is down, its queue's next ones go to the endpoints
//! the same keys pick among the others ([`Fallback`]), counted in
//! `weir_exporter_rerouted_records_total`. When no other endpoint has room at once, the
//! bundle is lost and counted as dropped. An endpoint the resolver no longer lists gives its
//! queued batches, and those waiting for a retry, back to be routed again; an attempt under
//! way finishes there. With no endpoint at all, batches are refused (retryable).

pub mod key;
pub mod ring;
pub mod split;

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::future::{BoxFuture, join_all};
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::metrics::catalogue;
use crate::queue::delivery::{Fallback, Handover};
use crate::queue::{Admission, DeliverySettings, QueuedExporter, ReserveError};
use crate::{Batch, Bundle, Exporter, Metrics};
pub use key::{KeyName, RoutingKey};
use ring::Ring;
use split::{Routed, route};

/// Builds the exporter of one endpoint: `(endpoint, exporter id)`; the balancer puts it behind
/// its own queue.
pub type EndpointFactory =
    Box<dyn Fn(&str, &str) -> Result<Arc<dyn Exporter>, String> + Send + Sync>;

/// How long a retiring endpoint's sends may take before what is left is counted as dropped.
const RETIRE_TIMEOUT: Duration = Duration::from_secs(600);

/// One endpoint and its queue.
struct Endpoint {
    name: Arc<str>,
    queue: Arc<QueuedExporter>,
    down_until: Mutex<Option<Instant>>,
}

impl Endpoint {
    fn is_down(&self, now: Instant) -> bool {
        self.down_until.lock().is_some_and(|t| now < t)
    }
}

/// The endpoints now, in the ring's order.
#[derive(Default)]
struct Endpoints {
    ring: Ring,
    list: Vec<Arc<Endpoint>>,
}

/// A part of a batch with the room held for it in one endpoint's queue.
pub struct Placed {
    /// The room, or the drop when that queue drops on overflow.
    pub admission: Admission,
    /// The endpoint's queue.
    pub queue: Arc<QueuedExporter>,
    /// The part (the whole batch when it did not split).
    pub batch: Arc<Batch>,
}

impl Placed {
    /// Puts the batch in its room, or counts its drop (`queue_full`).
    pub fn commit(self) {
        match self.admission {
            Admission::Reserved(r) => r.commit(self.batch),
            Admission::Dropped => self.queue.count_dropped(&self.batch, "queue_full"),
        }
    }
}

/// The endpoints of one `load_balancing` exporter and how batches are spread over them.
pub struct Balancer {
    id: Arc<str>,
    key: Option<RoutingKey>,
    down_for: Duration,
    delivery: DeliverySettings,
    factory: EndpointFactory,
    metrics: Metrics,
    now: RwLock<Arc<Endpoints>>,
    retiring: Mutex<Vec<Arc<Endpoint>>>,
    stop: watch::Sender<bool>,
}

impl Balancer {
    /// A balancer `id` routing by `key` (`None`: the signal's default), with no endpoint yet
    /// ([`Balancer::set_endpoints`] adds them). Each endpoint's exporter is put behind a queue
    /// of its own with `delivery` (in memory: its `storage` is not used).
    pub fn new(
        id: &str,
        key: Option<RoutingKey>,
        down_for: Duration,
        delivery: DeliverySettings,
        factory: EndpointFactory,
        metrics: Metrics,
    ) -> Arc<Self> {
        Arc::new(Self {
            id: Arc::from(id),
            key,
            down_for,
            delivery,
            factory,
            metrics,
            now: RwLock::new(Arc::default()),
            retiring: Mutex::new(Vec::new()),
            stop: watch::channel(false).0,
        })
    }

    /// The exporter id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Turns true when the balancer is draining: resolvers stop then.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// The endpoints now, sorted.
    pub fn endpoints(&self) -> Vec<String> {
        self.now
            .read()
            .list
            .iter()
            .map(|e| e.name.to_string())
            .collect()
    }

    /// Routes over `names` from now on. Endpoints kept keep their queue; new ones get one;
    /// removed ones retire (their queued batches are routed again). Fails when an endpoint's
    /// exporter cannot be built; the endpoints stay as they were then.
    pub fn set_endpoints(self: &Arc<Self>, names: &[String]) -> Result<(), String> {
        let mut names: Vec<String> = names.to_vec();
        names.sort();
        names.dedup();
        let current = Arc::clone(&self.now.read());
        if current
            .list
            .iter()
            .map(|e| &*e.name)
            .eq(names.iter().map(String::as_str))
        {
            return Ok(());
        }
        let mut list = Vec::with_capacity(names.len());
        for name in &names {
            match current.list.iter().find(|e| *e.name == **name) {
                Some(e) => list.push(Arc::clone(e)),
                None => {
                    let fallback: Arc<dyn Fallback> = Arc::new(Handoff {
                        balancer: Arc::downgrade(self),
                        endpoint: Arc::from(name.as_str()),
                    });
                    let exporter_id = format!("{}/{name}", self.id);
                    let exporter = (self.factory)(name, &exporter_id)
                        .map_err(|e| format!("endpoint {name}: {e}"))?;
                    let queue = QueuedExporter::start_with_fallback(
                        &exporter_id,
                        exporter,
                        &self.delivery.queue,
                        self.delivery.retry.clone(),
                        self.delivery.timeout,
                        self.metrics.clone(),
                        Some(fallback),
                    );
                    list.push(Arc::new(Endpoint {
                        name: Arc::from(name.as_str()),
                        queue,
                        down_until: Mutex::new(None),
                    }));
                }
            }
        }
        let removed: Vec<Arc<Endpoint>> = current
            .list
            .iter()
            .filter(|e| !names.iter().any(|n| **n == *e.name))
            .cloned()
            .collect();
        *self.now.write() = Arc::new(Endpoints {
            ring: Ring::new(names.iter().map(String::as_str)),
            list,
        });
        self.metrics
            .counter(catalogue::LOADBALANCER_ENDPOINTS, &[&self.id])
            .set(names.len() as u64);
        tracing::info!(exporter = %self.id, endpoints = ?names, "load balancing endpoints changed");
        for e in removed {
            self.retire(e);
        }
        Ok(())
    }

    /// Takes `endpoint` out: its queued batches go to the others, its sends finish.
    fn retire(self: &Arc<Self>, endpoint: Arc<Endpoint>) {
        self.retiring.lock().push(Arc::clone(&endpoint));
        let this = Arc::clone(self);
        // Its bundles waiting for a retry go to the endpoints that stay, now.
        endpoint
            .queue
            .hand_over_to(Arc::new(BackToBalancer(Arc::downgrade(self))));
        tokio::spawn(async move {
            let batches = endpoint.queue.retire();
            let records: u64 = batches.iter().map(|b| b.record_count()).sum();
            for batch in batches {
                if !this.requeue(&batch).await {
                    endpoint.queue.count_dropped(&batch, "endpoint_removed");
                }
            }
            tracing::info!(exporter = %this.id, endpoint = %endpoint.name, rerouted_records = records, "endpoint removed");
            endpoint.queue.drain(RETIRE_TIMEOUT).await;
            this.retiring.lock().retain(|e| !Arc::ptr_eq(e, &endpoint));
        });
    }

    /// Routes `batch` again (from a removed endpoint), waiting for room as a client would.
    async fn requeue(&self, batch: &Arc<Batch>) -> bool {
        match self.reserve(batch).await {
            Ok(placed) => {
                commit(placed);
                true
            }
            Err(_) => false,
        }
    }

    /// Room for every part of `batch` in its endpoint's queue, waiting as each queue's
    /// overflow settings say; all parts or none. Endpoints marked down are passed over
    /// while another is up.
    pub async fn reserve(&self, batch: &Arc<Batch>) -> Result<Vec<Placed>, ReserveError> {
        let endpoints = Arc::clone(&self.now.read());
        let parts = self.split(&endpoints, batch, None)?;
        let mut placed = Vec::with_capacity(parts.len());
        for (i, part) in parts {
            let queue = Arc::clone(&endpoints.list[i].queue);
            let admission = queue.reserve(&part).await?;
            placed.push(Placed {
                admission,
                queue,
                batch: part,
            });
        }
        Ok(placed)
    }

    /// Room, now, for every part of `batch` among the endpoints that are up other than
    /// `from`; all parts or none.
    fn place_elsewhere(&self, batch: &Arc<Batch>, from: &str) -> Result<Vec<Placed>, ReserveError> {
        let endpoints = Arc::clone(&self.now.read());
        let parts = self.split(&endpoints, batch, Some(from))?;
        let mut placed = Vec::with_capacity(parts.len());
        for (i, part) in parts {
            let queue = Arc::clone(&endpoints.list[i].queue);
            let r = queue.try_reserve(&part)?;
            placed.push(Placed {
                admission: Admission::Reserved(r),
                queue,
                batch: part,
            });
        }
        Ok(placed)
    }

    /// The parts of `batch` by endpoint index. Without `from`: over the endpoints that are
    /// up, or all of them when none is. With `from`: over the others that are up only.
    fn split(
        &self,
        endpoints: &Endpoints,
        batch: &Arc<Batch>,
        from: Option<&str>,
    ) -> Result<Vec<(usize, Arc<Batch>)>, ReserveError> {
        let t = Instant::now();
        let up = |i: usize| {
            let e = &endpoints.list[i];
            from.is_none_or(|f| *e.name != *f) && !e.is_down(t)
        };
        let any_up = (0..endpoints.list.len()).any(up);
        let usable = |i: usize| {
            if any_up || from.is_some() {
                up(i)
            } else {
                true
            }
        };
        if !(0..endpoints.list.len()).any(usable) {
            return Err(ReserveError::NoEndpoint);
        }
        let key = self
            .key
            .clone()
            .unwrap_or_else(|| RoutingKey::default_for(batch.kind()));
        let mut pick = |h: u64| endpoints.ring.pick(h, usable).unwrap_or_default();
        Ok(match route(batch, &key, &mut pick) {
            Routed::One(i) => vec![(i, Arc::clone(batch))],
            Routed::Split(parts) => parts
                .into_iter()
                .map(|(i, signal)| {
                    let part = Batch::new(batch.ctx.clone(), signal);
                    (i, Arc::new(part))
                })
                .collect(),
        })
    }

    /// True when every endpoint's queue could take a batch now.
    pub fn has_room(&self) -> bool {
        self.now.read().list.iter().all(|e| e.queue.has_room())
    }

    /// Waits, from `since`, until every endpoint's queue could take a batch
    /// ([`QueuedExporter::wait_for_room`]).
    pub async fn wait_for_room(&self, since: Instant) -> bool {
        let endpoints = Arc::clone(&self.now.read());
        for e in &endpoints.list {
            if !e.queue.wait_for_room(since).await {
                return false;
            }
        }
        true
    }

    /// Every endpoint's queue, retiring ones included.
    pub fn queues(&self) -> Vec<Arc<QueuedExporter>> {
        let mut out: Vec<_> = self
            .now
            .read()
            .list
            .iter()
            .map(|e| Arc::clone(&e.queue))
            .collect();
        out.extend(self.retiring.lock().iter().map(|e| Arc::clone(&e.queue)));
        out
    }

    /// Closes every endpoint's queue and takes out what waits there (a reload hands it to
    /// the exporter replacing this one).
    pub fn retire_all(&self) -> Vec<Arc<Batch>> {
        self.queues().iter().flat_map(|q| q.retire()).collect()
    }

    /// Hands every endpoint's bundles waiting to be retried to `to` (a reload replaced this
    /// exporter).
    pub fn hand_over_to(&self, to: &Arc<dyn Handover>) {
        for q in self.queues() {
            q.hand_over_to(Arc::clone(to));
        }
    }

    /// Records queued in every endpoint.
    pub fn queued_records(&self) -> u64 {
        self.queues().iter().map(|q| q.queued_records()).sum()
    }

    /// Stops the resolver and drains every endpoint's queue until `timeout`
    /// ([`QueuedExporter::drain`]).
    pub async fn drain(&self, timeout: Duration) {
        self.stop.send_replace(true);
        join_all(self.queues().iter().map(|q| q.drain(timeout))).await;
    }

    /// Hands `bundle`, given up by `from`, to the other endpoints (that are up) its keys pick,
    /// without waiting for room; marks `from` down. False when they cannot take it all.
    fn hand_off(&self, bundle: &Bundle, from: &str) -> bool {
        let endpoints = Arc::clone(&self.now.read());
        if let Some(e) = endpoints.list.iter().find(|e| *e.name == *from) {
            let mut down = e.down_until.lock();
            if down.is_none_or(|t| t <= Instant::now()) {
                tracing::warn!(exporter = %self.id, endpoint = from, down_for_ms = self.down_for.as_millis() as u64, "endpoint marked down");
            }
            *down = Some(Instant::now() + self.down_for);
        }
        let mut all = Vec::new();
        for part in bundle.parts() {
            match self.place_elsewhere(part, from) {
                Ok(placed) => all.extend(placed),
                Err(_) => return false,
            }
        }
        commit(all);
        true
    }

    /// True when `endpoint` is marked down now and another endpoint is up to take its
    /// bundles (when every one is down, each keeps trying its own).
    fn diverts(&self, endpoint: &str) -> bool {
        let t = Instant::now();
        let endpoints = self.now.read();
        let (this, others): (Vec<_>, Vec<_>) =
            endpoints.list.iter().partition(|e| *e.name == *endpoint);
        this.iter().any(|e| e.is_down(t)) && others.iter().any(|e| !e.is_down(t))
    }
}

/// Commits every part into its room (or counts its drop).
fn commit(placed: Vec<Placed>) {
    for p in placed {
        p.commit();
    }
}

/// A removed endpoint's way to give its bundles waiting for a retry back to the balancer,
/// which routes them over the endpoints that stay.
struct BackToBalancer(Weak<Balancer>);

impl Handover for BackToBalancer {
    fn hand(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, bool> {
        let balancer = self.0.clone();
        Box::pin(async move {
            let Some(b) = balancer.upgrade() else {
                return false;
            };
            for part in bundle.parts() {
                if !b.requeue(part).await {
                    return false;
                }
            }
            true
        })
    }
}

/// An endpoint's way to hand bundles back to its balancer.
struct Handoff {
    balancer: Weak<Balancer>,
    endpoint: Arc<str>,
}

impl Fallback for Handoff {
    fn diverts(&self) -> bool {
        self.balancer
            .upgrade()
            .is_some_and(|b| b.diverts(&self.endpoint))
    }

    fn take(&self, bundle: &Bundle) -> bool {
        self.balancer
            .upgrade()
            .is_some_and(|b| b.hand_off(bundle, &self.endpoint))
    }
}

#[cfg(test)]
mod tests;
