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
//! The timeouts and caps that bound a receiver under abuse are documented with their fields and
//! checked in [`super::limits`].
//! A protocol key present with no value (`grpc:`) enables it with its defaults, as in the
//! Collector. Errors are serde errors that the config loader places at their dotted path, and
//! `(key, message)` pairs from [`OtlpReceiverConfig::problems`].

use std::time::Duration;

use serde::{Deserialize, Deserializer};
use weir_pipeline::spec::Spec;

pub use super::cors::CorsConfig;
pub use super::frontend_log::FrontendLogConfig;
use super::limits::{self, KeepaliveConfig};
pub use super::tenant::{TenantConfig, TenantSource, TenantSourceError};
pub use crate::listen::tls::TlsConfig;

/// The `otlp` receiver kind: every signal; the Collector keys weir does not implement.
pub const SPEC: Spec = Spec {
    unsupported: &[
        "protocols.grpc.auth",
        "protocols.grpc.keepalive.enforcement_policy",
        "protocols.grpc.read_buffer_size",
        "protocols.grpc.write_buffer_size",
        "protocols.grpc.transport",
        "protocols.http.auth",
        "protocols.http.traces_url_path",
        "protocols.http.metrics_url_path",
        "protocols.http.logs_url_path",
        "protocols.http.response_headers",
        "protocols.http.compression_algorithms",
    ],
    ..Spec::named("otlp")
};

/// The `otlp` receiver.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OtlpReceiverConfig {
    /// Which transports to listen on; at least one is required.
    #[serde(default)]
    pub protocols: Protocols,
    /// How the tenant of a request is found (see [`TenantConfig`]).
    #[serde(default)]
    pub tenant: TenantConfig,
    /// Bytes of request bodies (as sent, before decompression) the receiver reads at once,
    /// over both transports; a request that would pass it gets 503 / UNAVAILABLE with a retry
    /// hint. Default: 67108864 (64 MiB).
    #[serde(default = "limits::default_max_inflight_bytes")]
    pub max_inflight_bytes: u64,
}

impl Default for OtlpReceiverConfig {
    fn default() -> Self {
        Self {
            protocols: Protocols::default(),
            tenant: TenantConfig::default(),
            max_inflight_bytes: limits::default_max_inflight_bytes(),
        }
    }
}

impl OtlpReceiverConfig {
    /// `(key, message)` for each invalid setting, keys relative to the receiver.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = self.tenant.problems();
        out.extend(self.limit_problems());
        if let Some(http) = &self.protocols.http {
            let token = self.tenant.has_token();
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
    /// With no host (`:4317`, or a bare port) it binds localhost only, as the Collector does.
    /// Default: `localhost:4317` (gRPC), `localhost:4318` (HTTP).
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
    /// Calls one connection may have open at once (HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`).
    /// Default: 100.
    #[serde(default = "limits::default_max_concurrent_streams")]
    pub max_concurrent_streams: u32,
    /// When idle or old connections are closed and silent clients pinged.
    #[serde(default)]
    pub keepalive: KeepaliveConfig,
    /// Time a call's request message has to arrive in full once its headers are in (weir's
    /// key); past it the call gets DEADLINE_EXCEEDED. Default: 60s.
    #[serde(default = "limits::default_read_timeout", with = "humantime_serde")]
    pub read_timeout: Duration,
    /// Connections this listener keeps open at once (weir's key); one more is closed at once,
    /// counted in `weir_receiver_connections_refused_total` and logged. Default: unset, only
    /// the budget every OTLP listener shares (the descriptor limit minus a reserve).
    #[serde(default)]
    pub max_connections: Option<u32>,
}

/// OTLP/HTTP listener settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `host:port` to listen on; port 0 picks a free port (logged in the `listening` event).
    /// With no host (`:4317`, or a bare port) it binds localhost only, as the Collector does.
    /// Default: `localhost:4317` (gRPC), `localhost:4318` (HTTP).
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
    /// Time a client has to send a request's headers; past it the connection is closed.
    /// Default: 10s.
    #[serde(
        default = "limits::default_read_header_timeout",
        with = "humantime_serde"
    )]
    pub read_header_timeout: Duration,
    /// Time a request's whole body has to arrive once its headers are in; past it 408.
    /// Default: 60s.
    #[serde(default = "limits::default_read_timeout", with = "humantime_serde")]
    pub read_timeout: Duration,
    /// Time a write to the client may stay blocked (a client that does not read its answer);
    /// past it the connection is closed. Default: 30s.
    #[serde(default = "limits::default_write_timeout", with = "humantime_serde")]
    pub write_timeout: Duration,
    /// A connection with no request in flight for this long is closed. Default: 60s.
    #[serde(default = "limits::default_idle_timeout", with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Connections this listener keeps open at once (weir's key); one more is closed at once,
    /// counted in `weir_receiver_connections_refused_total` and logged. Default: unset, only
    /// the budget every OTLP listener shares (the descriptor limit minus a reserve).
    #[serde(default)]
    pub max_connections: Option<u32>,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self {
            endpoint: default_grpc_endpoint(),
            max_recv_msg_size_mib: default_max_recv_msg_size_mib(),
            include_metadata: false,
            tls: None,
            max_concurrent_streams: limits::default_max_concurrent_streams(),
            keepalive: KeepaliveConfig::default(),
            read_timeout: limits::default_read_timeout(),
            max_connections: None,
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
            read_header_timeout: limits::default_read_header_timeout(),
            read_timeout: limits::default_read_timeout(),
            write_timeout: limits::default_write_timeout(),
            idle_timeout: limits::default_idle_timeout(),
            max_connections: None,
        }
    }
}

/// Both protocols name where and how their listener binds with the same keys.
macro_rules! place {
    ($($config:ty),+) => {$(
        impl super::conn::Place for $config {
            fn endpoint(&self) -> &str {
                &self.endpoint
            }
            fn tls(&self) -> Option<&TlsConfig> {
                self.tls.as_ref()
            }
            fn max_connections(&self) -> Option<u32> {
                self.max_connections
            }
        }
    )+};
}
place!(GrpcConfig, HttpConfig);

fn default_grpc_endpoint() -> String {
    "localhost:4317".into()
}
fn default_http_endpoint() -> String {
    "localhost:4318".into()
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
