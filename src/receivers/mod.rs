//! Receivers: the OTLP receiver over gRPC ([`otlp_grpc`]) and HTTP ([`otlp_http`]).
//!
//! Both transports share one path ([`ingest`]): build the request context ([`context`]),
//! decode, hand the batch to the [`weir_pipeline::Router`], count the outcome, and answer
//! with the status the OTLP specification asks for ([`status`]). The HTTP transport also serves
//! CORS ([`cors`]) and the frontend log intake ([`frontend_log`]), which builds log records from
//! web pages' JSON and hands them to the same path.
//!
//! Both listeners are served by one accept loop ([`conn`]) that applies the timeouts and caps
//! of [`limits`]; a receiver's transports share its budget of body bytes in flight.

pub mod config;
pub mod conn;
pub mod context;
pub mod cors;
pub mod frontend_log;
pub mod identity;
pub mod ids;
pub mod ingest;
pub mod limits;
pub mod offload;
pub mod otlp_grpc;
pub mod otlp_http;
pub mod per_client;
pub mod room;
pub mod routes;
mod stall;
pub mod status;
pub mod tenant;
#[cfg(test)]
pub(crate) mod test_shared;
pub mod throttle;

use std::sync::Arc;

use weir_pipeline::Metrics;

use routes::Routes;

use identity::Identity;
use limits::{ConnectionBudget, InflightBytes};

/// What both transports of one `otlp` receiver share.
#[derive(Clone)]
pub struct ReceiverShared {
    /// The receiver's component id (`otlp`, `otlp/internal`).
    pub id: Arc<str>,
    /// The pipelines the receiver feeds (swapped by a reload).
    pub router: Routes,
    /// weir's metrics.
    pub metrics: Metrics,
    /// Who requests belong to.
    pub identity: Arc<Identity>,
    /// The receiver's budget of request body bytes being read (`max_inflight_bytes`).
    pub inflight: InflightBytes,
    /// Client connections, shared by every OTLP listener of the process.
    pub connections: ConnectionBudget,
    /// The process-wide memory limit, checked before a body is read.
    pub memory: crate::memory::MemoryGuard,
}
