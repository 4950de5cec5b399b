//! governor's GCRA over a scratch copy of a tenant's state, so a request is checked against all
//! of its limits before any of them is spent.
//!
//! governor has no refund: `check_key_n` writes the new state into its store as soon as one
//! limit passes. So the store here ([`Scratch`]) keeps nothing: governor's key is a [`Slot`],
//! a copy of one of the tenant's states taken from the tenant table, and a passing check writes
//! into that copy. The caller writes the copies back to the table only when every limit passed
//! (under the table's lock, so two requests of one tenant cannot both spend the same tokens).
//!
//! Nothing here fails: a request larger than the burst (governor's `InsufficientCapacity`) and
//! one over the rate are verdicts, not errors.

use std::cell::Cell;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::{Quota, RateLimiter};

use super::config::Kind;
use super::rate::Rate;

/// One of a tenant's GCRA states: its theoretical arrival time in nanoseconds from the
/// limiter's start, `0` before the first request (a real one is at least one interval).
///
/// It is governor's key: [`Scratch`] reads the state from it and writes the new state back into
/// it, so checking never touches the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Slot(Cell<u64>);

impl Slot {
    /// A copy of the stored state `tat`.
    pub(super) fn new(tat: u64) -> Self {
        Self(Cell::new(tat))
    }

    /// The state after the checks that passed.
    pub(super) fn get(&self) -> u64 {
        self.0.get()
    }
}

impl Hash for Slot {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.get().hash(state);
    }
}

/// governor's state store over [`Slot`]s: holds nothing; the key is the state.
#[derive(Debug, Default)]
pub(super) struct Scratch;

impl StateStore for Scratch {
    type Key = Slot;

    fn measure_and_replace<T, F, E>(&self, key: &Slot, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let tat = key.0.get();
        let (out, next) = f((tat != 0).then_some(Nanos::from(tat)))?;
        key.0.set(next.as_u64());
        Ok(out)
    }
}

/// What one limit says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Within the limit; the slot holds the state after spending.
    Pass,
    /// Over the rate: it would pass after this long (never zero).
    Wait(Duration),
    /// More units than the burst: it can never pass.
    TooLarge,
}

/// One quota of one kind, shared by every tenant that has it.
#[derive(Debug)]
pub(super) struct Limiter<C: Clock> {
    kind: Kind,
    rate: Rate,
    refill: Duration,
    /// Nanoseconds one unit adds to a state (governor's replenish interval).
    unit_ns: u64,
    inner: RateLimiter<Slot, Scratch, C, NoOpMiddleware<C::Instant>>,
}

impl<C: Clock> Limiter<C> {
    /// A limiter of `kind` at `rate` (whose numbers governor can hold, by their types).
    pub(super) fn new(kind: Kind, rate: Rate, clock: C) -> Self {
        let quota = Quota::per_second(rate.per_second.nonzero()).allow_burst(rate.burst.nonzero());
        Self {
            kind,
            rate,
            // Time for an empty bucket to fill, rounded up so a state older than it is surely
            // full again (indistinguishable from a fresh one).
            refill: quota.burst_size_replenished_in() + quota.replenish_interval(),
            unit_ns: u64::try_from(quota.replenish_interval().as_nanos()).unwrap_or(u64::MAX),
            inner: RateLimiter::new(quota, Scratch, clock),
        }
    }

    /// The kind this limiter counts.
    pub(super) fn kind(&self) -> Kind {
        self.kind
    }

    /// The rate and burst.
    pub(super) fn rate(&self) -> Rate {
        self.rate
    }

    /// How long after its last request a tenant's bucket is surely full again.
    pub(super) fn refill(&self) -> Duration {
        self.refill
    }

    /// The state `tat` with `n` units given back: an admitted request moved it `n` intervals
    /// later (GCRA adds the same amount whatever the state), so moving it back that much undoes
    /// the spending; a state that falls to or below the present is a full bucket, as before the
    /// request.
    pub(super) fn refund(&self, tat: u64, n: u64) -> u64 {
        tat.saturating_sub(n.saturating_mul(self.unit_ns))
    }

