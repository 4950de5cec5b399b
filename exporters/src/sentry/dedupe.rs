//! The `dedupe_window` of the `sentry` exporter: the event ids sent lately, so that a second
//! copy of one exception (a span's `exception` event and an ERROR log of the same exception
//! share an event id, see [`super::ids`]) is skipped rather than sent again.
//!
//! An id is claimed when its envelope is about to go, so that a copy arriving while the first
//! is in flight (the SDK flushes spans and logs together) is skipped too; it is forgotten again
//! when Sentry did not take that envelope, so that a later copy may go.
//!
//! Memory is bounded: at most [`MAX_REMEMBERED`] ids, the oldest forgotten first, and ids
//! older than the window are forgotten as new ones come. A zero window remembers nothing.
//! Time is passed in by the caller (the exporter's clock), so tests drive it; nothing here
//! fails.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sentry_types::Uuid;

/// Most event ids remembered at once.
pub const MAX_REMEMBERED: usize = 10_000;

/// Event ids Sentry took within the window, oldest first.
#[derive(Debug)]
pub(crate) struct Recent {
    window: Duration,
    max: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// When each remembered id was taken.
    at: HashMap<Uuid, Instant>,
    /// The same ids in the order they were remembered (an id remembered again appears twice;
    /// only the entry matching `at` counts).
    order: VecDeque<(Uuid, Instant)>,
}

impl Recent {
    /// Remembers ids for `window` (zero: never), at most [`MAX_REMEMBERED`] of them.
    pub(crate) fn new(window: Duration) -> Self {
        Self::with_capacity(window, MAX_REMEMBERED)
    }

    /// [`Recent::new`] with another bound (tests).
    pub(crate) fn with_capacity(window: Duration, max: usize) -> Self {
        Self {
            window,
            max,
            state: Mutex::default(),
        }
    }

    /// True when `id` was claimed less than the window before `now`.
    #[cfg(test)]
    pub(crate) fn contains(&self, id: &Uuid, now: Instant) -> bool {
        if self.window.is_zero() {
            return false;
        }
        self.state
            .lock()
            .at
            .get(id)
            .is_some_and(|at| now.saturating_duration_since(*at) < self.window)
    }

    /// Claims `id` at `now` for sending: false when it was claimed less than the window ago (a
    /// repeat), true otherwise (always, with a zero window). Forgets expired ids and, past
    /// the bound, the oldest.
    pub(crate) fn claim(&self, id: Uuid, now: Instant) -> bool {
        if self.window.is_zero() || self.max == 0 {
            return true;
        }
        let mut state = self.state.lock();
        if state
            .at
            .get(&id)
            .is_some_and(|at| now.saturating_duration_since(*at) < self.window)
        {
            return false;
        }
        self.insert(&mut state, id, now);
        true
    }

    /// Forgets `id`: Sentry did not take it, so a later copy may go.
    pub(crate) fn forget(&self, id: &Uuid) {
        self.state.lock().at.remove(id);
    }

    fn insert(&self, state: &mut State, id: Uuid, now: Instant) {
        state.at.insert(id, now);
        state.order.push_back((id, now));
        while let Some(&(old, at)) = state.order.front() {
            let expired = now.saturating_duration_since(at) >= self.window;
            if !expired && state.order.len() <= self.max {
                break;
            }
            state.order.pop_front();
            if state.at.get(&old) == Some(&at) {
                state.at.remove(&old);
            }
        }
    }

    /// How many ids are remembered now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.state.lock().at.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn an_id_is_a_repeat_within_the_window_only() {
        let recent = Recent::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(!recent.contains(&id(1), t0));
        assert!(recent.claim(id(1), t0));
        assert!(recent.contains(&id(1), t0 + Duration::from_secs(59)));
        assert!(
            !recent.claim(id(1), t0 + Duration::from_secs(59)),
            "a repeat"
        );
        assert!(!recent.contains(&id(2), t0 + Duration::from_secs(1)));
        assert!(!recent.contains(&id(1), t0 + Duration::from_secs(60)));
        // An expired id is forgotten when a new one comes.
        assert!(recent.claim(id(2), t0 + Duration::from_secs(61)));
        assert_eq!(recent.len(), 1);
        assert!(recent.contains(&id(2), t0 + Duration::from_secs(62)));
    }

    #[test]
    fn at_most_ten_thousand_ids_are_remembered_oldest_forgotten_first() {
        let recent = Recent::new(Duration::from_secs(3600));
        let t0 = Instant::now();
        let n = u128::try_from(MAX_REMEMBERED).expect("fits");
        for i in 0..n + 5 {
            assert!(recent.claim(id(i), t0));
        }
        assert_eq!(recent.len(), MAX_REMEMBERED);
        for i in 0..5 {
            assert!(!recent.contains(&id(i), t0), "id {i} is among the oldest");
        }
        assert!(recent.contains(&id(5), t0));
        assert!(recent.contains(&id(n + 4), t0));
    }

    #[test]
    fn a_forgotten_id_claimed_again_counts_from_its_latest_time() {
        let recent = Recent::with_capacity(Duration::from_secs(10), 3);
        let t0 = Instant::now();
        assert!(recent.claim(id(1), t0));
        recent.forget(&id(1));
        assert!(
            recent.claim(id(1), t0 + Duration::from_secs(8)),
            "forgotten"
        );
        // The first entry expires; the id stays, timed from its second claim.
        assert!(recent.claim(id(2), t0 + Duration::from_secs(12)));
        assert!(recent.contains(&id(1), t0 + Duration::from_secs(17)));
        // Past the bound the oldest entry goes, whether or not it was claimed again since.
        assert!(recent.claim(id(3), t0 + Duration::from_secs(13)));
        assert!(recent.claim(id(4), t0 + Duration::from_secs(14)));
        assert_eq!(recent.len(), 3);
        assert!(recent.contains(&id(2), t0 + Duration::from_secs(14)));
    }

    #[test]
    fn a_zero_window_remembers_nothing() {
        let recent = Recent::new(Duration::ZERO);
        let t0 = Instant::now();
        assert!(recent.claim(id(1), t0));
        assert!(recent.claim(id(1), t0), "never a repeat");
        assert!(!recent.contains(&id(1), t0));
        assert_eq!(recent.len(), 0);
    }
}
