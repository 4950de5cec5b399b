//! The HTTP client of the `sentry` exporter: the shared exporter client
//! ([`crate::shared::http::client`]: no redirects, so the auth header never reaches another host,
//! TCP_NODELAY, rustls), with the Collector's top-level `insecure_skip_verify` folded into
//! `tls`.
//!
//! Fails with a [`BuildError`] when a TLS file cannot be read or parsed, or no rustls
//! crypto provider is installed (reqwest would panic).

use reqwest::Client;

use weir_pipeline::BuildError;

use super::SentryConfig;
use crate::shared::http::{Headers, client};

/// Builds the client for exporter `id`.
pub(crate) fn build(id: &str, cfg: &SentryConfig) -> Result<Client, BuildError> {
    let mut tls = cfg.tls.clone();
    tls.insecure_skip_verify |= cfg.insecure_skip_verify;
    client::build(&Headers::default(), &[], &tls, cfg.timeout)
        .map_err(|source| BuildError::whole(id, source))
}
