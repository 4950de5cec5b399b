//! OTLP over gRPC: the `TraceService`, `MetricsService` and `LogsService` of the OTLP
//! specification, served by tonic on one listener.
//!
//! Each export request is read by tonic (gzip, deflate and zstd accepted; the answer is
//! compressed when the client accepts it), given its request context (request id, tenant,
//! `traceparent`), and handed to [`ingest`]. Requests are not decoded into the OTLP structs: they
//! stay the bytes that arrived, indexed by the wire view ([`raw`]). The client is answered after the pipeline took the
//! batch: an empty response, or one with `partial_success` when processors rejected records.
//! The request id goes back in the `x-request-id` metadata of every answer, refusals included.
//!
//! The services are served by the receivers' accept loop ([`conn`]: TLS when configured,
//! `max_concurrent_streams`, `keepalive.server_parameters`, `max_connections`), behind a layer
//! that reads each call's message within `read_timeout` and `max_inflight_bytes` ([`body`]).
//! With `tls.client_ca_file` a client needs a certificate signed by that CA, and the
//! certificate's subject common name is the request's `client_cert` tenant source
//! ([`crate::listen::tls`]).
//!
//! How it fails:
//! - binding the endpoint fails with [`ListenError::Bind`], a TLS file that cannot be read or
//!   used with [`ListenError::Tls`] (the error names it); the server stopping on an error with
//!   [`ListenError::Serve`];
//! - a client failing the TLS handshake (no or an untrusted certificate) loses that connection
//!   only (logged at debug);
//! - a message larger than `max_recv_msg_size_mib` (after decompression) gets RESOURCE_EXHAUSTED
//!   without `RetryInfo`, which OTLP clients treat as permanent; malformed protobuf, invalid
//!   UTF-8 and compressed data that does not inflate get INVALID_ARGUMENT ([`faults`]);
//! - bytes after the call's one message get INVALID_ARGUMENT, and a request that is not gRPC
//!   (content type not `application/grpc…`, as an OTLP/HTTP client at the wrong port sends)
//!   gets HTTP 415 ([`body`]);
//! - an invalid tenant header gets INVALID_ARGUMENT naming the header;
//! - a refusal from the pipeline gets the code of its kind ([`status::grpc_code`]); a rate limit
//!   and a full queue carry `google.rpc.RetryInfo` with the delay to wait.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};
use weir_pipeline::pipeline::Accepted;
use weir_pipeline::{Batch, Refusal, RefusalKind, RequestId, SignalKind};

use super::config::GrpcConfig;
use super::context::{self, REQUEST_ID_HEADER};
use super::{ReceiverShared, conn, ingest, status};
use crate::listen::tls::PeerSubject;
use crate::listen::{Bound, ListenError};

mod body;
mod call_metrics;
pub use call_metrics::code_name;
mod faults;
mod raw;
#[cfg(test)]
mod tests;

/// The listener name in logs and errors.
const LISTENER: &str = "otlp/grpc";
/// tonic's own limit when none is configured, used for `max_recv_msg_size_mib: 0` as the
/// Collector does (0 means "the gRPC default", not "refuse everything").
const DEFAULT_MAX_RECV_MIB: u64 = 4;
/// The delay a rate-limited client is told when the refusal named none (HTTP says
/// `Retry-After: 1` in the same case).
const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// The compressions every service accepts and answers with.
const COMPRESSIONS: [CompressionEncoding; 3] = [
    CompressionEncoding::Gzip,
    CompressionEncoding::Deflate,
    CompressionEncoding::Zstd,
];

/// Binds `cfg.endpoint` and returns the bound address with the future that serves the three
/// OTLP services until `shutdown` resolves.
pub async fn bind(
    cfg: &GrpcConfig,
    shared: ReceiverShared,
    shutdown: BoxFuture<'static, ()>,
) -> Result<Bound, ListenError> {
    let limit = max_message_bytes(cfg.max_recv_msg_size_mib);
    let keepalive = &cfg.keepalive.server_parameters;
    let limits = conn::ConnLimits {
        read_header_timeout: crate::receivers::limits::GRPC_HANDSHAKE_TIMEOUT,
        idle_timeout: keepalive.max_connection_idle,
        write_timeout: crate::receivers::limits::GRPC_WRITE_TIMEOUT,
        max_concurrent_streams: Some(cfg.max_concurrent_streams),
        keepalive: Some((keepalive.time, keepalive.timeout)),
        max_age: keepalive
            .max_connection_age
            .map(|age| (age, keepalive.max_connection_age_grace)),
    };
    let (listener, local_addr) = conn::Listener::open(LISTENER, cfg, &shared, limits).await?;
    let read_limits = body::BodyLimitLayer {
        inflight: shared.inflight.clone(),
        read_timeout: cfg.read_timeout,
        max_message: limit,
        metrics: shared.metrics.clone(),
        listener: LISTENER,
        receiver: shared.id.clone(),
        memory: shared.memory.clone(),
        router: shared.router.clone(),
    };
    let call_metrics = call_metrics::CallMetricsLayer::new(shared.metrics.clone());
    let otlp = Arc::new(OtlpGrpc { shared });
    let traces = raw::RawServer::<raw::Traces>::new(Arc::clone(&otlp), &COMPRESSIONS, limit);
    let metrics = raw::RawServer::<raw::Metrics>::new(Arc::clone(&otlp), &COMPRESSIONS, limit);
    let logs = raw::RawServer::<raw::Logs>::new(otlp, &COMPRESSIONS, limit);
    let routes = Routes::new(traces)
        .add_service(metrics)
        .add_service(logs)
        .prepare();
    let service = tower::ServiceBuilder::new()
        // Outermost, so it counts what the client finally gets.
        .layer(call_metrics)
        // Outside tonic's decoder, so it sees the answers tonic gives to a bad message.
        .map_response(faults::client_faults)
        .layer(read_limits)
        .service(routes);
    let serve = async move {
        conn::serve(listener, service, shutdown).await;
        Ok(())
    };
    Ok(Bound {
        local_addr,
        serve: Box::pin(serve),
    })
}

