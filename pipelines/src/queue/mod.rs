//! Per-exporter delivery: a bounded queue with per-tenant sub-queues served by deficit
//! round-robin ([`fair`]), reserve-then-commit admission ([`bounded`]), batching that merges
//! same-tenant batches and splits big ones ([`split`]), and delivery with a timeout per attempt
//! and retries with backoff ([`delivery`], [`retry`]), run by [`queued::QueuedExporter`]; with
//! `sending_queue.storage`, also on disk ([`disk`]; only a window in memory, [`spill`]; read
//! back at start by [`replay`]).

pub mod accounted;
pub mod bounded;
pub mod config;
pub mod delivery;
pub mod disk;
pub mod fair;
pub mod queued;
pub mod replay;
pub mod retry;
pub mod spill;
pub mod split;

pub use bounded::{Reservation, ReserveError};
pub use config::{QueueBatchConfig, QueueConfig, RetryConfig, Sizer};
pub use queued::{Admission, QueuedExporter};
#[cfg(test)]
mod tests;
