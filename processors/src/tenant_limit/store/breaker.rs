//! When to ask the shared store and when to fall back: after a failed round trip the store is
//! given up for `retry_interval`; then one request (the probe) asks again while the others keep
//! to the fallback, so a dead or slow store costs at most one timeout per interval. Pure state
//! on instants the caller passes, so tests drive it without waiting. Nothing here fails.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// What a request should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::tenant_limit) enum Route {
    /// Ask the store.
    Ask,
    /// Decide by the fallback, without asking.
    Fallback,
}

/// The store's reachability as this replica sees it.
#[derive(Debug, Default)]
pub(super) struct Breaker {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Until when the fallback decides; `None` while the store answers.
    down_until: Option<Instant>,
    /// A probe is in flight: the others keep to the fallback until it ends.
    probing: bool,
}

impl Breaker {
    /// Where a request arriving at `now` goes.
    pub(super) fn route(&self, now: Instant) -> Route {
        let mut s = self.state.lock();
        match s.down_until {
            None => Route::Ask,
            Some(until) if now < until || s.probing => Route::Fallback,
            Some(_) => {
                s.probing = true;
                Route::Ask
            }
        }
    }

    /// A round trip answered: the store decides again. True when it was given up before.
    pub(super) fn succeeded(&self) -> bool {
        let mut s = self.state.lock();
        s.probing = false;
        s.down_until.take().is_some()
    }

    /// A round trip failed at `now`: the fallback decides for `interval`. True when the store
    /// was answering before (the first failure of an outage).
    pub(super) fn failed(&self, now: Instant, interval: Duration) -> bool {
        let mut s = self.state.lock();
        s.probing = false;
        s.down_until.replace(now + interval).is_none()
    }

    /// True while the fallback decides (or a probe is out).
    pub(super) fn is_down(&self) -> bool {
        self.state.lock().down_until.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_falls_back_for_the_interval_then_one_request_probes() {
        let b = Breaker::default();
        let t0 = Instant::now();
        let second = Duration::from_secs(1);
        assert_eq!(b.route(t0), Route::Ask);
        assert!(b.failed(t0, second), "first failure of an outage");
        assert!(b.is_down());
        assert_eq!(b.route(t0 + Duration::from_millis(999)), Route::Fallback);
        // After the interval exactly one request asks; the others fall back meanwhile.
        assert_eq!(b.route(t0 + second), Route::Ask);
        assert_eq!(b.route(t0 + second), Route::Fallback);
        // The probe fails again: another interval, not a new outage.
        assert!(!b.failed(t0 + second, second));
        assert_eq!(b.route(t0 + Duration::from_millis(1500)), Route::Fallback);
        assert_eq!(b.route(t0 + 2 * second), Route::Ask);
        // It answers: everyone asks again.
        assert!(b.succeeded());
        assert!(!b.is_down());
        assert_eq!(b.route(t0 + 2 * second), Route::Ask);
        assert_eq!(b.route(t0 + 2 * second), Route::Ask);
        assert!(!b.succeeded(), "already up");
    }
}
