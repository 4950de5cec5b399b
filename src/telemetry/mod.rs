//! weir's own traces: spans of its work (`weir.receive` → `weir.process` → `weir.export`),
//! parented on the request's `traceparent`, sent over OTLP/gRPC to
//! `service.telemetry.traces.endpoint`.
//!
//! The spans are ordinary `tracing` spans whose names start with `weir.`; [`layer`] turns them
//! into OTLP spans, [`export`] batches and sends them. weir never traces a request that carries
//! its own self-telemetry mark ([`SELF_TELEMETRY_HEADER`]), so two weirs pointed at each other
//! cannot feed each other spans forever, and the config loader refuses an endpoint that is one
//! of weir's own receivers. Nothing here fails a request: a full span buffer drops spans
//! (counted), a failed send is logged at debug.

pub mod export;
pub mod layer;

/// Header (gRPC metadata) marking a request as weir's own telemetry.
pub const SELF_TELEMETRY_HEADER: &str = "x-weir-self-telemetry";

/// Spans buffered between the layer and the exporter; more are dropped.
pub const BUFFER: usize = 8192;
