//! What a worker saw: requests and records by outcome, errors by name, acknowledged records per
//! tenant, and round-trip latencies in an HDR histogram (microseconds, 3 significant digits).
//! Each worker keeps its own; they are merged once at the end.
//!
//! Nothing here fails: a latency beyond the histogram's range is clamped to its highest value.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// The highest latency recorded exactly: one hour, in microseconds.
const MAX_MICROS: u64 = 3_600_000_000;

/// Counts and latencies.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Requests sent (answered or not).
    pub requests_sent: u64,
    /// Requests answered with success.
    pub requests_ok: u64,
    /// Requests refused or lost.
    pub requests_failed: u64,
    /// Records in the requests sent.
    pub records_sent: u64,
    /// Records in successful answers minus the rejected ones.
    pub records_acked: u64,
    /// Records rejected inside successful answers (`partial_success`).
    pub records_rejected: u64,
    /// Failed requests by error name.
    pub errors: BTreeMap<String, u64>,
    /// Acknowledged records by tenant index.
    pub acked_by_tenant: Vec<u64>,
    latency: Histogram<u64>,
}

impl Stats {
    /// Empty stats for `tenants` tenants.
    pub fn new(tenants: usize) -> Self {
        Self {
            requests_sent: 0,
            requests_ok: 0,
            requests_failed: 0,
            records_sent: 0,
            records_acked: 0,
            records_rejected: 0,
            errors: BTreeMap::new(),
            acked_by_tenant: vec![0; tenants],
            // 1 µs to 1 h at 3 significant digits: constant, valid bounds.
            latency: Histogram::new_with_bounds(1, MAX_MICROS, 3)
                .expect("constant histogram bounds are valid"),
        }
    }

    fn latency(&mut self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency.saturating_record(micros.clamp(1, MAX_MICROS));
    }

    /// A success for `records` records of `tenant`, `rejected` of them refused.
    pub fn ok(&mut self, tenant: usize, records: u64, rejected: u64, took: Duration) {
        let rejected = rejected.min(records);
        self.requests_sent += 1;
        self.requests_ok += 1;
        self.records_sent += records;
        self.records_rejected += rejected;
        self.records_acked += records - rejected;
        if let Some(n) = self.acked_by_tenant.get_mut(tenant) {
            *n += records - rejected;
        }
        self.latency(took);
    }

    /// A failure named `error`; `took` is `None` when no answer came (its time is no latency).
    pub fn failed(&mut self, error: &str, records: u64, took: Option<Duration>) {
        self.requests_sent += 1;
        self.requests_failed += 1;
        self.records_sent += records;
        *self.errors.entry(error.to_owned()).or_default() += 1;
        if let Some(took) = took {
            self.latency(took);
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Stats) {
        self.requests_sent += other.requests_sent;
        self.requests_ok += other.requests_ok;
        self.requests_failed += other.requests_failed;
        self.records_sent += other.records_sent;
        self.records_acked += other.records_acked;
        self.records_rejected += other.records_rejected;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        for (mine, theirs) in self.acked_by_tenant.iter_mut().zip(&other.acked_by_tenant) {
            *mine += theirs;
        }
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }

    /// The latency at quantile `q` (0..=1) in milliseconds; 0 with no latencies.
    pub fn latency_ms(&self, q: f64) -> f64 {
        if self.latency.is_empty() {
            return 0.0;
        }
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }

    /// The highest latency in milliseconds; 0 with none.
    pub fn max_ms(&self) -> f64 {
        if self.latency.is_empty() {
            return 0.0;
        }
        self.latency.max() as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_follow_the_recorded_latencies() {
        let mut s = Stats::new(1);
        for ms in 1..=100u64 {
            s.ok(0, 10, 0, Duration::from_millis(ms));
        }
        // 3 significant digits: within 0.1 % of the true value.
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
        assert!(close(s.latency_ms(0.5), 50.0), "{}", s.latency_ms(0.5));
        assert!(close(s.latency_ms(0.9), 90.0), "{}", s.latency_ms(0.9));
        assert!(close(s.latency_ms(0.99), 99.0), "{}", s.latency_ms(0.99));
        assert!(close(s.max_ms(), 100.0), "{}", s.max_ms());
        assert_eq!(Stats::new(1).latency_ms(0.5), 0.0);
    }

    #[test]
    fn outcomes_add_up_and_merge() {
        let mut a = Stats::new(2);
        a.ok(0, 10, 3, Duration::from_millis(1));
        a.failed("UNAVAILABLE", 10, Some(Duration::from_millis(2)));
        let mut b = Stats::new(2);
        b.ok(1, 10, 0, Duration::from_millis(3));
        b.failed("transport", 10, None);
        b.failed("UNAVAILABLE", 10, None);
        a.merge(&b);
        assert_eq!(
            (a.requests_sent, a.requests_ok, a.requests_failed),
            (5, 2, 3)
        );
        assert_eq!(
            (a.records_sent, a.records_acked, a.records_rejected),
            (50, 17, 3)
        );
        assert_eq!(a.acked_by_tenant, vec![7, 10]);
        assert_eq!(a.errors["UNAVAILABLE"], 2);
        assert_eq!(a.errors["transport"], 1);
        assert!((a.max_ms() - 3.0).abs() < 0.01, "{}", a.max_ms());
    }
}