    /// Checks `n` units against `slot`, spending them in the slot when they pass. A wait is
    /// measured from a clock reading taken after the decision (only refusals read it), and is
    /// at least a nanosecond.
    pub(super) fn check(&self, slot: &Slot, n: u64) -> Verdict {
        if n == 0 {
            return Verdict::Pass;
        }
        let Some(n) = nonzero(n) else {
            return Verdict::TooLarge;
        };
        match self.inner.check_key_n(slot, n) {
            Ok(Ok(())) => Verdict::Pass,
            Ok(Err(not_until)) => {
                let now = self.inner.clock().now();
                Verdict::Wait(not_until.wait_time_from(now).max(Duration::from_nanos(1)))
            }
            Err(_insufficient_capacity) => Verdict::TooLarge,
        }
    }
}

/// `n` as governor's count, when it is 1..=u32::MAX.
fn nonzero(n: u64) -> Option<NonZeroU32> {
    u32::try_from(n).ok().and_then(NonZeroU32::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant_limit::rate::{Burst, PerSecond};
    use governor::clock::FakeRelativeClock;

    fn limiter(
        per_second: u64,
        burst: u64,
        clock: &FakeRelativeClock,
    ) -> Limiter<FakeRelativeClock> {
        let rate = Rate {
            per_second: PerSecond::new(per_second).expect("valid rate"),
            burst: Burst::new(burst).expect("valid burst"),
        };
        Limiter::new(Kind::Records, rate, clock.clone())
    }

    #[test]
    fn a_passing_check_spends_only_in_the_copy() {
        let clock = FakeRelativeClock::default();
        let l = limiter(10, 10, &clock);
        let stored = Slot::new(0);
        let copy = stored.clone();
        assert_eq!(l.check(&copy, 10), Verdict::Pass);
        assert_eq!(stored.get(), 0, "the stored state is untouched");
        assert_eq!(copy.get(), Duration::from_secs(1).as_nanos() as u64);
        // The spent copy refuses more, and says when it would pass.
        assert_eq!(l.check(&copy, 5), Verdict::Wait(Duration::from_millis(500)));
        // The untouched state still admits the whole burst.
        assert_eq!(l.check(&Slot::new(stored.get()), 10), Verdict::Pass);
    }

    #[test]
    fn more_than_the_burst_is_too_large_even_when_full() {
        let clock = FakeRelativeClock::default();
        let l = limiter(10, 20, &clock);
        assert_eq!(l.check(&Slot::new(0), 21), Verdict::TooLarge);
        assert_eq!(
            l.check(&Slot::new(0), u64::from(u32::MAX) + 1),
            Verdict::TooLarge
        );
        assert_eq!(l.check(&Slot::new(0), 20), Verdict::Pass);
        assert_eq!(l.check(&Slot::new(0), 0), Verdict::Pass);
    }

    #[test]
    fn a_refund_undoes_what_a_pass_spent() {
        let clock = FakeRelativeClock::default();
        let l = limiter(10, 10, &clock);
        let slot = Slot::new(0);
        assert_eq!(l.check(&slot, 4), Verdict::Pass);
        let after_four = slot.get();
        assert_eq!(l.check(&slot, 6), Verdict::Pass);
        assert!(matches!(
            l.check(&Slot::new(slot.get()), 1),
            Verdict::Wait(_)
        ));
        // Giving the six back leaves what the four spent, so six pass again and no more.
        let back = l.refund(slot.get(), 6);
        assert_eq!(back, after_four);
        assert_eq!(l.check(&Slot::new(back), 6), Verdict::Pass);
        assert!(matches!(l.check(&Slot::new(back), 7), Verdict::Wait(_)));
    }

    #[test]
    fn refill_covers_an_empty_bucket() {
        let clock = FakeRelativeClock::default();
        let l = limiter(10, 20, &clock);
        assert_eq!(l.refill(), Duration::from_millis(2100));
    }
}
