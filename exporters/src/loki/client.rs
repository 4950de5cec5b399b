//! The HTTP client of the `loki` exporter: configured headers (kept out of debug output) on
//! every push, no redirects (so headers never reach another host), TCP_NODELAY, and TLS from
//! `tls` with rustls and the process-wide crypto provider.
//!
//! Fails with a [`LokiError`] when a header is invalid, a TLS file cannot be read or parsed, or
//! no rustls crypto provider is installed (reqwest would panic).

use std::path::Path;

use http::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, redirect};

use super::{LokiConfig, LokiError};

/// Builds the client for exporter `id`.
pub(crate) fn build(id: &str, cfg: &LokiConfig) -> Result<Client, LokiError> {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        return Err(LokiError::NoCryptoProvider { id: id.to_owned() });
    }
    let mut headers = HeaderMap::new();
    for (key, value) in cfg.headers.iter() {
        let (Ok(name), Ok(mut value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            return Err(LokiError::Config {
                id: id.to_owned(),
                key: format!("headers.{key}"),
                message: "not a valid header".into(),
            });
        };
        // Kept out of debug output and HPACK tables: values are often credentials.
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| LokiError::ReadFile {
            id: id.to_owned(),
            path: path.to_owned(),
            source,
        })
    };
    let tls_err = |message: String| LokiError::Tls {
        id: id.to_owned(),
        message,
    };
    let mut builder = Client::builder()
        .user_agent(concat!("weir/", env!("CARGO_PKG_VERSION")))
        .default_headers(headers)
        .redirect(redirect::Policy::none())
        .tcp_nodelay(true)
        .connect_timeout(cfg.timeout);
    if let Some(path) = &cfg.tls.ca_file {
        let certs = reqwest::Certificate::from_pem_bundle(&read(path)?)
            .map_err(|e| tls_err(format!("tls.ca_file: {e}")))?;
        if certs.is_empty() {
            return Err(tls_err(format!(
                "tls.ca_file: no certificate in {}",
                path.display()
            )));
        }
        builder = builder.tls_certs_only(certs);
    }
    if let (Some(cert), Some(key)) = (&cfg.tls.cert_file, &cfg.tls.key_file) {
        let mut pem = read(cert)?;
        pem.push(b'\n');
        pem.extend(read(key)?);
        let identity = reqwest::Identity::from_pem(&pem)
            .map_err(|e| tls_err(format!("tls.cert_file/key_file: {e}")))?;
        builder = builder.identity(identity);
    }
    if cfg.tls.insecure_skip_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder
        .build()
        .map_err(|e| tls_err(format!("building the HTTP client: {e}")))
}