/// `max_recv_msg_size_mib` in bytes, saturating instead of overflowing; 0 means the default.
fn max_message_bytes(mib: u64) -> usize {
    let mib = if mib == 0 { DEFAULT_MAX_RECV_MIB } else { mib };
    usize::try_from(mib)
        .unwrap_or(usize::MAX)
        .saturating_mul(1024 * 1024)
}

/// The three OTLP services, sharing the receiver's state.
struct OtlpGrpc {
    shared: ReceiverShared,
}

impl OtlpGrpc {
    /// `Export` of service `S`, on the request message's bytes.
    async fn export<S: raw::Service>(
        &self,
        request: Request<Bytes>,
    ) -> Result<Response<S::Response>, Status> {
        let (accepted, request_id) = self.handle(request, S::KIND).await?;
        Ok(respond(S::respond(status::partial(&accepted)), &request_id))
    }

    /// Builds the request context, then ingests the message as a batch. Returns what the
    /// pipeline accepted and the request id to echo, or the status to answer with.
    async fn handle(
        &self,
        request: Request<Bytes>,
        kind: SignalKind,
    ) -> Result<(Accepted, RequestId), Status> {
        if !self.shared.router.load().accepts(kind) {
            // As the Collector, which registers no service for a signal without a pipeline.
            return Err(Status::unimplemented(format!(
                "receiver {} has no {kind} pipeline",
                self.shared.id
            )));
        }
        // The verified client certificate's subject CN (mutual TLS only).
        let peer = request
            .extensions()
            .get::<PeerSubject>()
            .map(|p| p.0.to_string());
        let (metadata, _, message) = request.into_parts();
        let get = |key: &str| metadata.get(key).map(|v| v.as_bytes());
        let request_id = context::request_id(get);
        let (mut ctx, resolved) = match context::request_context(
            &self.shared,
            "grpc",
            request_id.clone(),
            get,
            peer.as_deref(),
        ) {
            Ok(found) => found,
            Err(refusal) => {
                tracing::debug!(
                    request_id = %request_id,
                    receiver = %self.shared.id,
                    reason = %refusal,
                    "request refused before ingest"
                );
                return Err(refused(refusal, None, &request_id));
            }
        };
        ctx.body_bytes = message.len();
        let batch = Batch::from_bytes(ctx, kind, message).map_err(|e| {
            // prost's words, as tonic's decoder answered before.
            let refusal = Refusal::new(RefusalKind::Invalid, e.to_string());
            refused(refusal, None, &request_id)
        })?;
        match ingest::ingest_batch(&self.shared, batch, &resolved).await {
            Ok(accepted) => Ok((accepted, request_id)),
            Err(e) => Err(refused(e.reason, e.retry_after, &request_id)),
        }
    }
}

/// The status of a refusal, with `RetryInfo` for the retryable kinds and the request id.
fn refused(refusal: Refusal, retry_after: Option<Duration>, request_id: &RequestId) -> Status {
    let code = status::grpc_code(refusal.kind);
    let metadata = request_id_metadata(request_id);
    let delay = match refusal.kind {
        // OTLP clients retry RESOURCE_EXHAUSTED only when RetryInfo is present, so a rate
        // limit always carries one.
        RefusalKind::RateLimited => Some(retry_after.unwrap_or(DEFAULT_RETRY_DELAY)),
        // UNAVAILABLE is retried anyway; RetryInfo only says how long to wait when known.
        RefusalKind::Unavailable => retry_after,
        _ => None,
    };
    match delay {
        Some(delay) => Status::with_error_details_and_metadata(
            code,
            refusal.message,
            ErrorDetails::with_retry_info(Some(delay)),
            metadata,
        ),
        None => Status::with_metadata(code, refusal.message, metadata),
    }
}

/// Metadata holding `x-request-id`; empty if the id were no valid metadata value (it always is:
/// request ids are printable ASCII).
fn request_id_metadata(request_id: &RequestId) -> MetadataMap {
    let mut metadata = MetadataMap::new();
    if let Ok(value) = MetadataValue::try_from(request_id.as_str()) {
        metadata.insert(REQUEST_ID_HEADER, value);
    }
    metadata
}

/// The response message with the request id in its metadata.
fn respond<T>(message: T, request_id: &RequestId) -> Response<T> {
    let mut response = Response::new(message);
    *response.metadata_mut() = request_id_metadata(request_id);
    response
}
