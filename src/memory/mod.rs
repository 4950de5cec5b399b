//! The process-wide memory limit of the `memory_limiter` processor.
//!
//! One `memory_limiter` in any pipeline turns it on (its place in the list does not matter; the
//! processor itself passes batches on unchanged). One background task measures the process's
//! resident memory every `check_interval` ([`sources`]) and stores it in an atomic, with
//! whether it is at or past the soft limit (`limit − spike`); the receivers read that flag
//! before reading a request's body and refuse while it is set (503 + `Retry-After` /
//! UNAVAILABLE), so memory is not spent on data weir has no room for. The figures go to
//! `weir_memory_usage_bytes` and `weir_memory_limit_bytes` and to `/health`; readiness is not
//! touched. The task logs at warn when refusal starts and at info when it ends, once per
//! change, never per request.
//!
//! Without a `memory_limiter` the guard is [`MemoryGuard::unlimited`] and never refuses, as in
//! the Collector. Nothing here fails once built; a resident size that cannot be read (not
//! Linux) keeps the last figure.

pub mod config;
pub mod sources;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use weir_pipeline::Metrics;
use weir_pipeline::metrics::catalogue;

pub use config::{Limits, MemoryLimiterConfig};

/// The refusal reason in `weir_receiver_refused_requests_total`.
pub const REASON: &str = "memory_limited";
/// How long a refused client is told to wait.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// What receivers and the admin listener share of the memory limit; cheap to clone.
#[derive(Clone, Default)]
pub struct MemoryGuard {
    state: Option<Arc<State>>,
}

struct State {
    limits: Limits,
    usage: AtomicU64,
    refusing: AtomicBool,
    metrics: Metrics,
}

impl std::fmt::Debug for MemoryGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryGuard")
            .field("status", &self.status())
            .finish()
    }
}

/// The memory figures as `/health` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MemoryStatus {
    /// Resident memory at the last check, in bytes.
    pub usage_bytes: u64,
    /// The hard limit.
    pub limit_bytes: u64,
    /// Where refusal starts (`limit − spike`).
    pub soft_limit_bytes: u64,
    /// Whether receivers refuse requests now.
    pub refusing: bool,
}

impl MemoryGuard {
    /// No limit: never refuses.
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// A guard for `limits`, not yet measuring: call [`MemoryGuard::observe`] or
    /// [`MemoryGuard::spawn_sampler`].
    pub fn new(limits: Limits, metrics: Metrics) -> Self {
        metrics
            .counter(catalogue::MEMORY_LIMIT_BYTES, &[])
            .set(limits.limit);
        Self {
            state: Some(Arc::new(State {
                limits,
                usage: AtomicU64::new(0),
                refusing: AtomicBool::new(false),
                metrics,
            })),
        }
    }

    /// Whether a request should be refused now: one atomic load, no system call.
    pub fn refusing(&self) -> bool {
        self.state
            .as_ref()
            .is_some_and(|s| s.refusing.load(Ordering::Relaxed))
    }

    /// The figures, or `None` without a limit.
    pub fn status(&self) -> Option<MemoryStatus> {
        self.state.as_ref().map(|s| MemoryStatus {
            usage_bytes: s.usage.load(Ordering::Relaxed),
            limit_bytes: s.limits.limit,
            soft_limit_bytes: s.limits.soft(),
            refusing: s.refusing.load(Ordering::Relaxed),
        })
    }

    /// The message a refused client gets.
    pub fn message(&self) -> String {
        match self.status() {
            Some(s) => format!(
                "weir is at its memory limit ({} MiB resident, refusing from {} MiB); retry later",
                s.usage_bytes >> 20,
                s.soft_limit_bytes >> 20
            ),
            None => "weir is at its memory limit; retry later".into(),
        }
    }

