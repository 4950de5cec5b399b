//! The Collector's exporter-helper keys, shared by every queued exporter: `sending_queue`
//! (with its `batch` section), `retry_on_failure` and `timeout`.
//!
//! Durations are written as `5s`, `200ms`, `1m`. Invalid combinations are reported by
//! [`QueueConfig::problems`] and [`RetryConfig::problems`] with the key at fault.

use std::time::Duration;

use serde::Deserialize;

/// Collector keys of `sending_queue` that weir does not implement.
pub const UNSUPPORTED_QUEUE_KEYS: &[&str] = &["sending_queue.wait_for_result"];

/// Default `sending_queue.max_bytes`: 8 MiB. Chosen by measurement (BENCHMARKS.md): decoded,
/// queued requests take about five times their size in memory, and at saturation 8 MiB keeps
/// weir's peak RSS near 125 MiB with the same throughput as larger bounds.
pub const DEFAULT_MAX_BYTES: u64 = 8 << 20;

/// Default `sending_queue.overflow_wait`: 2 s.
pub const DEFAULT_OVERFLOW_WAIT: Duration = Duration::from_secs(2);

/// What `queue_size` and the batch sizes count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sizer {
    /// Export requests, as received.
    #[default]
    Requests,
    /// Records: spans, data points, log records.
    Items,
    /// Bytes of the received requests, after decompression.
    Bytes,
}

impl Sizer {
    /// The unit's name as the config writes it: `requests`, `items` or `bytes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sizer::Requests => "requests",
            Sizer::Items => "items",
            Sizer::Bytes => "bytes",
        }
    }
}

/// `sending_queue`: the per-exporter queue between the receivers and the backend.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Queue batches before sending (`true`). With `false` the client waits for the backend.
    pub enabled: bool,
    /// Batches sent at once (concurrent requests to the backend).
    pub num_consumers: usize,
    /// Capacity, counted by `sizer`. A request that does not fit is refused with the retryable
    /// answer (HTTP 503, gRPC UNAVAILABLE) unless `block_on_overflow` or `drop_on_overflow`.
    pub queue_size: u64,
    /// What `queue_size` counts: `requests`, `items` or `bytes`.
    pub sizer: Sizer,
    /// weir's own key: a second bound, whatever the sizer, on the bytes of the requests held
    /// (as received, after decompression; decoded in memory they take about five times as
    /// much). Past it a request waits for room, then gets the retryable answer (or is dropped,
    /// as the overflow keys say), so a queue of a few huge requests cannot hold gigabytes.
    /// Default 8 MiB; an empty queue always takes one request, however large.
    pub max_bytes: u64,
    /// Wait for room instead of refusing when the queue is full.
    pub block_on_overflow: bool,
    /// weir's own key: when the queue is full, how long a request may wait for room before it
    /// gets the retryable answer. The receiver waits before reading the request's body, so
    /// waiting holds no data in memory and slows clients down instead of refusing them while
    /// the backend keeps up. `0s` refuses at once, as the Collector does. Default 2s. (With
    /// `block_on_overflow` a request waits as long as it takes.)
    #[serde(with = "humantime_serde")]
    pub overflow_wait: Duration,
    /// weir's own key: when full, accept the request but drop it for this exporter, counted in
    /// `weir_records_dropped_total{reason="queue_full"}`, so other exporters still get it.
    pub drop_on_overflow: bool,
    /// `batch`: merge same-tenant requests (and split big ones) before sending; off when
    /// absent.
    #[serde(rename = "batch")]
    pub merge: Option<MergeConfig>,
    /// weir's own key: the largest share (0 to 1) of this queue's capacity, and of its
    /// consumers, that one tenant may hold. Over it, that tenant's requests get the retryable
    /// answer while other tenants continue; a tenant whose backend keeps failing can tie up at
    /// most this share of the sends. 1 (the default) means no per-tenant cap.
    pub max_tenant_share: f64,
    /// The `file_storage` extension (listed in `service.extensions`) that keeps this queue on
    /// disk: every request is written there before the client is answered and replayed after
    /// a restart or a crash. `max_bytes` bounds the disk too. Absent: the queue is in memory
    /// only.
    pub storage: Option<String>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            num_consumers: 10,
            queue_size: 1000,
            sizer: Sizer::Requests,
            max_bytes: DEFAULT_MAX_BYTES,
            block_on_overflow: false,
            overflow_wait: DEFAULT_OVERFLOW_WAIT,
            drop_on_overflow: false,
            merge: None,
            max_tenant_share: 1.0,
            storage: None,
        }
    }
}

