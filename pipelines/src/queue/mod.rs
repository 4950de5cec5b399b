//! Per-exporter delivery: a bounded queue with per-tenant sub-queues served by deficit
//! round-robin ([`fair`]), reserve-then-commit admission ([`bounded`]), merging that merges
//! same-tenant batches and splits big ones ([`split`]), and delivery with a timeout per attempt
//! and retries with backoff ([`delivery`], [`retry`]), run by [`queued::QueuedExporter`]; with
//! `sending_queue.storage`, also on disk ([`disk`]; only a window in memory, [`spill`]; read
//! back at start by [`replay`]).
//!
//! Outside this crate an exporter is put behind all this in one call,
//! [`ExporterHandle::start`](crate::handle::ExporterHandle::start) with its
//! [`DeliverySettings`] ([`start`]); the queue's types are this crate's own.

pub(crate) mod accounted;
pub(crate) mod bounded;
pub mod config;
pub(crate) mod delivery;
pub mod disk;
pub(crate) mod fair;
pub(crate) mod queued;
pub(crate) mod replay;
pub(crate) mod retry;
pub(crate) mod spill;
pub(crate) mod split;
pub mod start;

pub use bounded::{Reservation, ReserveError};
pub use config::{MergeConfig, QueueConfig, RetryConfig, Sizer};
pub use delivery::Handover;
pub(crate) use queued::{Admission, QueuedExporter};
pub use start::{DeliverySettings, accounted};
#[cfg(test)]
mod tests;
