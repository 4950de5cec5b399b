//! `tenant_limit`'s shared store: the tenants' limits kept in Redis, so a tier of replicas
//! enforces one limit per tenant instead of one per replica.
//!
//! - **One round trip per request**: `check.lua` runs GCRA over the tenant's three limits on
//!   Redis's own clock (`TIME`), so replicas share one clock, and writes the new states only
//!   when every limit passes (a refused request spends nothing). The script is sent by its
//!   SHA1 (`EVALSHA`); a server that does not know it yet gets it once more in full.
//! - **`local_budget`**: a request may take that many records more than it needs, held by this
//!   replica ([`prepaid`]) for the tenant's next requests, which then need no round trip.
//! - **Failures**: a round trip that times out (`redis.timeout`, connecting included) or fails
//!   gives the store up for `retry_interval` ([`breaker`]): requests are decided by `fallback`
//!   without calling Redis, then one request tries again. Counted in
//!   `weir_tenant_limit_store_failures_total{processor,reason}` and
//!   `weir_tenant_limit_fallback_requests_total{processor,fallback}`, shown by
//!   `weir_tenant_limit_store_up{processor}` and in `/health` ([`StoreHealth`]); the first failure
//!   of an outage and the recovery are logged.
//! - **Refunds** go back to the store in a round trip of their own, off the request's path;
//!   one that fails is lost (the tenant paid for a request weir refused).
//!
//! Building fails with [`StoreError`] when the endpoint cannot be used or `tls.ca_file` cannot
//! be read. The connection is opened by the first request, not at start, so weir starts while
//! Redis is down.

mod breaker;
pub mod config;
mod health;
mod prepaid;

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, IntoConnectionInfo, Script};
use weir_pipeline::metrics::{Counter, catalogue};
use weir_pipeline::{Metrics, TenantId};

use breaker::Breaker;
pub(super) use breaker::Route;
pub use config::{Fallback, RedisConfig, StoreConfig};
pub use health::{StoreHealth, StoreStatus};
use prepaid::Prepaid;

/// Why the store could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The endpoint or credentials are not usable.
    #[error("store.redis.endpoint: {0}")]
    Endpoint(String),
    /// `tls.ca_file` could not be read.
    #[error("store.redis.tls.ca_file: cannot read {path}: {source}")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// What one round trip failed of.
#[derive(Debug, thiserror::Error)]
pub(super) enum TripError {
    /// No answer within `redis.timeout`.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Redis or the connection answered an error.
    #[error("{0}")]
    Redis(#[from] redis::RedisError),
}

/// One limit of a request as the store checks it: microseconds per unit (`0.0` when the kind
/// is not limited), the burst in microseconds, and the units the request spends.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Spend {
    /// Microseconds one unit adds to the state.
    pub unit_us: f64,
    /// The burst, in microseconds.
    pub burst_us: f64,
    /// Units of this request.
    pub n: u64,
}

/// What the store decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reply {
    /// Admitted; `extra` records were taken ahead for this replica.
    Admitted {
        /// Records taken beyond the request's own.
        extra: u64,
    },
    /// Refused: it would pass after `after`, over the limit of kind index `kind`.
    Wait {
        /// When it would pass.
        after: Duration,
        /// The limit (index in kind order) that wants the longest wait.
        kind: usize,
    },
}

/// The shared store of one `tenant_limit` processor.
pub(super) struct SharedStore {
    /// The processor id, for logs.
    id: String,
    /// `key_prefix` + processor id + `:`; the tenant id follows.
    key_prefix: String,
    client: Client,
    manager_config: ConnectionManagerConfig,
    /// Opened by the first request; dropped after a failure so the next probe opens a new one.
    manager: Mutex<Option<ConnectionManager>>,
    check: Script,
    refund: Script,
    timeout: Duration,
    retry_interval: Duration,
    /// What decides while the store is given up.
    pub fallback: Fallback,
    /// Records taken ahead per round trip.
    pub local_budget: u64,
    breaker: Breaker,
    prepaid: Prepaid,
    health: StoreHealth,
    timeouts: Counter,
    errors: Counter,
    fallbacks: Counter,
    up: Counter,
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStore")
            .field("id", &self.id)
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}

