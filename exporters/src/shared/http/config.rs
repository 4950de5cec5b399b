//! The config keys the sending exporters share, spelled as in the OpenTelemetry Collector: the
//! `tls` block of the HTTP exporters ([`HttpTlsConfig`]), `timeout`, and the
//! lists of the Collector's HTTP client and TLS keys that weir does not implement.
//!
//! Every check here is pure (it reads no file and opens no connection) and reports a problem as
//! `(key, message)`, the key being the dotted path inside the exporter's config; each exporter's
//! `problems()` calls them where it checks that key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Keys of the Collector's HTTP client settings (`confighttp.ClientConfig`) that weir does not
/// implement; part of the `UNSUPPORTED_COLLECTOR_KEYS` of each HTTP exporter.
pub(crate) const HTTP_CLIENT_KEYS: &[&str] = &[
    "auth",
    "compression_params",
    "cookies",
    "disable_keep_alives",
    "force_attempt_http2",
    "http2_ping_timeout",
    "http2_read_idle_timeout",
    "idle_conn_timeout",
    "max_conns_per_host",
    "max_idle_conns",
    "max_idle_conns_per_host",
    "middlewares",
    "proxy_url",
    "read_buffer_size",
    "write_buffer_size",
];

/// Keys of the Collector's client `tls` settings (`configtls.ClientConfig`) that weir does not
/// implement, for the HTTP and gRPC exporters alike.
pub(crate) const TLS_KEYS: &[&str] = &[
    "tls.ca_pem",
    "tls.cert_pem",
    "tls.key_pem",
    "tls.server_name_override",
    "tls.include_system_ca_certs_pool",
    "tls.min_version",
    "tls.max_version",
    "tls.cipher_suites",
    "tls.curve_preferences",
    "tls.reload_interval",
];

/// How many keys the lists in `parts` hold together: the `N` of [`concat_keys`].
pub(crate) const fn count_keys(parts: &[&[&str]]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < parts.len() {
        n += parts[i].len();
        i += 1;
    }
    n
}

/// The lists in `parts`, one after another, as one array; `N` must be [`count_keys`] of
/// `parts` (anything else fails to compile when used in a `const`). Lets an exporter's
/// `UNSUPPORTED_COLLECTOR_KEYS` be its own keys plus the shared lists.
pub(crate) const fn concat_keys<const N: usize>(parts: &[&[&'static str]]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut at = 0;
    let mut i = 0;
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[at] = parts[i][j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(at == N, "N must be count_keys(parts)");
    out
}

/// `tls`: how `https://` connections are verified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpTlsConfig {
    /// Accepted for compatibility with Collector configs; has no effect here: the URL's scheme
    /// decides (`http://` plaintext, `https://` TLS).
    pub insecure: bool,
    /// Do not verify the server's certificate or name. Only for tests: anyone on the path can
    /// read and change the data.
    pub insecure_skip_verify: bool,
    /// PEM file of the certificate authorities to trust instead of the system's roots.
    pub ca_file: Option<PathBuf>,
    /// PEM file of the client certificate, for backends that require mutual TLS; needs
    /// `key_file`.
    pub cert_file: Option<PathBuf>,
    /// PEM file of the client certificate's private key; needs `cert_file`.
    pub key_file: Option<PathBuf>,
}

impl HttpTlsConfig {
    /// The problem of these settings, if any: a client certificate without its key, or the
    /// other way round.
    pub(crate) fn problem(&self) -> Option<(String, String)> {
        key_pair_problem(self.cert_file.as_deref(), self.key_file.as_deref())
    }
}

/// `tls.cert_file` and `tls.key_file` go together: the problem when only one is set.
pub(crate) fn key_pair_problem(
    cert_file: Option<&Path>,
    key_file: Option<&Path>,
) -> Option<(String, String)> {
    match (cert_file, key_file) {
        (Some(_), None) => Some(("tls.key_file".into(), "required with cert_file".into())),
        (None, Some(_)) => Some(("tls.cert_file".into(), "required with key_file".into())),
        _ => None,
    }
}

/// `timeout` must be more than zero: the problem when it is not.
pub(crate) fn timeout_problem(timeout: Duration) -> Option<(String, String)> {
    timeout
        .is_zero()
        .then(|| ("timeout".into(), "must be more than 0s".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_pairs_and_timeouts() {
        let (cert, key) = (Path::new("c.pem"), Path::new("k.pem"));
        assert_eq!(key_pair_problem(Some(cert), Some(key)), None);
        assert_eq!(key_pair_problem(None, None), None);
        assert_eq!(
            key_pair_problem(Some(cert), None).map(|p| p.0),
            Some("tls.key_file".into())
        );
        assert_eq!(
            key_pair_problem(None, Some(key)).map(|p| p.0),
            Some("tls.cert_file".into())
        );
        assert_eq!(
            timeout_problem(Duration::ZERO),
            Some(("timeout".into(), "must be more than 0s".into()))
        );
        assert_eq!(timeout_problem(Duration::from_millis(1)), None);
    }

    #[test]
    fn key_lists_concatenate_in_order() {
        const PARTS: &[&[&str]] = &[&["a"], TLS_KEYS, &[], &["z"]];
        const ALL: &[&str] = &concat_keys::<{ count_keys(PARTS) }>(PARTS);
        assert_eq!(ALL.len(), TLS_KEYS.len() + 2);
        assert_eq!(
            (ALL[0], ALL[1], ALL[ALL.len() - 1]),
            ("a", "tls.ca_pem", "z")
        );
    }
}
