//! Exporters: the sending side of a pipeline.
//!
//! An exporter receives a [`Bundle`] of batches shared behind `Arc`s (decoded once, never
//! cloned per exporter) and encodes from the OTLP structs. The bundle itself is behind an `Arc`
//! so that a retry sends it again without a copy. It fails with an [`ExportError`] that says
//! whether trying again could help.

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

/// Sends batches to one backend.
pub trait Exporter: Send + Sync {
    /// Sends `bundle` in one request. The future owns what it needs (`'static`) so it can
    /// outlive the caller.
    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<(), ExportError>>;
}