impl SharedStore {
    /// The store of processor `id` from `cfg`; opens nothing yet.
    pub(super) fn new(id: &str, cfg: &StoreConfig, metrics: &Metrics) -> Result<Self, StoreError> {
        let r = &cfg.redis;
        let mut info = r
            .endpoint
            .as_str()
            .into_connection_info()
            .map_err(|e| StoreError::Endpoint(e.to_string()))?;
        let mut settings = info.redis_settings().clone();
        if let Some(user) = &r.username {
            settings = settings.set_username(user);
        }
        if let Some(password) = &r.password {
            settings = settings.set_password(password);
        }
        info = info.set_redis_settings(settings);
        if r.endpoint.starts_with("rediss://") {
            // rustls on ring; a no-op when the process installed it already.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client = match &r.tls.ca_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|source| StoreError::CaFile {
                    path: path.display().to_string(),
                    source,
                })?;
                let certs = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                };
                Client::build_with_tls(info, certs)
            }
            None => Client::open(info),
        }
        .map_err(|e| StoreError::Endpoint(e.to_string()))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(r.timeout))
            .set_response_timeout(Some(r.timeout))
            .set_number_of_retries(1);
        let counter = |def, extra: &str| metrics.counter(def, &[id, extra]);
        let up = metrics.counter(catalogue::TENANT_LIMIT_STORE_UP, &[id]);
        up.set(1);
        Ok(Self {
            id: id.to_owned(),
            key_prefix: format!("{}{id}:", r.key_prefix),
            client,
            manager_config,
            manager: Mutex::new(None),
            check: Script::new(include_str!("check.lua")),
            refund: Script::new(include_str!("refund.lua")),
            timeout: r.timeout,
            retry_interval: cfg.retry_interval,
            fallback: cfg.fallback,
            local_budget: cfg.local_budget,
            breaker: Breaker::default(),
            prepaid: Prepaid::default(),
            health: StoreHealth::new(&r.endpoint, cfg.fallback, cfg.retry_interval),
            timeouts: counter(catalogue::TENANT_LIMIT_STORE_FAILURES, "timeout"),
            errors: counter(catalogue::TENANT_LIMIT_STORE_FAILURES, "error"),
            fallbacks: counter(
                catalogue::TENANT_LIMIT_FALLBACK_REQUESTS,
                cfg.fallback.as_str(),
            ),
            up,
        })
    }

    /// What `/health` shows of this store.
    pub(super) fn health(&self) -> StoreHealth {
        self.health.clone()
    }

    /// Where a request arriving now goes; counts a fallback decision.
    pub(super) fn route(&self) -> Route {
        let route = self.breaker.route(Instant::now());
        if route == Route::Fallback {
            self.count_fallback();
        }
        route
    }

    /// Counts a request decided by the fallback.
    pub(super) fn count_fallback(&self) {
        self.fallbacks.add(1);
        self.health.fell_back();
    }

    /// How long the fallback decides after a failure.
    pub(super) fn retry_interval(&self) -> Duration {
        self.retry_interval
    }

    /// True while the fallback decides.
    pub(super) fn is_down(&self) -> bool {
        self.breaker.is_down()
    }

    /// Takes `n` records of `tenant` from what this replica holds ahead; false when it holds
    /// fewer.
    pub(super) fn take_prepaid(&self, tenant: &TenantId, n: u64) -> bool {
        self.local_budget > 0 && self.prepaid.take(tenant, n)
    }

    /// Holds `n` records of `tenant` ahead (taken by a round trip, or refunded).
    pub(super) fn add_prepaid(&self, tenant: &TenantId, n: u64) {
        self.prepaid.add(tenant, n);
    }

    /// The connection, opened on first use.
    fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        let mut slot = self.manager.lock();
        if let Some(m) = slot.as_ref() {
            return Ok(m.clone());
        }
        let m = ConnectionManager::new_lazy_with_config(
            self.client.clone(),
            self.manager_config.clone(),
        )?;
        *slot = Some(m.clone());
        Ok(m)
    }

    /// One round trip: checks `spends` (records, bytes, requests) for `tenant`, asking for
    /// `extra` records ahead. A failure gives the store up for `retry_interval` and is counted;
    /// the caller then decides by the fallback.
    pub(super) async fn check(
        &self,
        tenant: &TenantId,
        spends: &[Spend; 3],
        extra: u64,
    ) -> Result<Reply, TripError> {
        let mut call = self.check.key(format!("{}{tenant}", self.key_prefix));
        call.arg(extra);
        for s in spends {
            call.arg(s.unit_us).arg(s.burst_us).arg(s.n);
        }
        let answer = async {
            let mut conn = self.connection()?;
            call.invoke_async::<(u64, u64, i64)>(&mut conn).await
        };
        let result = match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(TripError::Redis(e)),
            Err(_) => Err(TripError::Timeout(self.timeout)),
        };
        match result {
            Ok((granted, 0, _)) => {
                self.recovered();
                Ok(Reply::Admitted { extra: granted })
            }
            Ok((_, wait_us, kind)) => {
                self.recovered();
                Ok(Reply::Wait {
                    after: Duration::from_micros(wait_us),
                    kind: usize::try_from(kind).unwrap_or(0).min(2),
                })
            }
            Err(e) => {
                self.failed(&e);
                Err(e)
            }
        }
    }

    /// Gives `spends` back to `tenant` in the store, in a task of its own (when a runtime is
    /// there); a failure is logged at debug level and otherwise lost.
    pub(super) fn refund(&self, tenant: &TenantId, spends: &[Spend; 3]) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Ok(mut conn) = self.connection() else {
            return;
        };
        let script = self.refund.clone();
        let key = format!("{}{tenant}", self.key_prefix);
        let spends = *spends;
        let (timeout, id) = (self.timeout, self.id.clone());
        runtime.spawn(async move {
            let mut call = script.key(key);
            for s in spends {
                call.arg(s.unit_us).arg(s.n);
            }
            let sent = tokio::time::timeout(timeout, call.invoke_async::<i64>(&mut conn));
            if !matches!(sent.await, Ok(Ok(_))) {
                tracing::debug!(processor = %id, "tenant_limit: a refund did not reach the store");
            }
        });
    }

    fn recovered(&self) {
        if self.breaker.succeeded() {
            self.up.set(1);
            tracing::info!(processor = %self.id, "tenant_limit: the shared store answers again");
        }
        self.health.answered();
    }

    fn failed(&self, e: &TripError) {
        match e {
            TripError::Timeout(_) => self.timeouts.add(1),
            TripError::Redis(_) => self.errors.add(1),
        }
        // The next probe opens a fresh connection.
        *self.manager.lock() = None;
        self.up.set(0);
        self.health.failed(&e.to_string());
        if self.breaker.failed(Instant::now(), self.retry_interval) {
            tracing::warn!(
                processor = %self.id,
                error = %e,
                fallback = self.fallback.as_str(),
                retry_interval_ms = self.retry_interval.as_millis() as u64,
                "tenant_limit: the shared store failed; deciding by the fallback"
            );
        }
    }
}

/// `Arc` so the processor and `/health` share one.
pub(super) type Shared = Arc<SharedStore>;
