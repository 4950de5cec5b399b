//! TLS and mutual TLS for the OTLP receivers: `protocols.grpc.tls` and `protocols.http.tls`.
//!
//! ```yaml
//! protocols:
//!   http:
//!     endpoint: 0.0.0.0:4318
//!     tls:
//!       cert_file: /etc/weir/tls/server.pem     # PEM chain, leaf first
//!       key_file: /etc/weir/tls/server-key.pem  # PEM private key (PKCS#8, PKCS#1 or SEC1)
//!       client_ca_file: /etc/weir/tls/ca.pem    # optional: require client certificates
//! ```
//! The OpenTelemetry Collector's keys. `cert_file` and `key_file` turn TLS on. `client_ca_file`
//! turns on client certificate verification: a client without a valid certificate signed by one
//! of its CAs is refused during the handshake. The verified certificate's subject common name
//! is what the `client_cert` tenant source reads ([`PeerSubject`], [`common_name`]).
//!
//! How it fails:
//! - config parsing opens no file: it only checks that `cert_file` and `key_file` come
//!   together, and names the Collector's TLS keys weir lacks as "not supported by weir";
//! - the files are read and checked (PEM, the key matching the certificate, a usable CA) when
//!   the receiver binds ([`ServerTls::load`]); a problem is an error naming the key and file;
//! - a failed or slow handshake only ends that connection (logged at debug, see
//!   [`crate::receivers::conn`]), never the server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use serde::Deserialize;
use tokio_rustls::TlsAcceptor;

/// The Collector's server TLS keys that weir does not implement (relative to `tls`).
const UNSUPPORTED_KEYS: &[&str] = &[
    "ca_file",
    "ca_pem",
    "cert_pem",
    "key_pem",
    "client_ca_file_reload",
    "include_system_ca_certs_pool",
    "min_version",
    "max_version",
    "cipher_suites",
    "curve_preferences",
    "reload_interval",
    "tpm",
];

/// `tls` of an OTLP protocol: the server's certificate and, for mutual TLS, the client CA.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawTlsConfig")]
pub struct TlsConfig {
    /// PEM file with the server certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM file with the server's private key.
    pub key_file: PathBuf,
    /// PEM file with the CA certificate(s) client certificates must be signed by; when set, a
    /// client without such a certificate is refused at the handshake.
    pub client_ca_file: Option<PathBuf>,
}

/// `tls` as written, before its keys are checked against each other.
#[derive(Deserialize)]
struct RawTlsConfig {
    #[serde(default)]
    cert_file: Option<PathBuf>,
    #[serde(default)]
    key_file: Option<PathBuf>,
    #[serde(default)]
    client_ca_file: Option<PathBuf>,
    /// Every other key, refused by name.
    #[serde(flatten)]
    other: BTreeMap<String, serde_yaml_ng::Value>,
}

impl TryFrom<RawTlsConfig> for TlsConfig {
    type Error = String;

    fn try_from(raw: RawTlsConfig) -> Result<Self, String> {
        if let Some(key) = raw.other.keys().next() {
            return Err(if UNSUPPORTED_KEYS.contains(&key.as_str()) {
                format!("not supported by weir: tls.{key}")
            } else {
                format!(
                    "unknown field `{key}`, expected `cert_file`, `key_file` or `client_ca_file`"
                )
            });
        }
        // An empty path is unset, as in the Collector.
        let set = |p: Option<PathBuf>| p.filter(|p| !p.as_os_str().is_empty());
        match (set(raw.cert_file), set(raw.key_file)) {
            (Some(cert_file), Some(key_file)) => Ok(Self {
                cert_file,
                key_file,
                client_ca_file: set(raw.client_ca_file),
            }),
            (Some(_), None) => Err("key_file is required with cert_file".into()),
            (None, Some(_)) => Err("cert_file is required with key_file".into()),
            (None, None) => Err("cert_file and key_file are required to serve TLS".into()),
        }
    }
}

/// The server side of TLS, read from the files of a [`TlsConfig`] and checked.
pub struct ServerTls {
    client_ca_pem: Option<Vec<u8>>,
    config: Arc<ServerConfig>,
}

