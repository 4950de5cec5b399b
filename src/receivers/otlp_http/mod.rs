//! OTLP over HTTP: `POST /v1/traces`, `/v1/metrics` and `/v1/logs`, protobuf or JSON, with
//! gzip, deflate or zstd, exactly as the OTLP specification says.
//!
//! Every answer carries `X-Request-Id`. Success is 200 with an `Export*ServiceResponse` in the
//! request's encoding, holding `partial_success` when processors rejected records. Failure is a
//! `google.rpc.Status` in the request's encoding (protobuf when the encoding is unknown) with
//! 400/401/403/413/415, or 429/503 with `Retry-After` in whole seconds. A bad request never
//! affects another; the server only stops when the shutdown future resolves.
//!
//! The router is served by the receivers' accept loop ([`conn`]: HTTP/1.1 and h2, TLS when
//! configured, `read_header_timeout`, `write_timeout`, `idle_timeout`, `max_connections`); the
//! body is read by [`body`] (`read_timeout` → 408, a short body → 400, `max_inflight_bytes` →
//! 503) and large bodies are decoded off the request threads. While the process is past its
//! memory limit, or a queue behind the receiver stays full, requests get 503 without their body
//! being kept ([`admit`]). With
//! `tls.client_ca_file` a client needs a certificate signed by that CA, and its subject common
//! name reaches the handlers as a [`PeerSubject`] for the `client_cert` tenant source. A TLS file that cannot be read or used
//! fails `bind` with an error naming it; a failed handshake ends only that connection.
//!
//! With `cors`, web pages of the allowed origins may send ([`super::cors`]); with
//! `frontend_log.enabled`, the same listener serves the frontend log intake
//! ([`super::frontend_log`]). The accept loop hands handlers the peer's address
//! (`ConnectInfo<SocketAddr>`), which the intake's per-IP limit keys on.
//!
//! Any other path gets 404; gRPC sent here, or a misspelt `/v1/…` path, also gets a hint in
//! weir's log, once per client and minute ([`hint`]).

mod admit;
mod body;
mod decode;
mod hint;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use serde::Serialize;
use weir_pipeline::pipeline::Accepted;
use weir_pipeline::{Batch, RequestContext, RequestId, Signal, SignalKind};

pub use decode::{BodyError, Encoding};

use super::config::HttpConfig;
use super::cors::{self, Origins};
use super::frontend_log::{self, FrontendLog};
use super::{ReceiverShared, conn, context, ingest, status};
use crate::listen::tls::PeerSubject;
use crate::listen::{self, Bound, ListenError};

const LISTENER: &str = "otlp/http";

struct HttpState {
    shared: ReceiverShared,
    hints: hint::Hints,
    max_body: usize,
    read_timeout: std::time::Duration,
}

/// Binds `cfg.endpoint` and returns the server, ready to run until `shutdown` resolves.
/// `grpc` is where the same receiver serves gRPC, named in the hint to a gRPC client that
/// came here instead.
pub async fn bind(
    cfg: &HttpConfig,
    grpc: Option<std::net::SocketAddr>,
    shared: ReceiverShared,
    shutdown: BoxFuture<'static, ()>,
) -> Result<Bound, ListenError> {
    let limits = conn::ConnLimits {
        read_header_timeout: cfg.read_header_timeout,
        idle_timeout: cfg.idle_timeout,
        write_timeout: cfg.write_timeout,
        max_concurrent_streams: None,
        keepalive: None,
        max_age: None,
    };
    let (listener, local_addr) = conn::Listener::open(LISTENER, cfg, &shared, limits).await?;
    let app = app(cfg, grpc, shared);
    let serve = async move {
        conn::serve(listener, app, shutdown).await;
        Ok(())
    };
    Ok(Bound {
        local_addr,
        serve: Box::pin(serve),
    })
}

/// The routes of `cfg`: OTLP, the frontend log intake when enabled, CORS when enabled, every
/// request counted.
fn app(cfg: &HttpConfig, grpc: Option<std::net::SocketAddr>, shared: ReceiverShared) -> Router {
    let cors_cfg = cfg.cors.as_ref().filter(|c| c.is_enabled());
    if let Some(c) = cfg.cors.as_ref().filter(|c| !c.is_enabled())
        && !c.allowed_headers.is_empty()
    {
        tracing::warn!(
            receiver = %shared.id,
            "cors lists allowed_headers but no allowed_origins, so CORS is off"
        );
    }
    let origins = Arc::new(Origins::new(
        cors_cfg.map_or(&[][..], |c| &c.allowed_origins),
    ));
    let metrics = shared.metrics.clone();
    let id = shared.id.clone();
    let mut routes: Router<Arc<HttpState>> = Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics_route))
        .route("/v1/logs", post(logs));
    if cfg.frontend_log.enabled {
        let intake = FrontendLog::new(&cfg.frontend_log, shared.clone(), Arc::clone(&origins));
        let path = intake.path.clone();
        routes = routes.merge(
            Router::new()
                .route(&path, post(frontend_log::handle))
                .with_state(Arc::new(intake)),
        );
    }
    let mut routes = routes
        .fallback(hint::not_found)
        // The receiver applies its own limit, after decompression.
        .layer(DefaultBodyLimit::disable());
    if let Some(c) = cors_cfg {
        routes = cors::apply(routes, c, origins, id, metrics.clone());
    }
    let state = Arc::new(HttpState {
        shared,
        hints: hint::Hints::new(grpc),
        max_body: usize::try_from(cfg.max_request_body_size).unwrap_or(usize::MAX),
        read_timeout: cfg.read_timeout,
    });
    listen::http_metrics::track(routes, metrics).with_state(state)
}

