//! The cardinality guard: at most `max_label_sets_per_tenant` distinct label sets per tenant,
//! counted over a sliding pair of windows, so one tenant's runaway label cannot create
//! unbounded Loki streams (and hit Loki's `max_streams_per_user` for everyone of that tenant).
//!
//! A label set is known while it was seen in the current or the previous window; at each
//! window's end the previous one is forgotten, so memory is bounded by two windows' worth of
//! hashes per tenant, and tenants with nothing in either window are forgotten entirely. A set
//! refused here is not an error: the caller sends the entry with fewer labels. Nothing fails.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Distinct label sets per tenant, limited.
pub(crate) struct LabelGuard {
    limit: usize,
    window: Duration,
    hasher: RandomState,
    state: Mutex<State>,
}

struct State {
    window_started: Instant,
    tenants: HashMap<String, Sets>,
}

#[derive(Default)]
struct Sets {
    current: HashSet<u64>,
    previous: HashSet<u64>,
    warned: bool,
}

/// One tenant's sets, borrowed while a bundle is encoded.
pub(crate) struct TenantSets<'a> {
    sets: Option<&'a mut Sets>,
    limit: usize,
    hasher: &'a RandomState,
}

impl LabelGuard {
    /// A guard of `limit` sets per tenant (0: no limit) seen within `window`.
    pub(crate) fn new(limit: usize, window: Duration, now: Instant) -> Self {
        Self {
            limit,
            window,
            hasher: RandomState::new(),
            state: Mutex::new(State {
                window_started: now,
                tenants: HashMap::new(),
            }),
        }
    }

    /// Runs `f` with `tenant`'s sets, after rolling the window over when `now` is past it.
    pub(crate) fn with_tenant<R>(
        &self,
        tenant: &str,
        now: Instant,
        f: impl FnOnce(&mut TenantSets<'_>) -> R,
    ) -> R {
        if self.limit == 0 {
            return f(&mut TenantSets {
                sets: None,
                limit: 0,
                hasher: &self.hasher,
            });
        }
        let mut state = self.state.lock();
        let elapsed = now.saturating_duration_since(state.window_started);
        if elapsed >= self.window.saturating_mul(2) {
            // Nothing was seen in the last window either: every set is forgotten.
            state.window_started = now;
            state.tenants.clear();
        } else if elapsed >= self.window {
            state.window_started = now;
            state.tenants.retain(|_, sets| {
                sets.previous = std::mem::take(&mut sets.current);
                sets.warned = false;
                !sets.previous.is_empty()
            });
        }
        let sets = match state.tenants.get_mut(tenant) {
            Some(sets) => sets,
            None => state.tenants.entry(tenant.to_owned()).or_default(),
        };
        f(&mut TenantSets {
            sets: Some(sets),
            limit: self.limit,
            hasher: &self.hasher,
        })
    }

    /// Tenants currently tracked (for tests).
    #[cfg(test)]
    pub(crate) fn tenants(&self) -> usize {
        self.state.lock().tenants.len()
    }
}

impl TenantSets<'_> {
    /// True when the label set with `selector` may be sent: it is known, or there is room for
    /// it (it is then remembered).
    pub(crate) fn admit(&mut self, selector: &str) -> bool {
        let Some(sets) = self.sets.as_deref_mut() else {
            return true;
        };
        let hash = self.hasher.hash_one(selector);
        if sets.current.contains(&hash) {
            return true;
        }
        if sets.previous.remove(&hash) || sets.current.len() + sets.previous.len() < self.limit {
            sets.current.insert(hash);
            return true;
        }
        false
    }

    /// True the first time in a window that this is asked after a refusal: when to warn.
    pub(crate) fn first_refusal(&mut self) -> bool {
        match self.sets.as_deref_mut() {
            Some(sets) if !sets.warned => {
                sets.warned = true;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn refuses_new_sets_past_the_limit_per_tenant() {
        let start = Instant::now();
        let guard = LabelGuard::new(2, HOUR, start);
        guard.with_tenant("a", start, |t| {
            assert!(t.admit("{x=\"1\"}"));
            assert!(t.admit("{x=\"2\"}"));
            assert!(!t.admit("{x=\"3\"}"), "third distinct set");
            assert!(t.admit("{x=\"1\"}"), "known sets still pass");
            assert!(t.first_refusal());
            assert!(!t.first_refusal(), "warn once per window");
        });
        guard.with_tenant("b", start, |t| {
            assert!(t.admit("{x=\"3\"}"), "tenant b has its own budget");
        });
    }

    #[test]
    fn sets_unseen_for_two_windows_are_forgotten() {
        let start = Instant::now();
        let guard = LabelGuard::new(2, HOUR, start);
        guard.with_tenant("a", start, |t| {
            assert!(t.admit("one") && t.admit("two"));
        });
        // Next window: "one" is seen again (kept), "two" is not.
        let later = start + HOUR;
        guard.with_tenant("a", later, |t| {
            assert!(t.admit("one"));
            assert!(
                !t.admit("three"),
                "two still counts: seen in the previous window"
            );
        });
        let much_later = later + HOUR;
        guard.with_tenant("a", much_later, |t| {
            assert!(t.admit("three"), "two was forgotten");
            assert!(!t.admit("four"), "one and three fill the budget");
        });
        // A tenant idle for two windows is dropped entirely.
        guard.with_tenant("b", much_later, |t| assert!(t.admit("x")));
        let idle = much_later + HOUR * 2;
        guard.with_tenant("c", idle, |_| {});
        assert_eq!(guard.tenants(), 1, "a and b were dropped, c added");
    }

    #[test]
    fn zero_means_no_limit() {
        let start = Instant::now();
        let guard = LabelGuard::new(0, HOUR, start);
        guard.with_tenant("a", start, |t| {
            assert!((0..10_000).all(|i| t.admit(&i.to_string())));
            assert!(!t.first_refusal());
        });
        assert_eq!(guard.tenants(), 0);
    }
}
