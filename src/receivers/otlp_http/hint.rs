//! The answer to a request no OTLP/HTTP route takes (404, as before), and a hint in weir's log
//! for the two mistakes a client makes most: gRPC sent to the OTLP/HTTP port (an SDK whose
//! `OTEL_EXPORTER_OTLP_PROTOCOL` is, or defaults to, `grpc` pointed at `:4318`), and a
//! misspelt `/v1/…` path. Each hint is logged once per client address per [`INTERVAL`], so a
//! client retrying in a loop costs one line a minute. Never fails.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Extension, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, Uri, Version, header};

use super::{Encoding, HttpState, error_response};
use crate::receivers::context;
use crate::receivers::per_client::PerClient;

/// How often one client gets the same hint at most.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// The longest path a hint quotes; the rest is cut (the path is the client's).
const MAX_PATH: usize = 100;

/// What the OTLP/HTTP listener says about wrong requests, and to whom it said it lately.
pub(super) struct Hints {
    /// Where gRPC goes, for the gRPC hint.
    grpc_goes_to: String,
    /// Clients told lately about gRPC on this port.
    grpc_told: PerClient,
    /// Clients told lately about an unknown `/v1/…` path.
    path_told: PerClient,
}

impl Hints {
    /// Hints for a listener whose receiver serves gRPC at `grpc` (`None`: no gRPC listener).
    pub(super) fn new(grpc: Option<SocketAddr>) -> Self {
        let grpc_goes_to = match grpc {
            Some(addr) => format!(
                "gRPC goes to port {} (this receiver's grpc listener, bound at {addr})",
                addr.port()
            ),
            None => {
                "gRPC goes to an OTLP/gRPC port, and this receiver has no protocols.grpc".to_owned()
            }
        };
        Self {
            grpc_goes_to,
            grpc_told: PerClient::new(INTERVAL),
            path_told: PerClient::new(INTERVAL),
        }
    }
}

/// The fallback route: 404 with a `google.rpc.Status`, and the hint when it applies.
pub(super) async fn not_found(
    State(s): State<Arc<HttpState>>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    version: Version,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let client = client.map(|Extension(ConnectInfo(addr))| addr.ip());
    log_hint(&s, client, version, &uri, &headers);
    let request_id = context::request_id(|k| headers.get(k).map(HeaderValue::as_bytes));
    let encoding = Encoding::from_headers(&headers).unwrap_or(Encoding::Protobuf);
    error_response(
        StatusCode::NOT_FOUND,
        encoding,
        &request_id,
        "unknown path; OTLP/HTTP takes POST /v1/traces, /v1/metrics and /v1/logs",
    )
}

fn log_hint(
    s: &HttpState,
    client: Option<IpAddr>,
    version: Version,
    uri: &Uri,
    headers: &HeaderMap,
) {
    let grpc = version == Version::HTTP_2
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/grpc"));
    let path = uri.path();
    if !grpc && !path.starts_with("/v1/") {
        return;
    }
    // Without an address (never, behind weir's accept loop) every request counts as one client.
    let client_ip = client.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let told = if grpc {
        &s.hints.grpc_told
    } else {
        &s.hints.path_told
    };
    if !told.allow(client_ip) {
        return;
    }
    let client = client.map(|ip| ip.to_string()).unwrap_or_default();
    let receiver = &*s.shared.id;
    if grpc {
        tracing::warn!(
            receiver,
            client,
            path = quoted(path),
            "a gRPC request arrived: this is the OTLP/HTTP port; {}. An SDK that should send \
             here needs OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
            s.hints.grpc_goes_to
        );
    } else {
        tracing::warn!(
            receiver,
            client,
            "unknown path {}; OTLP/HTTP paths are /v1/traces, /v1/metrics, /v1/logs",
            quoted(path)
        );
    }
}

/// `path` cut to [`MAX_PATH`] characters.
fn quoted(path: &str) -> &str {
    match path.char_indices().nth(MAX_PATH) {
        Some((end, _)) => &path[..end],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_are_cut() {
        let long = format!("/v1/{}", "x".repeat(500));
        assert_eq!(quoted(&long).len(), MAX_PATH);
        assert_eq!(quoted("/v1/trace"), "/v1/trace");
    }

    #[test]
    fn the_grpc_hint_names_the_grpc_port() {
        let h = Hints::new(Some("0.0.0.0:4317".parse().expect("addr")));
        assert!(h.grpc_goes_to.contains("port 4317"), "{}", h.grpc_goes_to);
        let none = Hints::new(None);
        assert!(none.grpc_goes_to.contains("no protocols.grpc"));
    }
}