async fn traces(
    State(s): State<Arc<HttpState>>,
    peer: Option<Extension<PeerSubject>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(s, peer, headers, body, SignalKind::Traces, |a| {
        ExportTraceServiceResponse {
            partial_success: status::partial(a).map(|(rejected, error_message)| {
                ExportTracePartialSuccess {
                    rejected_spans: rejected,
                    error_message,
                }
            }),
        }
    })
    .await
}

async fn metrics_route(
    State(s): State<Arc<HttpState>>,
    peer: Option<Extension<PeerSubject>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(s, peer, headers, body, SignalKind::Metrics, |a| {
        ExportMetricsServiceResponse {
            partial_success: status::partial(a).map(|(rejected, error_message)| {
                ExportMetricsPartialSuccess {
                    rejected_data_points: rejected,
                    error_message,
                }
            }),
        }
    })
    .await
}

async fn logs(
    State(s): State<Arc<HttpState>>,
    peer: Option<Extension<PeerSubject>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(s, peer, headers, body, SignalKind::Logs, |a| {
        ExportLogsServiceResponse {
            partial_success: status::partial(a).map(|(rejected, error_message)| {
                ExportLogsPartialSuccess {
                    rejected_log_records: rejected,
                    error_message,
                }
            }),
        }
    })
    .await
}

async fn handle<Resp>(
    state: Arc<HttpState>,
    peer: Option<Extension<PeerSubject>>,
    headers: HeaderMap,
    body: Body,
    kind: SignalKind,
    respond: impl FnOnce(&Accepted) -> Resp,
) -> Response
where
    Resp: Message + Serialize,
{
    let request_id = context::request_id(|k| headers.get(k).map(HeaderValue::as_bytes));
    if !state.shared.router.load().accepts(kind) {
        // As the Collector, which serves no path for a signal without a pipeline.
        let encoding = Encoding::from_headers(&headers).unwrap_or(Encoding::Protobuf);
        let message = format!("receiver {} has no {kind} pipeline", state.shared.id);
        return error_response(StatusCode::NOT_FOUND, encoding, &request_id, &message);
    }
    let encoding = match Encoding::from_headers(&headers) {
        Ok(e) => e,
        Err(e) => {
            return refuse(
                &state,
                kind,
                &request_id,
                Encoding::Protobuf,
                e.status,
                &e.message,
                None,
            );
        }
    };
    let body = match admit::admit(&state, kind, encoding, &request_id, body).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    // The verified client certificate's subject CN (mutual TLS only).
    let peer = peer.as_ref().map(|Extension(p)| &*p.0);
    let ctx = context::request_context(
        &state.shared,
        "http",
        request_id.clone(),
        |k| headers.get(k).map(HeaderValue::as_bytes),
        peer,
    );
    let (ctx, resolved) = match ctx {
        Ok(c) => c,
        Err(r) => {
            return refuse(
                &state,
                kind,
                &request_id,
                encoding,
                status::http_status(r.kind),
                &r.message,
                None,
            );
        }
    };
    let read = read_and_decode(&state, &headers, body, kind, encoding, ctx).await;
    let (batch, _in_flight) = match read {
        Ok(read) => read,
        Err(e) => {
            let retry = (e.status == StatusCode::SERVICE_UNAVAILABLE).then_some(RETRY_BUSY);
            return refuse(
                &state,
                kind,
                &request_id,
                encoding,
                e.status,
                &e.message,
                retry,
            );
        }
    };
    match ingest::ingest_batch(&state.shared, batch, &resolved).await {
        Ok(accepted) => encode(StatusCode::OK, encoding, &request_id, &respond(&accepted)),
        Err(err) => {
            let code = status::http_status(err.reason.kind);
            let retry = err.reason.kind.is_retryable().then_some(err.retry_after);
            let mut resp = error_response(code, encoding, &request_id, &err.reason.message);
            if let Some(after) = retry {
                set_retry_after(&mut resp, after);
            }
            resp
        }
    }
}

/// How long a client refused for a busy receiver is told to wait.
const RETRY_BUSY: std::time::Duration = std::time::Duration::from_secs(1);

