//! `weir sink`'s OTLP/HTTP side: `POST /v1/traces|logs|metrics` (protobuf or JSON, gzip,
//! deflate or zstd, decoded exactly as weir's receiver decodes), `GET /counts`, `POST /reset`.
//!
//! How it fails: a body that does not decode is answered with the receiver's status (400, 413,
//! 415) and counted nowhere; [`serve`] returns the listener's I/O error.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode, header};
use tokio::net::TcpListener;
use weir_pipeline::{Signal, SignalKind};

use super::MAX_MESSAGE;
use super::count::{Counts, TENANT_HEADER, Tally};
use crate::loadgen::args::SignalArg;
use crate::receivers::otlp_http::{Encoding, decode_body};

fn export(counts: &Counts, headers: &HeaderMap, body: Bytes, kind: SignalKind) -> Response {
    let bytes = body.len() as u64;
    let signal = match decode_body(headers, body, MAX_MESSAGE, kind) {
        Ok(signal) => signal,
        Err(e) => return (e.status, e.message).into_response(),
    };
    let tenant = headers.get(TENANT_HEADER).and_then(|v| v.to_str().ok());
    let (arg, tally) = match &signal {
        Signal::Traces(r) => (SignalArg::Traces, Tally::traces(tenant, r)),
        Signal::Logs(r) => (SignalArg::Logs, Tally::logs(tenant, r)),
        Signal::Metrics(r) => (SignalArg::Metrics, Tally::metrics(tenant, r)),
    };
    counts.add(arg, bytes, tally);
    // An empty export response: no bytes in protobuf, `{}` in JSON.
    let encoding = Encoding::from_headers(headers).unwrap_or(Encoding::Protobuf);
    let body: &'static [u8] = match encoding {
        Encoding::Protobuf => b"",
        Encoding::Json => b"{}",
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response()
}

fn router(counts: Arc<Counts>) -> Router {
    let route = |kind: SignalKind| {
        post(
            move |State(c): State<Arc<Counts>>, headers: HeaderMap, body: Bytes| async move {
                export(&c, &headers, body, kind)
            },
        )
    };
    Router::new()
        .route("/v1/traces", route(SignalKind::Traces))
        .route("/v1/logs", route(SignalKind::Logs))
        .route("/v1/metrics", route(SignalKind::Metrics))
        .route(
            "/counts",
            get(|State(c): State<Arc<Counts>>| async move { axum::Json(c.json()) }),
        )
        .route(
            "/reset",
            post(|State(c): State<Arc<Counts>>| async move {
                c.reset();
                StatusCode::NO_CONTENT
            }),
        )
        .layer(DefaultBodyLimit::max(MAX_MESSAGE))
        .with_state(counts)
}

/// Serves OTLP/HTTP and the counts on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    counts: Arc<Counts>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(counts))
        .with_graceful_shutdown(shutdown)
        .await
}