    /// Records one measurement: stores it, sets the gauge, and starts or stops refusing (logged
    /// once per change).
    pub fn observe(&self, usage: u64) {
        let Some(s) = &self.state else { return };
        s.usage.store(usage, Ordering::Relaxed);
        s.metrics
            .counter(catalogue::MEMORY_USAGE_BYTES, &[])
            .set(usage);
        let refuse = usage >= s.limits.soft();
        if s.refusing.swap(refuse, Ordering::Relaxed) == refuse {
            return;
        }
        let (usage_mib, soft_mib, limit_mib) =
            (usage >> 20, s.limits.soft() >> 20, s.limits.limit >> 20);
        if refuse {
            tracing::warn!(
                usage_mib,
                soft_limit_mib = soft_mib,
                limit_mib,
                "memory usage past the soft limit: refusing requests"
            );
        } else {
            tracing::info!(
                usage_mib,
                soft_limit_mib = soft_mib,
                limit_mib,
                "memory usage back under the soft limit: accepting requests"
            );
        }
    }

    /// Measures now, then every `interval` on a task of the current runtime, until every clone
    /// of this guard is dropped.
    pub fn spawn_sampler(&self, interval: Duration) {
        let Some(s) = &self.state else { return };
        let weak: Weak<State> = Arc::downgrade(s);
        if let Some(usage) = sources::resident_bytes() {
            self.observe(usage);
        }
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(state) = weak.upgrade() else { return };
                if let Some(usage) = sources::resident_bytes() {
                    MemoryGuard { state: Some(state) }.observe(usage);
                }
            }
        });
    }
}

/// Counts one request refused for memory before its body was read, in
/// `weir_receiver_refused_requests_total{signal,receiver,reason="memory_limited"}`.
pub fn count_refused(metrics: &Metrics, signal: &str, receiver: &str) {
    metrics
        .counter(
            catalogue::RECEIVER_REFUSED_REQUESTS,
            &[signal, receiver, REASON],
        )
        .add(1);
}

/// The guard a validated config asks for: unlimited without a `memory_limiter` in a pipeline.
/// Fails when the limit is a percentage and the memory available cannot be read.
pub fn guard_for(config: &crate::config::Config, metrics: &Metrics) -> Result<MemoryGuard, String> {
    let Some(c) = config::active(config) else {
        return Ok(MemoryGuard::unlimited());
    };
    let limits = c.limits(sources::total_bytes())?;
    tracing::info!(
        limit_mib = limits.limit >> 20,
        spike_limit_mib = limits.spike >> 20,
        check_interval_ms = c.check_interval.as_millis() as u64,
        "memory limit: receivers refuse requests past limit - spike (resident memory)"
    );
    let guard = MemoryGuard::new(limits, metrics.clone());
    guard.spawn_sampler(c.check_interval);
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn refuses_from_the_soft_limit_until_usage_falls_under_it() {
        let metrics = Metrics::new();
        let guard = MemoryGuard::new(Limits::new(100 * MIB, 20 * MIB), metrics.clone());
        guard.observe(79 * MIB);
        assert!(!guard.refusing());
        guard.observe(80 * MIB);
        assert!(guard.refusing(), "from limit - spike on");
        assert!(guard.clone().refusing(), "clones share the state");
        guard.observe(120 * MIB);
        assert!(guard.refusing());
        assert_eq!(
            metrics.value(catalogue::MEMORY_USAGE_BYTES, &[]),
            Some(120 * MIB)
        );
        assert_eq!(
            metrics.value(catalogue::MEMORY_LIMIT_BYTES, &[]),
            Some(100 * MIB)
        );
        guard.observe(10 * MIB);
        assert!(!guard.refusing());
        let s = guard.status().expect("limited");
        assert_eq!(
            (s.usage_bytes, s.limit_bytes, s.soft_limit_bytes, s.refusing),
            (10 * MIB, 100 * MIB, 80 * MIB, false)
        );
    }

    #[test]
    fn without_a_limit_nothing_is_refused_or_shown() {
        let guard = MemoryGuard::unlimited();
        guard.observe(u64::MAX);
        assert!(!guard.refusing());
        assert_eq!(guard.status(), None);
    }

    #[tokio::test]
    async fn the_sampler_measures_at_once() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let guard = MemoryGuard::new(Limits::new(1, 0), Metrics::new());
        guard.spawn_sampler(Duration::from_secs(3600));
        assert!(guard.refusing(), "any process is above one byte");
        assert!(guard.status().is_some_and(|s| s.usage_bytes > 0));
    }
}
