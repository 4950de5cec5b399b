//! Processors: synchronous steps that run inline, before the client is answered.
//!
//! A processor edits a batch in place, may reject some records (reported to the client as OTLP
//! partial success), or refuses the whole request with a [`Refusal`] that the receiver turns
//! into the right status code. A processor never panics on bad data; it refuses or rejects.
//!
//! A request a processor passed may still be refused after it (by a later processor, a full
//! queue, an inline exporter, or another part or pipeline of the same request, all or none):
//! the pipeline then calls [`Processor::refund`] on every processor that passed it, so a
//! processor that spends something per request (a tenant's budget) gives it back.
//!
//! A processor that must ask something outside the process before deciding (a limit shared
//! through a store) says so with [`Processor::waits`]; the pipeline then awaits
//! [`Processor::process_async`] instead of calling [`Processor::process`]. Every other processor
//! costs the pipeline no future and no allocation.

use std::fmt;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::{Batch, RequestContext};

/// What a processor decided about a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Keep going. `rejected` records were removed from the batch (OTLP partial success), with
    /// a message for the client when any were.
    Pass {
        /// Records removed from the batch by this processor.
        rejected: u64,
        /// Why they were removed, for the client's `partial_success.error_message`.
        message: Option<String>,
    },
    /// Refuse the whole request; nothing of it is exported.
    Refuse {
        /// Why, and of which kind (the kind picks the status code).
        reason: Refusal,
        /// When the client may try again, for retryable kinds.
        retry_after: Option<Duration>,
    },
}

impl Outcome {
    /// Pass with nothing rejected.
    pub const fn pass() -> Self {
        Outcome::Pass {
            rejected: 0,
            message: None,
        }
    }
}

/// The kind of a refusal, which decides the answer on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// Over a rate limit: HTTP 429, gRPC RESOURCE_EXHAUSTED with RetryInfo. Retryable.
    RateLimited,
    /// A queue is full or a backend is down: HTTP 503, gRPC UNAVAILABLE. Retryable.
    Unavailable,
    /// No valid credentials: HTTP 401, gRPC UNAUTHENTICATED. Permanent.
    Unauthenticated,
    /// Credentials that do not allow this: HTTP 403, gRPC PERMISSION_DENIED. Permanent.
    Forbidden,
    /// The data itself is unacceptable: HTTP 400, gRPC INVALID_ARGUMENT. Permanent.
    Invalid,
}

impl RefusalKind {
    /// True when the client should retry the same request later.
    pub fn is_retryable(self) -> bool {
        matches!(self, RefusalKind::RateLimited | RefusalKind::Unavailable)
    }

    /// The `reason` label value in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::RateLimited => "rate_limited",
            RefusalKind::Unavailable => "unavailable",
            RefusalKind::Unauthenticated => "unauthenticated",
            RefusalKind::Forbidden => "forbidden",
            RefusalKind::Invalid => "invalid",
        }
    }
}

/// Why a request was refused: a kind and a message for the client (never holding raw values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The kind, which picks the status code.
    pub kind: RefusalKind,
    /// A message for the client.
    pub message: String,
}

impl Refusal {
    /// A refusal of `kind` with `message`.
    pub fn new(kind: RefusalKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

/// A step that runs inline on every batch of a pipeline, before the client is answered.
pub trait Processor: Send + Sync {
    /// Edits `batch` in place, rejects records, or refuses the request.
    fn process(&self, batch: &mut Batch) -> Outcome;

    /// True when this processor decides by waiting on something outside the process: the
    /// pipeline then calls [`Processor::process_async`] instead of [`Processor::process`].
    /// Default: false.
    fn waits(&self) -> bool {
        false
    }

    /// [`Processor::process`] for a processor that [`waits`](Processor::waits); the default
    /// runs `process`.
    fn process_async<'a>(&'a self, batch: &'a mut Batch) -> BoxFuture<'a, Outcome> {
        Box::pin(std::future::ready(self.process(batch)))
    }

    /// The request of `ctx` that this processor passed, holding `records` records when it did,
    /// was refused after it: gives back whatever passing it spent. Called at most once per
    /// pass, in reverse pipeline order; the default spends nothing, so gives nothing back.
    fn refund(&self, ctx: &RequestContext, records: u64) {
        let _ = (ctx, records);
    }
}
