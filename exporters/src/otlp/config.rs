//! The `otlp` exporter's configuration: the OpenTelemetry Collector's `otlp` (gRPC) exporter
//! keys, plus weir's `tenant_header`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use weir_pipeline::queue::config::{DEFAULT_TIMEOUT, UNSUPPORTED_QUEUE_KEYS};
use weir_pipeline::queue::{QueueConfig, RetryConfig};
use weir_pipeline::spec::{QUEUE_AT_ROOT, Spec};

use super::common::Compression;
use crate::shared::endpoint::{self, GrpcEndpoint, GrpcTarget};
use crate::shared::http::config::{
    TLS_KEYS, concat_keys, count_keys, key_pair_problem, timeout_problem,
};
use crate::shared::http::headers::{Headers, TenantHeader, grpc_problems};

/// Keys of the Collector's `otlp` exporter that weir does not implement. The config loader
/// reports each as `not supported by weir: <key>` instead of a generic unknown-key error.
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] =
    &concat_keys::<{ count_keys(UNSUPPORTED) }>(UNSUPPORTED);

/// The parts of [`UNSUPPORTED_COLLECTOR_KEYS`]: the gRPC client's own keys, then the shared ones.
const UNSUPPORTED: &[&[&str]] = &[
    &[
        "auth",
        "authority",
        "balancer_name",
        "compression_params",
        "keepalive",
        "middlewares",
        "read_buffer_size",
        "write_buffer_size",
        "wait_for_ready",
        "tls.insecure_skip_verify",
    ],
    TLS_KEYS,
    UNSUPPORTED_QUEUE_KEYS,
];

/// The `otlp_grpc` exporter kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const SPEC: Spec = Spec {
    aliases: &["otlp"],
    unsupported: UNSUPPORTED_COLLECTOR_KEYS,
    queue: QUEUE_AT_ROOT,
    ..Spec::named("otlp_grpc")
};

/// Compressions the gRPC exporter sends (what a Collector's or Tempo's gRPC receiver accepts).
pub(crate) const GRPC_COMPRESSIONS: &[Compression] =
    &[Compression::Gzip, Compression::Zstd, Compression::None];

/// Configuration of an `otlp` (OTLP/gRPC) exporter.
///
/// ```yaml
/// exporters:
///   otlp/tempo:
///     endpoint: tempo:4317
///     tls: { insecure: true }
///     headers: { Authorization: "Bearer ${env:TEMPO_TOKEN}" }
///     compression: zstd
///     timeout: 10s
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtlpConfig {
    /// Where to send, required: `host:port` (TLS unless `tls.insecure: true`),
    /// `http://host:port` (plaintext) or `https://host:port` (TLS; the port defaults to 443).
    /// No path: the gRPC method names the signal. Checked when the config is read.
    #[serde(deserialize_with = "endpoint::optional")]
    pub endpoint: Option<GrpcEndpoint>,
    /// Transport security. Without it, a `host:port` endpoint is reached over TLS, verified
    /// against the system's root certificates.
    pub tls: GrpcTlsConfig,
    /// Metadata sent with every request, e.g. `Authorization`. Names are case-insensitive
    /// (sent lower-case); values must be printable. A name here overrides `tenant_header`.
    pub headers: Headers,
    /// `gzip` (default, as in the Collector), `zstd`, or `none`.
    #[serde(deserialize_with = "grpc_compression")]
    pub compression: Compression,
    /// Longest wait for one attempt (connecting, sending and the answer), as `5s` (default),
    /// `500ms`, `1m`. It is sent to the backend as `grpc-timeout` too. An attempt that runs out
    /// of time is retried as `retry_on_failure` says.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// weir's key: the metadata that carries each batch's tenant, `X-Scope-OrgID` by default
    /// (what Tempo, Loki and Mimir read). An empty string sends no tenant. When `headers` sets
    /// the same name, that fixed value is sent instead.
    pub tenant_header: TenantHeader,
    /// The queue in front of this exporter: `enabled`, `queue_size`, `sizer`, `num_consumers`,
    /// `block_on_overflow`, `batch`, and weir's `drop_on_overflow`.
    pub sending_queue: QueueConfig,
    /// Retries of failed attempts that may succeed later (UNAVAILABLE, a backend asking to
    /// slow down): `enabled`, `initial_interval`, `max_interval`, `max_elapsed_time`, ...
    pub retry_on_failure: RetryConfig,
}

/// `compression`, read as one of [`GRPC_COMPRESSIONS`].
fn grpc_compression<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Compression, D::Error> {
    Compression::deserialize_one_of(deserializer, GRPC_COMPRESSIONS)
}

impl Default for OtlpConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            tls: GrpcTlsConfig::default(),
            headers: Headers::default(),
            compression: Compression::Gzip,
            timeout: DEFAULT_TIMEOUT,
            tenant_header: TenantHeader::default(),
            sending_queue: QueueConfig::default(),
            retry_on_failure: RetryConfig::default(),
        }
    }
}

/// `tls`: how the gRPC connection is secured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpcTlsConfig {
    /// `true`: plaintext (no TLS), e.g. for a Tempo in the same cluster. An `https://`
    /// endpoint still uses TLS; an `http://` endpoint is plaintext whatever this says.
    pub insecure: bool,
    /// PEM file of the certificate authorities to trust instead of the system's roots.
    pub ca_file: Option<PathBuf>,
    /// PEM file of the client certificate, for backends that require mutual TLS; needs
    /// `key_file`.
    pub cert_file: Option<PathBuf>,
    /// PEM file of the client certificate's private key; needs `cert_file`.
    pub key_file: Option<PathBuf>,
}

