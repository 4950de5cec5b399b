//! The `otlphttp` exporter's configuration: the OpenTelemetry Collector's `otlphttp` exporter
//! keys, plus weir's `tenant_header`.

use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;
use weir_pipeline::SignalKind;
use weir_pipeline::queue::config::{DEFAULT_TIMEOUT, UNSUPPORTED_QUEUE_KEYS};
use weir_pipeline::queue::{QueueConfig, RetryConfig};
use weir_pipeline::spec::{QUEUE_AT_ROOT, Spec};

use crate::otlp::common::Compression;
use crate::shared::endpoint::{self, HttpUrl};
use crate::shared::http::config::{
    HTTP_CLIENT_KEYS, HttpTlsConfig, TLS_KEYS, concat_keys, count_keys, timeout_problem,
};
use crate::shared::http::headers::{Headers, TenantHeader};

/// Keys of the Collector's `otlphttp` exporter that weir does not implement. The config loader
/// reports each as `not supported by weir: <key>` instead of a generic unknown-key error.
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] =
    &concat_keys::<{ count_keys(UNSUPPORTED) }>(UNSUPPORTED);

/// The parts of [`UNSUPPORTED_COLLECTOR_KEYS`]: the HTTP client's, the exporter's own, TLS and
/// queue keys.
const UNSUPPORTED: &[&[&str]] = &[
    HTTP_CLIENT_KEYS,
    &["profiles_endpoint"],
    TLS_KEYS,
    UNSUPPORTED_QUEUE_KEYS,
];

/// The `otlp_http` exporter kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const SPEC: Spec = Spec {
    aliases: &["otlphttp"],
    unsupported: UNSUPPORTED_COLLECTOR_KEYS,
    queue: QUEUE_AT_ROOT,
    ..Spec::named("otlp_http")
};

/// Compressions the HTTP exporter sends (what OTLP/HTTP receivers accept).
pub(crate) const HTTP_COMPRESSIONS: &[Compression] = &[
    Compression::Gzip,
    Compression::Zstd,
    Compression::Deflate,
    Compression::None,
];

/// Configuration of an `otlphttp` (OTLP/HTTP, protobuf) exporter.
///
/// ```yaml
/// exporters:
///   otlphttp/gateway:
///     endpoint: https://otlp.example.com/otlp   # sends to .../otlp/v1/traces, /v1/metrics, /v1/logs
///     headers: { Authorization: "Basic ${env:OTLP_AUTH}" }
///     compression: gzip
///     timeout: 10s
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtlpHttpConfig {
    /// Base URL, `http://` or `https://` (the scheme decides TLS). Each signal is sent to it
    /// with `/v1/traces`, `/v1/metrics` or `/v1/logs` appended. Required unless every signal
    /// the exporter is used for has its own `*_endpoint`. Checked when the config is read.
    #[serde(deserialize_with = "endpoint::optional")]
    pub endpoint: Option<HttpUrl>,
    /// Full URL for traces, used as is instead of `<endpoint>/v1/traces`.
    #[serde(deserialize_with = "endpoint::optional")]
    pub traces_endpoint: Option<HttpUrl>,
    /// Full URL for metrics, used as is instead of `<endpoint>/v1/metrics`.
    #[serde(deserialize_with = "endpoint::optional")]
    pub metrics_endpoint: Option<HttpUrl>,
    /// Full URL for logs, used as is instead of `<endpoint>/v1/logs`.
    #[serde(deserialize_with = "endpoint::optional")]
    pub logs_endpoint: Option<HttpUrl>,
    /// Body encoding: only `proto` (default), sent as `application/x-protobuf`. `json` is
    /// not supported by weir.
    pub encoding: String,
    /// Transport security for `https://` URLs.
    pub tls: HttpTlsConfig,
    /// Headers sent with every request, e.g. `Authorization`. Names are case-insensitive;
    /// values must be printable. A name here overrides `tenant_header`.
    pub headers: Headers,
    /// `gzip` (default, as in the Collector), `zstd`, `deflate` (zlib), or `none`; sent as
    /// `Content-Encoding`. gzip and deflate use the fastest level, zstd level 3.
    #[serde(deserialize_with = "http_compression")]
    pub compression: Compression,
    /// Longest wait for one attempt (connecting, sending and reading the answer), as `5s`
    /// (default), `500ms`, `1m`. An attempt that runs out of time is retried as
    /// `retry_on_failure` says.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// weir's key: the header that carries each batch's tenant, `X-Scope-OrgID` by default
    /// (what Loki, Mimir and Tempo read). An empty string sends no tenant. When `headers` sets
    /// the same name, that fixed value is sent instead.
    pub tenant_header: TenantHeader,
    /// The queue in front of this exporter: `enabled`, `queue_size`, `sizer`, `num_consumers`,
    /// `block_on_overflow`, `batch`, and weir's `drop_on_overflow`.
    pub sending_queue: QueueConfig,
    /// Retries of failed attempts that may succeed later (429, 502, 503, 504, no connection):
    /// `enabled`, `initial_interval`, `max_interval`, `max_elapsed_time`, ...
    pub retry_on_failure: RetryConfig,
}

/// `compression`, read as one of [`HTTP_COMPRESSIONS`].
fn http_compression<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Compression, D::Error> {
    Compression::deserialize_one_of(deserializer, HTTP_COMPRESSIONS)
}

