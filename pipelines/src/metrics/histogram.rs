//! A lock-free histogram with fixed buckets, for request durations.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Sample;

/// Upper bounds (seconds) of the duration buckets; +Inf is implied.
pub const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default)]
struct Cells {
    /// Non-cumulative counts; index `BUCKETS.len()` is +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum as f64 bits.
    sum: AtomicU64,
    count: AtomicU64,
}

/// A histogram series; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Histogram(Arc<Cells>);

impl Histogram {
    /// Records one observation (NaN is ignored).
    pub fn observe(&self, v: f64) {
        if v.is_nan() {
            return;
        }
        let i = BUCKETS
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(BUCKETS.len());
        self.0.buckets[i].fetch_add(1, Ordering::Relaxed);
        let _ = self
            .0
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + v).to_bits())
            });
        self.0.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.0.count.load(Ordering::Relaxed)
    }

    pub(super) fn sample(&self) -> Sample {
        let mut running = 0;
        let buckets = self
            .0
            .buckets
            .iter()
            .map(|b| {
                running += b.load(Ordering::Relaxed);
                running
            })
            .collect();
        Sample::Histogram {
            buckets,
            sum: f64::from_bits(self.0.sum.load(Ordering::Relaxed)),
            count: self.count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_sum_adds_up() {
        let h = Histogram::default();
        for v in [0.0005, 0.003, 0.003, 20.0] {
            h.observe(v);
        }
        let Sample::Histogram {
            buckets,
            sum,
            count,
        } = h.sample()
        else {
            panic!("histogram")
        };
        assert_eq!(count, 4);
        assert!((sum - 20.0065).abs() < 1e-9);
        assert_eq!(buckets[0], 1); // <= 1ms
        assert_eq!(buckets[2], 3); // <= 5ms
        assert_eq!(buckets[BUCKETS.len() - 1], 3); // <= 10s
        assert_eq!(buckets[BUCKETS.len()], 4); // +Inf
    }
}