/// `sending_queue.batch`: merging same-tenant requests inside the queue, up to `min_size`
/// records or `flush_timeout`, and splitting those over `max_size`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MergeConfig {
    /// Longest a record waits for its batch to reach `min_size`.
    #[serde(with = "humantime_serde")]
    pub flush_timeout: Duration,
    /// Records at which a batch is sent without waiting.
    pub min_size: u64,
    /// Largest batch sent, in records; bigger requests are split (each part keeps its resource
    /// and scope). 0 means no limit.
    pub max_size: u64,
    /// Only `items` is supported: batch sizes count records.
    pub sizer: Sizer,
}

impl Default for MergeConfig {
    fn default() -> Self {
        Self {
            flush_timeout: Duration::from_millis(200),
            min_size: 8192,
            max_size: 0,
            sizer: Sizer::Items,
        }
    }
}

impl QueueConfig {
    /// `(key, message)` for each invalid setting.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.enabled && self.queue_size == 0 {
            out.push((
                "sending_queue.queue_size".into(),
                "must be at least 1".into(),
            ));
        }
        if self.enabled && self.max_bytes == 0 {
            out.push((
                "sending_queue.max_bytes".into(),
                "must be at least 1".into(),
            ));
        }
        if self.enabled && self.num_consumers == 0 {
            out.push((
                "sending_queue.num_consumers".into(),
                "must be at least 1".into(),
            ));
        }
        if self.storage.is_some() && !self.enabled {
            out.push((
                "sending_queue.storage".into(),
                "needs the queue: set sending_queue.enabled: true or remove storage".into(),
            ));
        }
        if self.block_on_overflow && self.drop_on_overflow {
            out.push((
                "sending_queue.drop_on_overflow".into(),
                "cannot be combined with block_on_overflow; choose one".into(),
            ));
        }
        if !(self.max_tenant_share > 0.0 && self.max_tenant_share <= 1.0) {
            out.push((
                "sending_queue.max_tenant_share".into(),
                "must be more than 0 and at most 1".into(),
            ));
        }
        if let Some(b) = &self.merge {
            if b.sizer != Sizer::Items {
                out.push((
                    "sending_queue.batch.sizer".into(),
                    "only items is supported by weir".into(),
                ));
            }
            if b.max_size != 0 && b.max_size < b.min_size {
                out.push((
                    "sending_queue.batch.max_size".into(),
                    "must be 0 or at least min_size".into(),
                ));
            }
        }
        out
    }
}

/// `retry_on_failure`: exponential backoff with jitter for retryable failures.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Retry retryable failures (`true`); with `false` a failure drops the batch, counted.
    pub enabled: bool,
    /// First wait after a failure.
    #[serde(with = "humantime_serde")]
    pub initial_interval: Duration,
    /// Jitter: each wait is drawn from `interval * (1 ± randomization_factor)`.
    pub randomization_factor: f64,
    /// Growth of the wait after each failure.
    pub multiplier: f64,
    /// Longest wait between attempts (a backend's `Retry-After` may ask for longer).
    #[serde(with = "humantime_serde")]
    pub max_interval: Duration,
    /// Give up (drop, counted) when the next attempt would start later than this after the
    /// first; `0s` retries forever.
    #[serde(with = "humantime_serde")]
    pub max_elapsed_time: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            initial_interval: Duration::from_secs(5),
            randomization_factor: 0.5,
            multiplier: 1.5,
            max_interval: Duration::from_secs(30),
            max_elapsed_time: Duration::from_secs(300),
        }
    }
}

impl RetryConfig {
    /// `(key, message)` for each invalid setting.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if !(0.0..=1.0).contains(&self.randomization_factor) {
            out.push((
                "retry_on_failure.randomization_factor".into(),
                "must be between 0 and 1".into(),
            ));
        }
        if self.multiplier < 1.0 || !self.multiplier.is_finite() {
            out.push((
                "retry_on_failure.multiplier".into(),
                "must be at least 1".into(),
            ));
        }
        if self.initial_interval.is_zero() && self.enabled {
            out.push((
                "retry_on_failure.initial_interval".into(),
                "must be more than 0s".into(),
            ));
        }
        if self.max_interval < self.initial_interval {
            out.push((
                "retry_on_failure.max_interval".into(),
                "must be at least initial_interval".into(),
            ));
        }
        out
    }
}

/// Default per-attempt timeout of exporters (`timeout` key), as in the Collector.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
