//! Exporters: the sending side of a pipeline.
//!
//! An exporter receives a [`Bundle`] of batches shared behind `Arc`s (decoded once, never
//! cloned per exporter) and encodes from the OTLP structs. The bundle itself is behind an `Arc`
//! so that a retry sends it again without a copy. It fails with an [`ExportError`] that says
//! whether trying again could help. A success says, in [`Sent`], how many of the bundle's
//! records the backend refused for good (OTLP `partial_success`, Loki's per-line errors), so
//! the engine counts those as lost by reason and the rest as delivered.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::Bundle;

/// Any error, boxed, as exporters carry their transport's errors.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The backend may take the same data later (network error, 429, 5xx).
    #[error("retryable: {source}")]
    Retryable {
        /// What went wrong.
        source: BoxError,
        /// How long the backend asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The backend will never take this data (4xx other than 429, encoding error).
    #[error("permanent: {0}")]
    Permanent(BoxError),
}

impl ExportError {
    /// A retryable error from anything printable.
    pub fn retryable(source: impl Into<BoxError>) -> Self {
        ExportError::Retryable {
            source: source.into(),
            retry_after: None,
        }
    }

    /// A permanent error from anything printable.
    pub fn permanent(source: impl Into<BoxError>) -> Self {
        ExportError::Permanent(source.into())
    }

    /// True for [`ExportError::Retryable`].
    pub fn is_retryable(&self) -> bool {
        matches!(self, ExportError::Retryable { .. })
    }
}

/// The reason label of records a backend refused inside a successful answer (OTLP
/// `partial_success.rejected_*`).
pub const REJECTED_BY_BACKEND: &str = "rejected_by_backend";

/// What a backend did with a bundle it answered with success: every record was delivered
/// except the ones it says it refused for good, by reason. Refused records are never retried
/// (the backend would refuse them again); the engine counts them in
/// `weir_records_dropped_total{reason}` and the rest as sent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sent {
    /// `(reason, records)` the backend refused; a reason is a `reason` label value, so it
    /// comes from a small fixed set per exporter.
    pub rejected: Vec<(&'static str, u64)>,
}

impl Sent {
    /// Every record was delivered.
    pub fn all() -> Self {
        Self::default()
    }

    /// The backend refused `records` of them for `reason` (nothing when `records` is 0).
    pub fn rejecting(reason: &'static str, records: u64) -> Self {
        let mut sent = Self::default();
        sent.reject(reason, records);
        sent
    }

    /// Adds `records` refused for `reason`.
    pub fn reject(&mut self, reason: &'static str, records: u64) {
        if records == 0 {
            return;
        }
        match self.rejected.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += records,
            None => self.rejected.push((reason, records)),
        }
    }

    /// Adds everything `other` refused.
    pub fn merge(&mut self, other: Sent) {
        for (reason, n) in other.rejected {
            self.reject(reason, n);
        }
    }

    /// Records refused, all reasons.
    pub fn rejected_records(&self) -> u64 {
        self.rejected.iter().map(|(_, n)| n).sum()
    }
}

/// Sends batches to one backend.
pub trait Exporter: Send + Sync {
    /// Sends `bundle` in one request. The future owns what it needs (`'static`) so it can
    /// outlive the caller.
    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>>;

    /// True when the backend refuses a request whole for one bad record (OTLP backends answer
    /// 400 / INVALID_ARGUMENT to the whole export): the engine then sends the parts of a
    /// refused bundle one by one, so that only the guilty part is lost.
    fn refuses_whole_requests(&self) -> bool {
        false
    }
}
