//! Config of the `otlp` receiver, in the OpenTelemetry Collector's shape and keys.
//!
//! ```yaml
//! receivers:
//!   otlp:
//!     protocols:
//!       grpc: { endpoint: 0.0.0.0:4317, max_recv_msg_size_mib: 4 }
//!       http:
//!         endpoint: 0.0.0.0:4318
//!         max_request_body_size: 20971520
//!         tls: { cert_file: server.pem, key_file: server-key.pem, client_ca_file: ca.pem }
//!         cors: { allowed_origins: ["https://*.example.com"], max_age: 7200 }
//!         frontend_log: { enabled: true }
//! ```
//! A protocol key present with no value (`grpc:`) enables it with its defaults, as in the
//! Collector. Errors are serde errors that the config loader places at their dotted path, and
//! `(key, message)` pairs from [`OtlpReceiverConfig::problems`].

use serde::{Deserialize, Deserializer};

pub use super::cors::CorsConfig;
pub use super::frontend_log::FrontendLogConfig;
pub use super::tenant::{TenantConfig, TenantSource};
pub use super::tls::TlsConfig;

/// The `otlp` receiver.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OtlpReceiverConfig {
    /// Which transports to listen on; at least one is required.
    #[serde(default)]
    pub protocols: Protocols,
    /// How the tenant of a request is found (see [`TenantConfig`]).
    #[serde(default)]
    pub tenant: TenantConfig,
}

impl OtlpReceiverConfig {
    /// `(key, message)` for each invalid setting, keys relative to the receiver.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = self.tenant.problems();
        if let Some(http) = &self.protocols.http {
            let token = self
                .tenant
                .from
                .iter()
                .any(|s| s == &TenantSource::Named("token".into()));
            let at = |(k, m): (String, String)| (format!("protocols.http.{k}"), m);
            if let Some(cors) = &http.cors {
                out.extend(cors.problems().into_iter().map(at));
            }
            out.extend(http.frontend_log.problems(token).into_iter().map(at));
        }
        out
    }
}

/// The transports of the `otlp` receiver.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Protocols {
    /// OTLP over gRPC; `grpc:` alone enables it with defaults.
    #[serde(default, deserialize_with = "present_means_enabled")]
    pub grpc: Option<GrpcConfig>,
    /// OTLP over HTTP (protobuf and JSON); `http:` alone enables it with defaults.
    #[serde(default, deserialize_with = "present_means_enabled")]
    pub http: Option<HttpConfig>,
}

/// OTLP/gRPC listener settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GrpcConfig {
    /// `host:port` to listen on; port 0 picks a free port (logged in the `listening` event).
    #[serde(default = "default_grpc_endpoint")]
    pub endpoint: String,
    /// Largest message accepted, in MiB, after decompression. Larger ones get RESOURCE_EXHAUSTED.
    #[serde(default = "default_max_recv_msg_size_mib")]
    pub max_recv_msg_size_mib: u64,
    /// Keep the client's metadata with the request (accepted for Collector compatibility; weir
    /// always keeps the request id, tenant and `traceparent`).
    #[serde(default)]
    pub include_metadata: bool,
    /// Serve TLS, and with `client_ca_file` require client certificates (see [`TlsConfig`]).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

/// OTLP/HTTP listener settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `host:port` to listen on; port 0 picks a free port (logged in the `listening` event).
    #[serde(default = "default_http_endpoint")]
    pub endpoint: String,
    /// Largest request body accepted, in bytes, measured after decompression (413 beyond).
    #[serde(default = "default_max_request_body_size")]
    pub max_request_body_size: u64,
    /// Keep the client's headers with the request (accepted for Collector compatibility; weir
    /// always keeps the request id, tenant and `traceparent`).
    #[serde(default)]
    pub include_metadata: bool,
    /// Serve TLS, and with `client_ca_file` require client certificates (see [`TlsConfig`]).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Let web pages of other origins send (the Collector's `cors` keys, see [`CorsConfig`]).
    #[serde(default)]
    pub cors: Option<CorsConfig>,
    /// weir's intake for web pages' errors and logs (see [`FrontendLogConfig`]); off by default.
    #[serde(default)]
    pub frontend_log: FrontendLogConfig,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self {
            endpoint: default_grpc_endpoint(),
            max_recv_msg_size_mib: default_max_recv_msg_size_mib(),
            include_metadata: false,
            tls: None,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            endpoint: default_http_endpoint(),
            max_request_body_size: default_max_request_body_size(),
            include_metadata: false,
            tls: None,
            cors: None,
            frontend_log: FrontendLogConfig::default(),
        }
    }
}

fn default_grpc_endpoint() -> String {
    "0.0.0.0:4317".into()
}
fn default_http_endpoint() -> String {
    "0.0.0.0:4318".into()
}
fn default_max_recv_msg_size_mib() -> u64 {
    4
}
fn default_max_request_body_size() -> u64 {
    20 * 1024 * 1024
}

/// `key:` with no value enables the protocol with its defaults; an absent key leaves it off.
fn present_means_enabled<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(d)?.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_protocol_keys_enable_defaults() {
        let c: OtlpReceiverConfig =
            serde_yaml_ng::from_str("protocols:\n  grpc:\n  http:\n").expect("parses");
        assert_eq!(c.protocols.grpc, Some(GrpcConfig::default()));
        assert_eq!(c.protocols.http, Some(HttpConfig::default()));
    }

    #[test]
    fn absent_protocol_is_off() {
        let c: OtlpReceiverConfig =
            serde_yaml_ng::from_str("protocols:\n  http:\n    endpoint: 127.0.0.1:0\n")
                .expect("parses");
        assert_eq!(c.protocols.grpc, None);
        assert_eq!(
            c.protocols.http.map(|h| h.endpoint),
            Some("127.0.0.1:0".to_owned())
        );
    }
}
