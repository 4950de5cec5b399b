//! What `/health` shows of a shared store: whether it answers, since when it does not, the
//! last error, and how many requests the fallback decided. Shared between the processor and
//! the admin listener; nothing here fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

use super::config::Fallback;

/// A handle on one store's health; cheap to clone.
#[derive(Debug, Clone)]
pub struct StoreHealth(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    endpoint: String,
    fallback: Fallback,
    retry_interval: Duration,
    fallback_requests: AtomicU64,
    failures: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug, Default, Clone)]
struct State {
    last_success: Option<SystemTime>,
    down_since: Option<SystemTime>,
    last_error: Option<(SystemTime, String)>,
}

/// One reading of a store's health.
#[derive(Debug, Clone)]
pub struct StoreStatus {
    /// `redis.endpoint`.
    pub endpoint: String,
    /// The configured fallback.
    pub fallback: Fallback,
    /// The configured `retry_interval`.
    pub retry_interval: Duration,
    /// True while the fallback decides.
    pub on_fallback: bool,
    /// When the store last answered.
    pub last_success: Option<SystemTime>,
    /// When the current outage began.
    pub down_since: Option<SystemTime>,
    /// The last failure and when.
    pub last_error: Option<(SystemTime, String)>,
    /// Requests the fallback decided since start.
    pub fallback_requests: u64,
    /// Failed round trips since start.
    pub failures: u64,
}

impl StoreHealth {
    pub(super) fn new(endpoint: &str, fallback: Fallback, retry_interval: Duration) -> Self {
        Self(Arc::new(Inner {
            endpoint: endpoint.to_owned(),
            fallback,
            retry_interval,
            fallback_requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        }))
    }

    pub(super) fn answered(&self) {
        let mut s = self.0.state.lock();
        s.last_success = Some(SystemTime::now());
        s.down_since = None;
    }

    pub(super) fn failed(&self, message: &str) {
        self.0.failures.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now();
        let mut s = self.0.state.lock();
        s.down_since.get_or_insert(now);
        s.last_error = Some((now, message.to_owned()));
    }

    pub(super) fn fell_back(&self) {
        self.0.fallback_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// The store's health now.
    pub fn status(&self) -> StoreStatus {
        let s = self.0.state.lock().clone();
        StoreStatus {
            endpoint: self.0.endpoint.clone(),
            fallback: self.0.fallback,
            retry_interval: self.0.retry_interval,
            on_fallback: s.down_since.is_some(),
            last_success: s.last_success,
            down_since: s.down_since,
            last_error: s.last_error,
            fallback_requests: self.0.fallback_requests.load(Ordering::Relaxed),
            failures: self.0.failures.load(Ordering::Relaxed),
        }
    }
}