/// The problem of an `otlp` exporter without an endpoint.
pub(crate) const ENDPOINT_REQUIRED: &str =
    "required: host:port, http://host:port or https://host:port";

impl OtlpConfig {
    /// `(key, message)` for each invalid setting. Pure: reads no file, opens no connection.
    /// What the reading checks (the endpoint's form, `compression`) is not checked again.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.endpoint.is_none() {
            out.push(("endpoint".into(), ENDPOINT_REQUIRED.into()));
        }
        out.extend(timeout_problem(self.timeout));
        out.extend(key_pair_problem(
            self.tls.cert_file.as_deref(),
            self.tls.key_file.as_deref(),
        ));
        out.extend(grpc_problems(&self.headers, &self.tenant_header));
        out.extend(self.sending_queue.problems());
        out.extend(self.retry_on_failure.problems());
        out
    }

    /// The URI to connect to and whether TLS is used; `None` without an endpoint.
    pub(crate) fn target(&self) -> Option<GrpcTarget> {
        let endpoint = self.endpoint.as_ref()?;
        Some(endpoint.target(self.tls.insecure))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<OtlpConfig, serde_yaml_ng::Error> {
        serde_yaml_ng::from_str(yaml)
    }

    #[test]
    fn collector_yaml_parses() {
        let cfg = parse(
            r#"
endpoint: tempo:4317
tls: { insecure: true }
headers: { Authorization: "Bearer t" }
compression: zstd
timeout: 10s
sending_queue: { enabled: true, queue_size: 500, num_consumers: 4 }
retry_on_failure: { enabled: true, initial_interval: 1s, max_interval: 10s, max_elapsed_time: 1m }
"#,
        )
        .expect("parses");
        assert_eq!(cfg.timeout, Duration::from_secs(10));
        assert_eq!(cfg.sending_queue.queue_size, 500);
        assert_eq!(
            cfg.retry_on_failure.initial_interval,
            Duration::from_secs(1)
        );
        assert_eq!(cfg.tenant_header, "X-Scope-OrgID");
        assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
        let t = cfg.target().expect("an endpoint");
        assert!(!t.tls);
        assert_eq!(t.uri.to_string(), "http://tempo:4317/");
    }

    #[test]
    fn defaults_follow_the_collector() {
        let cfg = parse("endpoint: tempo:4317").expect("parses");
        assert_eq!(cfg.compression, Compression::Gzip);
        assert_eq!(cfg.timeout, Duration::from_secs(5));
        assert!(cfg.target().expect("an endpoint").tls);
    }

    #[test]
    fn unknown_and_unsupported_keys_are_errors() {
        for (yaml, says) in [
            ("endpoint: a:1\nnope: 1", "unknown field `nope`"),
            (
                "endpoint: a:1\nbalancer_name: round_robin",
                "unknown field `balancer_name`",
            ),
            (
                "endpoint: a:1\ntls: { insecure_skip_verify: true }",
                "tls: unknown field `insecure_skip_verify`",
            ),
        ] {
            let err = parse(yaml).expect_err(yaml).to_string();
            assert!(err.contains(says), "{yaml}: {err}");
        }
        for key in weir_pipeline::queue::config::UNSUPPORTED_QUEUE_KEYS {
            assert!(UNSUPPORTED_COLLECTOR_KEYS.contains(key), "{key}");
        }
    }

    #[test]
    fn endpoints_and_schemes() {
        let target = |ep: &str, insecure: bool| {
            let mut cfg = parse(&format!("endpoint: {ep:?}")).map_err(|e| e.to_string())?;
            cfg.tls.insecure = insecure;
            Ok::<_, String>(cfg.target().map(|t| (t.uri.to_string(), t.tls)))
        };
        assert_eq!(
            target("http://t:4317", false),
            Ok(Some(("http://t:4317/".into(), false)))
        );
        assert_eq!(
            target("https://t:4317", true),
            Ok(Some(("https://t:4317/".into(), true)))
        );
        assert_eq!(
            target("https://t.example", false),
            Ok(Some(("https://t.example/".into(), true)))
        );
        assert_eq!(
            target("[::1]:4317", true),
            Ok(Some(("http://[::1]:4317/".into(), false)))
        );
        assert_eq!(target("", false), Ok(None));
        let empty = parse("endpoint: ''").expect("parses");
        assert_eq!(
            empty.problems(),
            [("endpoint".to_owned(), ENDPOINT_REQUIRED.to_owned())]
        );
        for (bad, says) in [
            ("tempo", "\"tempo\" is not host:port"),
            ("unix:///sock", "unsupported scheme \"unix\""),
            ("http://t:4317/v1/traces", "has a path"),
            ("t:port", "\"t:port\" is not host:port"),
            (":4317", "\":4317\" is not host:port"),
        ] {
            let message = target(bad, false).expect_err(bad);
            assert!(message.contains(says), "{bad}: {message}");
        }
    }

    #[test]
    fn problems_name_the_key() {
        let cfg = parse("timeout: 0s\ntls: { cert_file: c.pem }\nsending_queue: { queue_size: 0 }")
            .expect("parses");
        let keys: Vec<String> = cfg.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "endpoint",
                "timeout",
                "tls.key_file",
                "sending_queue.queue_size"
            ]
        );
    }

    #[test]
    fn a_compression_grpc_cannot_send_fails_the_reading_at_its_key() {
        let err = parse("endpoint: t:1\ncompression: deflate").expect_err("deflate");
        let message = err.to_string();
        assert!(message.contains("compression"), "{message}");
        assert!(
            message.contains("unknown compression \"deflate\"; use one of gzip, zstd, none"),
            "{message}"
        );
        let cfg = parse("endpoint: t:1\ncompression: ''").expect("parses");
        assert_eq!(cfg.compression, Compression::None);
    }
}