/// Reads the body within the receiver's limits, then decompresses and decodes it (large bodies
/// off the request threads). Returns the batch of `ctx` (its `body_bytes` the size after
/// decompression) and the in-flight bytes it holds.
async fn read_and_decode(
    state: &HttpState,
    headers: &HeaderMap,
    body: Body,
    kind: SignalKind,
    encoding: Encoding,
    mut ctx: RequestContext,
) -> Result<(Batch, crate::receivers::limits::Reservation), BodyError> {
    let limits = body::BodyLimits {
        // The compressed body is bounded by the same limit: compression only ever shrinks OTLP.
        max: state.max_body,
        deadline: tokio::time::Instant::now() + state.read_timeout,
        read_timeout: state.read_timeout,
        inflight: &state.shared.inflight,
    };
    let received = body::read(body, headers, &limits).await.inspect_err(|e| {
        if e.status == StatusCode::REQUEST_TIMEOUT {
            state
                .shared
                .metrics
                .counter(
                    weir_pipeline::metrics::catalogue::RECEIVER_TIMEOUTS,
                    &[LISTENER, "body"],
                )
                .add(1);
        }
    })?;
    let (raw, limit, headers) = (received.bytes, state.max_body, headers.clone());
    let batch = body::decode_off_thread(raw.len(), move || {
        let raw = decode::decompress(&headers, raw, limit)?;
        ctx.body_bytes = raw.len();
        decode::decode_batch(kind, encoding, raw, ctx)
    })
    .await?;
    Ok((batch, received.reservation))
}

/// What the receiver does with a body it has read in full, outside any server: the encoding
/// from `Content-Type` (415 when unknown), `Content-Encoding` undone within `limit` bytes after
/// decompression (413 past it, 400 for an unknown or corrupt encoding), then the export request
/// of `kind` decoded as protobuf or OTLP/JSON (400 when malformed). Never panics, whatever the
/// bytes; the fuzz targets and their seed replay drive the receiver's decode path through it.
pub fn decode_body(
    headers: &HeaderMap,
    body: bytes::Bytes,
    limit: usize,
    kind: SignalKind,
) -> Result<Signal, BodyError> {
    let encoding = Encoding::from_headers(headers)?;
    let raw = decode::decompress(headers, body, limit)?;
    let batch = decode::decode_batch(kind, encoding, raw, RequestContext::internal())?;
    Ok(batch.into_parts().1)
}

/// Answers a request refused before it reached a pipeline, and logs why.
fn refuse(
    state: &HttpState,
    kind: SignalKind,
    request_id: &RequestId,
    encoding: Encoding,
    code: StatusCode,
    message: &str,
    retry_after: Option<std::time::Duration>,
) -> Response {
    tracing::warn!(
        request_id = %request_id,
        receiver = %state.shared.id,
        signal = %kind,
        status = code.as_u16(),
        reason = message,
        "request refused"
    );
    let mut resp = error_response(code, encoding, request_id, message);
    if retry_after.is_some() {
        set_retry_after(&mut resp, retry_after);
    }
    resp
}

fn set_retry_after(resp: &mut Response, after: Option<std::time::Duration>) {
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(status::retry_after_secs(after)),
    );
}

/// A `google.rpc.Status` body with `code` in `encoding`.
fn error_response(
    code: StatusCode,
    encoding: Encoding,
    request_id: &RequestId,
    message: &str,
) -> Response {
    let rpc = tonic_types::Status {
        code: status::rpc_code_for_http(code) as i32,
        message: message.to_owned(),
        details: Vec::new(),
    };
    match encoding {
        Encoding::Protobuf => encode_bytes(code, encoding, request_id, rpc.encode_to_vec()),
        Encoding::Json => {
            let json =
                serde_json::json!({ "code": rpc.code, "message": rpc.message, "details": [] });
            encode_bytes(code, encoding, request_id, json.to_string().into_bytes())
        }
    }
}

fn encode<M: Message + Serialize>(
    code: StatusCode,
    encoding: Encoding,
    request_id: &RequestId,
    msg: &M,
) -> Response {
    let body = match encoding {
        Encoding::Protobuf => msg.encode_to_vec(),
        // Unset fields are left out (`{}` for full success) rather than written as null.
        // Serialising generated structs cannot fail; fall back to an empty object.
        Encoding::Json => match serde_json::to_value(msg) {
            Ok(serde_json::Value::Object(mut fields)) => {
                fields.retain(|_, v| !v.is_null());
                serde_json::to_vec(&fields).unwrap_or_else(|_| b"{}".to_vec())
            }
            _ => b"{}".to_vec(),
        },
    };
    encode_bytes(code, encoding, request_id, body)
}

fn encode_bytes(
    code: StatusCode,
    encoding: Encoding,
    request_id: &RequestId,
    body: Vec<u8>,
) -> Response {
    let mut resp = (code, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(encoding.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(request_id.as_str()) {
        h.insert(context::REQUEST_ID_HEADER, v);
    }
    resp
}