impl ServerTls {
    /// Reads and checks the files: PEM, the key matching the certificate, a usable client CA.
    /// The error names the key and file at fault.
    pub async fn load(cfg: &TlsConfig) -> Result<Self, String> {
        let cert_pem = read("cert_file", &cfg.cert_file).await?;
        let key_pem = read("key_file", &cfg.key_file).await?;
        let client_ca_pem = match &cfg.client_ca_file {
            Some(path) => Some(read("client_ca_file", path).await?),
            None => None,
        };

        let certs = certificates(&cert_pem, "cert_file", &cfg.cert_file)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            format!(
                "tls.key_file {}: no private key: {e}",
                cfg.key_file.display()
            )
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("tls: {e}"))?;
        let builder = match (&client_ca_pem, &cfg.client_ca_file) {
            (Some(pem), Some(path)) => {
                let mut roots = RootCertStore::empty();
                for ca in certificates(pem, "client_ca_file", path)? {
                    roots.add(ca).map_err(|e| {
                        format!(
                            "tls.client_ca_file {}: unusable CA certificate: {e}",
                            path.display()
                        )
                    })?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| format!("tls.client_ca_file {}: {e}", path.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(certs, key).map_err(|e| {
            format!(
                "tls.cert_file {} with tls.key_file {}: {e}",
                cfg.cert_file.display(),
                cfg.key_file.display()
            )
        })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            client_ca_pem,
            config: Arc::new(config),
        })
    }

    /// Whether clients must present a certificate (`client_ca_file` is set).
    pub fn verifies_clients(&self) -> bool {
        self.client_ca_pem.is_some()
    }

    /// An acceptor for the listeners (ALPN `h2` and `http/1.1`).
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.config))
    }
}

async fn read(key: &str, path: &Path) -> Result<Vec<u8>, String> {
    tokio::fs::read(path)
        .await
        .map_err(|e| format!("tls.{key} {}: {e}", path.display()))
}

fn certificates(
    pem: &[u8],
    key: &str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "tls.{key} {}: not a PEM certificate file: {e}",
                path.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "tls.{key} {}: no CERTIFICATE in the file",
            path.display()
        ));
    }
    Ok(certs)
}

/// The first subject common name (CN) of a DER certificate, if it has one that is a string.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}

/// The verified client certificate's subject CN, put into each request's extensions by the
/// HTTPS listener; absent without mutual TLS or when the certificate has no CN.
#[derive(Debug, Clone)]
pub struct PeerSubject(pub Arc<str>);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<TlsConfig, String> {
        serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn cert_and_key_come_together() {
        let ok = parse("{ cert_file: /a.pem, key_file: /a.key, client_ca_file: /ca.pem }")
            .expect("valid");
        assert_eq!(ok.client_ca_file, Some(PathBuf::from("/ca.pem")));
        let no_key = parse("{ cert_file: /a.pem }").expect_err("key missing");
        assert!(
            no_key.contains("key_file is required with cert_file"),
            "{no_key}"
        );
        let no_cert = parse("{ key_file: /a.key }").expect_err("cert missing");
        assert!(
            no_cert.contains("cert_file is required with key_file"),
            "{no_cert}"
        );
        let ca_only = parse("{ client_ca_file: /ca.pem }").expect_err("no server cert");
        assert!(
            ca_only.contains("cert_file and key_file are required"),
            "{ca_only}"
        );
    }

    #[test]
    fn collector_keys_weir_lacks_are_named() {
        let e = parse("{ cert_file: /a.pem, key_file: /a.key, min_version: \"1.3\" }")
            .expect_err("unsupported");
        assert!(e.contains("not supported by weir: tls.min_version"), "{e}");
        let e = parse("{ cert_file: /a.pem, key_file: /a.key, typo: 1 }").expect_err("unknown");
        assert!(e.contains("unknown field `typo`"), "{e}");
    }

    #[tokio::test]
    async fn missing_file_is_named() {
        let cfg = TlsConfig {
            cert_file: "/nonexistent/weir-cert.pem".into(),
            key_file: "/nonexistent/weir-key.pem".into(),
            client_ca_file: None,
        };
        let e = ServerTls::load(&cfg).await.err().expect("fails");
        assert!(
            e.starts_with("tls.cert_file /nonexistent/weir-cert.pem:"),
            "{e}"
        );
    }

    #[test]
    fn common_name_is_read_from_the_subject() {
        let mut params =
            rcgen::CertificateParams::new(vec!["client.example".into()]).expect("params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "team-a");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        assert_eq!(common_name(cert.der()).as_deref(), Some("team-a"));

        let mut anonymous =
            rcgen::CertificateParams::new(vec!["x.example".into()]).expect("params");
        anonymous.distinguished_name = rcgen::DistinguishedName::new();
        let cert = anonymous.self_signed(&key).expect("cert");
        assert_eq!(common_name(cert.der()), None);
        assert_eq!(common_name(b"not a certificate"), None);
    }
}
