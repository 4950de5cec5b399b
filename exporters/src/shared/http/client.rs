//! Building the `reqwest` client of an HTTP exporter from the keys they share: `headers` (sent
//! with every request, marked sensitive so they stay out of debug output and HPACK tables), the
//! exporter's own protocol headers, `tls` (rustls with the process-wide crypto provider; the
//! system's roots unless `tls.ca_file` names others; a client certificate for mutual TLS) and
//! `timeout` (the connect timeout; each request carries its own). Every client sends weir's
//! user agent, sets TCP_NODELAY and follows no redirect, so configured headers never reach
//! another host.
//!
//! `build` reads the TLS files and opens no connection. It fails with a [`ClientError`] when a
//! header is invalid, a TLS file cannot be read or holds no usable certificate or key, or no
//! rustls crypto provider is installed (reqwest would panic); each exporter wraps it with its
//! id.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, redirect};

use super::config::HttpTlsConfig;
use super::headers::Headers;

/// Why an HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A TLS file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The configured path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// `tls.ca_file` holds no certificate.
    #[error("tls.ca_file: no certificate in {}", path.display())]
    NoCertificate {
        /// The configured path.
        path: PathBuf,
    },
    /// reqwest refused a TLS file (not PEM, key not matching) or the client settings.
    #[error("{what}: {error}")]
    Tls {
        /// The key or step at fault: `tls.ca_file`, `tls.cert_file/key_file`, or `building
        /// the HTTP client`.
        what: &'static str,
        /// What reqwest said.
        error: reqwest::Error,
    },
    /// No rustls crypto provider is installed; the binary installs ring's at start.
    #[error(
        "no TLS crypto provider installed \
         (call rustls::crypto::ring::default_provider().install_default() at start)"
    )]
    NoCryptoProvider,
}

/// Builds a client that sends `headers` and then `fixed` (the exporter's protocol headers,
/// which win over a configured header of the same name) with every request, secured as `tls`
/// says, connecting within `connect_timeout`.
pub(crate) fn build(
    headers: &Headers,
    fixed: &[(HeaderName, HeaderValue)],
    tls: &HttpTlsConfig,
    connect_timeout: Duration,
) -> Result<Client, ClientError> {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        return Err(ClientError::NoCryptoProvider);
    }
    let mut defaults = HeaderMap::new();
    // Values are marked sensitive (kept out of debug output and HPACK tables).
    for (_, name, value) in headers.iter() {
        defaults.insert(name.clone(), value.clone());
    }
    for (name, value) in fixed {
        defaults.insert(name.clone(), value.clone());
    }
    let tls_err = |what: &'static str| move |error| ClientError::Tls { what, error };
    let mut builder = Client::builder()
        .user_agent(concat!("weir/", env!("CARGO_PKG_VERSION")))
        .default_headers(defaults)
        .redirect(redirect::Policy::none())
        .tcp_nodelay(true)
        .connect_timeout(connect_timeout);
    if let Some(path) = &tls.ca_file {
        let certs =
            reqwest::Certificate::from_pem_bundle(&read(path)?).map_err(tls_err("tls.ca_file"))?;
        if certs.is_empty() {
            return Err(ClientError::NoCertificate { path: path.clone() });
        }
        builder = builder.tls_certs_only(certs);
    }
    if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
        let mut pem = read(cert)?;
        pem.push(b'\n');
        pem.extend(read(key)?);
        let identity =
            reqwest::Identity::from_pem(&pem).map_err(tls_err("tls.cert_file/key_file"))?;
        builder = builder.identity(identity);
    }
    if tls.insecure_skip_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder.build().map_err(tls_err("building the HTTP client"))
}

fn read(path: &Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|source| ClientError::ReadFile {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls_with_ca(path: PathBuf) -> HttpTlsConfig {
        HttpTlsConfig {
            ca_file: Some(path),
            ..HttpTlsConfig::default()
        }
    }

    #[test]
    fn tls_files_are_checked() {
        crate::install_crypto_provider();
        let timeout = Duration::from_secs(1);
        let plain = HttpTlsConfig::default();
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pem");
        let err = build(&Headers::default(), &[], &tls_with_ca(missing), timeout);
        assert!(matches!(err, Err(ClientError::ReadFile { .. })), "{err:?}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let err = build(&Headers::default(), &[], &tls_with_ca(empty), timeout);
        assert!(
            matches!(err, Err(ClientError::NoCertificate { .. })),
            "{err:?}"
        );

        let fixed = [(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        )];
        build(&Headers::default(), &fixed, &plain, timeout).expect("client");
    }
}
