//! Exponential backoff with jitter, as `retry_on_failure` describes it.
//!
//! Pure arithmetic on durations; the random draw is passed in so tests are exact.

use std::time::Duration;

use super::RetryConfig;

/// The waits between attempts of one send.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    cfg: RetryConfig,
}

impl Backoff {
    /// The backoff of a fresh send.
    pub fn new(cfg: &RetryConfig) -> Self {
        Self {
            next: cfg.initial_interval,
            cfg: cfg.clone(),
        }
    }

    /// The wait before the next attempt, with `unit` (in `[0, 1)`) choosing the jitter, and at
    /// least `retry_after` when the backend asked for it.
    pub fn next_wait(&mut self, unit: f64, retry_after: Option<Duration>) -> Duration {
        let base = self.next;
        let grown = base.as_secs_f64() * self.cfg.multiplier;
        self.next = Duration::from_secs_f64(grown.min(self.cfg.max_interval.as_secs_f64()));
        let spread = self.cfg.randomization_factor * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        let jittered = Duration::from_secs_f64((base.as_secs_f64() * (1.0 + spread)).max(0.0));
        match retry_after {
            Some(ra) => jittered.max(ra),
            None => jittered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rf: f64) -> RetryConfig {
        RetryConfig {
            enabled: true,
            initial_interval: Duration::from_secs(1),
            randomization_factor: rf,
            multiplier: 2.0,
            max_interval: Duration::from_secs(5),
            max_elapsed_time: Duration::from_secs(60),
        }
    }

    #[test]
    fn grows_by_the_multiplier_up_to_the_cap() {
        let mut b = Backoff::new(&cfg(0.0));
        let waits: Vec<u64> = (0..5).map(|_| b.next_wait(0.5, None).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
    }

    #[test]
    fn jitter_stays_within_the_factor() {
        let mut low = Backoff::new(&cfg(0.5));
        let mut high = Backoff::new(&cfg(0.5));
        assert_eq!(low.next_wait(0.0, None), Duration::from_millis(500));
        assert_eq!(high.next_wait(1.0, None), Duration::from_millis(1500));
    }

    #[test]
    fn retry_after_is_honoured_when_longer() {
        let mut b = Backoff::new(&cfg(0.0));
        assert_eq!(
            b.next_wait(0.5, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            b.next_wait(0.5, Some(Duration::from_millis(10))),
            Duration::from_secs(2)
        );
    }
}
