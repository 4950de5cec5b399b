//! weir's engine: the types every component shares and the machinery that moves a batch from a
//! receiver through processors to exporters.
//!
//! - [`Batch`], [`Signal`] and [`RequestContext`]: one decoded OTLP export request and where it
//!   came from. Data stays in the `opentelemetry-proto` structs; nothing is copied into an
//!   internal model.
//! - [`Processor`] and [`Outcome`]: inline, synchronous steps that edit a batch in place.
//! - [`Exporter`] and [`ExportError`]: the sending side, retryable or permanent.
//! - [`Pipeline`] and [`Router`]: processors then fan-out, and the receiver-facing entry point.
//! - [`Metrics`]: the one metrics handle every component counts through.
//! - [`correlation`]: request, trace and span ids of a record, used the same way by every exporter.
//! - [`BuildError`]: why a component could not be built, the one error of every constructor.
//! - [`spec`]: what each component kind declares about itself (name, signals, unsupported
//!   Collector keys, queue), read by the config loader.
//! - [`scrub`]: credentials masked in messages that came from outside (backend answers) before
//!   weir logs or shows them.

pub mod balance;
pub mod batch;
pub mod build_error;
pub mod bundle;
pub mod context;
pub mod correlation;
pub mod exporter;
pub mod handle;
pub mod metrics;
pub mod pipeline;
pub mod processor;
pub mod queue;
pub mod scrub;
pub mod spec;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;
pub mod wire;

pub use batch::{Batch, Signal, SignalKind};
pub use build_error::BuildError;
pub use bundle::Bundle;
pub use context::{RequestContext, RequestId, TenantId, TenantIdError, TraceParent};
pub use exporter::{BoxError, ExportError, Exporter, REJECTED_BY_BACKEND, Sent};
pub use metrics::Metrics;
pub use pipeline::{Accepted, Pipeline, Router, SubmitError};
pub use processor::{Outcome, Processor, Refusal, RefusalKind};

/// The OTLP protobuf types weir's data stays in, re-exported so every crate names one version.
pub use opentelemetry_proto::tonic as otlp;
