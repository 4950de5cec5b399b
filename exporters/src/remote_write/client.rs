//! The HTTP side of remote write: the client (TLS as in `otlphttp`: rustls with the
//! process-wide `ring` provider, system roots unless `tls.ca_file`) and what an answer means.
//!
//! As the remote write specification says: 2xx is success; 429 and 5xx are retryable, with
//! `Retry-After` (seconds or an HTTP date) honoured; any other status (400 for out-of-order or
//! invalid samples, 401, 404, redirects: they are not followed) is permanent. No connection or
//! no answer within `timeout` is retryable. Errors carry the status and at most 256 bytes of
//! the body, cleaned of control characters.

use std::path::Path;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use reqwest::{Client, redirect};
use weir_pipeline::ExportError;

use super::{RemoteWriteConfig, RemoteWriteError};
use crate::otlp::common::clean;

/// Most of an error body read.
const MAX_BODY: usize = 4096;

/// The client: configured headers and the remote write headers on every request.
pub(crate) fn client(id: &str, cfg: &RemoteWriteConfig) -> Result<Client, RemoteWriteError> {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        return Err(RemoteWriteError::NoCryptoProvider { id: id.to_owned() });
    }
    let config_err = |key: String, message: String| RemoteWriteError::Config {
        id: id.to_owned(),
        message: format!("{key}: {message}"),
    };
    let mut headers = HeaderMap::new();
    for (key, value) in cfg.headers.iter() {
        let (Ok(name), Ok(mut value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            return Err(config_err(
                format!("headers.{key}"),
                "not a valid header".into(),
            ));
        };
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-protobuf"),
    );
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("snappy"));
    headers.insert(
        HeaderName::from_static("x-prometheus-remote-write-version"),
        HeaderValue::from_static("0.1.0"),
    );
    let read = |path: &Path| {
        std::fs::read(path)
            .map_err(|e| config_err("tls".into(), format!("cannot read {}: {e}", path.display())))
    };
    let tls_err = |what: &str, e: reqwest::Error| config_err(what.into(), e.to_string());
    let mut builder = Client::builder()
        .user_agent(concat!("weir/", env!("CARGO_PKG_VERSION")))
        .default_headers(headers)
        .redirect(redirect::Policy::none())
        .tcp_nodelay(true)
        .connect_timeout(cfg.timeout);
    if let Some(path) = &cfg.tls.ca_file {
        let certs = reqwest::Certificate::from_pem_bundle(&read(path)?)
            .map_err(|e| tls_err("tls.ca_file", e))?;
        if certs.is_empty() {
            return Err(config_err(
                "tls.ca_file".into(),
                format!("no certificate in {}", path.display()),
            ));
        }
        builder = builder.tls_certs_only(certs);
    }
    if let (Some(cert), Some(key)) = (&cfg.tls.cert_file, &cfg.tls.key_file) {
        let mut pem = read(cert)?;
        pem.push(b'\n');
        pem.extend(read(key)?);
        let identity =
            reqwest::Identity::from_pem(&pem).map_err(|e| tls_err("tls.cert_file", e))?;
        builder = builder.identity(identity);
    }
    if cfg.tls.insecure_skip_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder
        .build()
        .map_err(|e| tls_err("building the HTTP client", e))
}

/// The export's result from the backend's answer.
pub(crate) async fn answer(id: &str, response: reqwest::Response) -> Result<(), ExportError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = retry_after(response.headers(), SystemTime::now());
    let body = read_body(response).await;
    let what = format!(
        "prometheusremotewrite exporter {id}: HTTP {status}: {}",
        clean(&String::from_utf8_lossy(&body))
    );
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        Err(ExportError::Retryable {
            source: what.into(),
            retry_after,
        })
    } else {
        Err(ExportError::permanent(what))
    }
}

/// A failure to get any answer: retryable unless the request itself could not be built.
pub(crate) fn send_error(id: &str, timeout: Duration, e: reqwest::Error) -> ExportError {
    if e.is_timeout() {
        return ExportError::retryable(format!(
            "prometheusremotewrite exporter {id}: no answer within {timeout:?}"
        ));
    }
    let permanent = e.is_builder();
    // Without the URL: it may hold a credential.
    let what = format!(
        "prometheusremotewrite exporter {id}: {}",
        crate::otlp::error_chain(&e.without_url())
    );
    if permanent {
        ExportError::permanent(what)
    } else {
        ExportError::retryable(what)
    }
}

async fn read_body(mut response: reqwest::Response) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_BODY - out.len();
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() == MAX_BODY {
            break;
        }
    }
    out
}

/// `Retry-After` as a wait: whole seconds, or an HTTP date (one in the past is no wait).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}