impl Default for OtlpHttpConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            traces_endpoint: None,
            metrics_endpoint: None,
            logs_endpoint: None,
            encoding: "proto".into(),
            tls: HttpTlsConfig::default(),
            headers: Headers::default(),
            compression: Compression::Gzip,
            timeout: DEFAULT_TIMEOUT,
            tenant_header: TenantHeader::default(),
            sending_queue: QueueConfig::default(),
            retry_on_failure: RetryConfig::default(),
        }
    }
}

impl OtlpHttpConfig {
    /// `(key, message)` for each invalid setting. Pure: reads no file, opens no connection.
    /// The URLs' form was checked when the config was read.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let explicit = [
            &self.traces_endpoint,
            &self.metrics_endpoint,
            &self.logs_endpoint,
        ];
        if self.endpoint.is_none() && explicit.iter().all(|e| e.is_none()) {
            out.push((
                "endpoint".into(),
                "required: the base URL, e.g. http://collector:4318 (or set traces_endpoint, \
                 metrics_endpoint and logs_endpoint)"
                    .into(),
            ));
        }
        if !matches!(self.encoding.as_str(), "" | "proto") {
            out.push((
                "encoding".into(),
                format!("{:?} is not supported by weir; use proto", self.encoding),
            ));
        }
        out.extend(timeout_problem(self.timeout));
        out.extend(self.tls.problem());
        out.extend(self.sending_queue.problems());
        out.extend(self.retry_on_failure.problems());
        out
    }

    /// The URL `kind` is sent to: its `*_endpoint` when set, otherwise `endpoint` with
    /// `/v1/<signal>` appended; `None` when neither is set (exports of that signal fail).
    pub fn signal_url(&self, kind: SignalKind) -> Option<Url> {
        let explicit = match kind {
            SignalKind::Traces => &self.traces_endpoint,
            SignalKind::Metrics => &self.metrics_endpoint,
            SignalKind::Logs => &self.logs_endpoint,
        };
        if let Some(url) = explicit {
            return Some(url.url().clone());
        }
        let mut url = self.endpoint.as_ref()?.url().clone();
        let path = format!("{}/v1/{}", url.path().trim_end_matches('/'), kind.as_str());
        url.set_path(&path);
        Some(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<OtlpHttpConfig, serde_yaml_ng::Error> {
        serde_yaml_ng::from_str(yaml)
    }

    #[test]
    fn collector_yaml_parses() {
        let cfg = parse(
            r#"
endpoint: https://otlp.example.com/otlp/
logs_endpoint: https://logs.example.com/push
encoding: proto
headers: { Authorization: "Basic abc" }
compression: deflate
timeout: 2s
tls: { insecure: false, ca_file: /etc/ca.pem }
sending_queue: { enabled: true, queue_size: 100, sizer: items, block_on_overflow: true }
retry_on_failure: { enabled: false }
"#,
        )
        .expect("parses");
        assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
        assert_eq!(cfg.timeout, Duration::from_secs(2));
        assert!(!cfg.retry_on_failure.enabled);
        let url = |k| cfg.signal_url(k).expect("url").to_string();
        assert_eq!(
            url(SignalKind::Traces),
            "https://otlp.example.com/otlp/v1/traces"
        );
        assert_eq!(
            url(SignalKind::Metrics),
            "https://otlp.example.com/otlp/v1/metrics"
        );
        assert_eq!(url(SignalKind::Logs), "https://logs.example.com/push");
    }

    #[test]
    fn defaults_follow_the_collector() {
        let cfg = parse("endpoint: http://c:4318").expect("parses");
        assert_eq!(cfg.compression, Compression::Gzip);
        assert_eq!(cfg.timeout, Duration::from_secs(5));
        assert_eq!(cfg.tenant_header, "X-Scope-OrgID");
        assert!(cfg.problems().is_empty());
    }

    #[test]
    fn unknown_and_unsupported_keys_are_errors() {
        for (yaml, key) in [
            ("endpoint: http://c:4318\nnope: 1", "nope"),
            ("endpoint: http://c:4318\nproxy_url: http://p", "proxy_url"),
        ] {
            let err = parse(yaml).expect_err(yaml).to_string();
            assert!(
                err.contains(&format!("unknown field `{key}`")),
                "{yaml}: {err}"
            );
        }
        for key in weir_pipeline::queue::config::UNSUPPORTED_QUEUE_KEYS {
            assert!(UNSUPPORTED_COLLECTOR_KEYS.contains(key), "{key}");
        }
    }

    #[test]
    fn bad_urls_fail_the_reading_and_problems_catch_the_encoding() {
        for (yaml, says) in [
            (
                "endpoint: 'c:4318'",
                "\"c:4318\": use an http:// or https:// URL",
            ),
            (
                "traces_endpoint: ftp://x/y",
                "\"ftp://x/y\": use an http://",
            ),
            ("logs_endpoint: 'http://'", "\"http://\" is not a URL"),
        ] {
            let err = parse(yaml).expect_err(yaml).to_string();
            assert!(err.contains(says), "{yaml}: {err}");
        }
        let cfg = parse("endpoint: http://c:4318\nencoding: json").expect("parses");
        let keys: Vec<String> = cfg.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["encoding"]);
        let err = parse("endpoint: http://c:4318\ncompression: brotli").expect_err("brotli");
        assert!(
            err.to_string()
                .contains("unknown compression \"brotli\"; use one of gzip, zstd, deflate, none"),
            "{err}"
        );
        let empty = parse("headers: { X-A: b }").expect("parses");
        assert_eq!(empty.problems()[0].0, "endpoint");
        let only_logs = parse("logs_endpoint: http://l/push").expect("parses");
        assert!(only_logs.problems().is_empty());
        assert_eq!(only_logs.signal_url(SignalKind::Traces), None);
    }
}
