//! The `sentry` exporter's configuration: the keys of the OpenTelemetry Collector's (classic)
//! `sentry` exporter (`dsn`, `environment`, `insecure_skip_verify`) plus weir's routing
//! (`dsns_by_tenant`, `dsns_by_service`), tags, transactions, `dedupe_window`, compression, TLS
//! files and the engine's `sending_queue`, `retry_on_failure` and `timeout`.
//!
//! [`SentryConfig::problems`] is pure: it reads no file and opens no connection; each problem
//! names the key at fault. A DSN is never repeated in a message (it holds the project's key).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use weir_pipeline::SignalKind;
use weir_pipeline::TenantId;
use weir_pipeline::queue::config::DEFAULT_TIMEOUT;
use weir_pipeline::queue::{QueueConfig, RetryConfig};
use weir_pipeline::spec::{QUEUE_AT_ROOT, Spec};

use super::dsn::SentryDsn;

use crate::otlphttp::HttpTlsConfig;

/// Keys of the Collector's newer `sentry` exporter (which forwards OTLP to Sentry's OTLP
/// endpoint and creates projects through Sentry's API) that weir does not implement; the
/// config loader reports each as `not supported by weir: <key>`.
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] = &[
    "url",
    "org_slug",
    "auth_token",
    "auto_create_projects",
    "routing",
    "http",
    "sending_queue.wait_for_result",
];

/// The `sentry` exporter kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const SPEC: Spec = Spec {
    signals: &[SignalKind::Traces, SignalKind::Logs],
    unsupported: UNSUPPORTED_COLLECTOR_KEYS,
    queue: QUEUE_AT_ROOT,
    ..Spec::named("sentry")
};

/// `dedupe_window` when unset.
pub const DEFAULT_DEDUPE_WINDOW: Duration = Duration::from_secs(60);
/// The longest `dedupe_window`: the copies of one exception come seconds apart.
pub const MAX_DEDUPE_WINDOW: Duration = Duration::from_secs(3600);

/// Configuration of a `sentry` exporter.
///
/// ```yaml
/// exporters:
///   sentry:
///     dsn: ${env:SENTRY_DSN}
///     dsns_by_tenant: { big-co: "https://key@sentry.example.com/7" }
///     environment: production
///     tag_attributes: [service.name, http.route]
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentryConfig {
    /// The Collector's key: the DSN errors go to when neither `dsns_by_tenant` nor
    /// `dsns_by_service` names one, as `https://<public key>@<host>[:port]/<project id>`. An
    /// empty value (`${env:SENTRY_DSN:-}` with the variable unset) is no default DSN. Every
    /// DSN is checked when the config is read.
    #[serde(deserialize_with = "crate::shared::endpoint::optional")]
    pub dsn: Option<SentryDsn>,
    /// weir's key: a DSN per tenant (tenant id → DSN). Looked at first, so a tenant's errors
    /// never land in another tenant's project by their `service.name`.
    pub dsns_by_tenant: BTreeMap<String, SentryDsn>,
    /// weir's key: a DSN per `service.name` (resource attribute → DSN), for records whose
    /// tenant has no entry in `dsns_by_tenant`. A record with no DSN at all is dropped and
    /// counted (`reason="no_dsn"`).
    pub dsns_by_service: BTreeMap<String, SentryDsn>,
    /// The Collector's key: the environment of events whose resource has neither
    /// `deployment.environment.name` nor `deployment.environment`. Unset: no environment.
    pub environment: Option<String>,
    /// The Collector's key: do not verify Sentry's certificate or name. Only for tests and
    /// private installations: anyone on the path can read and change the data.
    pub insecure_skip_verify: bool,
    /// Transport security for `https://` DSNs: `ca_file` (trust these authorities instead of
    /// the system's), `cert_file` + `key_file` for mutual TLS, `insecure_skip_verify`.
    pub tls: HttpTlsConfig,
    /// Attributes (of the exception event, the record, then the resource) that become Sentry
    /// tags, by their attribute name. Only these: other attribute values never leave. The
    /// request id is always a tag (`request_id`). Default `[service.name]`.
    pub tag_attributes: Vec<String>,
    /// Send local root spans (no parent, or a remote one) as Sentry transactions, with their
    /// descendants from the same bundle as child spans. Default `false`: errors only.
    pub transactions: bool,
    /// How long an error sent to Sentry is remembered, so that another copy of it is not
    /// sent again: `60s` (default), `10s`, `5m`, at most `1h`; `0s` sends every copy.
    ///
    /// One exception often arrives twice: recorded on its span (`span.record_exception`, or
    /// escaping the span) and logged at ERROR while it is handled inside that span (Python's
    /// `logging.exception`), the two in different signals, seconds apart. Both copies get one
    /// event id, made from the trace id, span id, exception type (without its module path) and
    /// exception value (read from the stack trace's last line when there is one), so Sentry
    /// can tell they are one event even when they pass through different weir replicas. Within
    /// the window a replica does not send the second copy, and counts it in
    /// `weir_sentry_deduplicated_total{exporter}`: not a loss, its event reached Sentry or is
    /// on its way (a copy Sentry did not take is forgotten, so a later one may go). Likewise
    /// the same exception type and value recorded twice in one span is one event. Records
    /// without trace and span ids, and error logs without an exception, are never taken as
    /// copies. At most 10,000 event ids are remembered, the oldest forgotten first.
    #[serde(with = "humantime_serde")]
    pub dedupe_window: Duration,
    /// Body compression: `gzip` (default) or `none`.
    pub compression: Compression,
    /// Longest wait for one envelope (connecting, sending, reading the answer), as `5s`
    /// (default), `500ms`, `1m`. A send that runs out of time is retried as
    /// `retry_on_failure` says.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// The queue in front of this exporter: `enabled`, `queue_size`, `sizer`, `num_consumers`,
    /// `block_on_overflow`, `batch` (merges a tenant's batches into one bundle, sent as
    /// concurrent envelopes), and weir's `drop_on_overflow`.
    pub sending_queue: QueueConfig,
    /// Retries of sends that may succeed later (5xx, no connection, timeout). Never for a
    /// rate limit: rate-limited events are dropped and counted, not retried.
    pub retry_on_failure: RetryConfig,
}

impl Default for SentryConfig {
    fn default() -> Self {
        Self {
            dsn: None,
            dsns_by_tenant: BTreeMap::new(),
            dsns_by_service: BTreeMap::new(),
            environment: None,
            insecure_skip_verify: false,
            tls: HttpTlsConfig::default(),
            tag_attributes: vec!["service.name".into()],
            transactions: false,
            dedupe_window: DEFAULT_DEDUPE_WINDOW,
            compression: Compression::Gzip,
            timeout: DEFAULT_TIMEOUT,
            sending_queue: QueueConfig::default(),
            retry_on_failure: RetryConfig::default(),
        }
    }
}

/// `compression`: how an envelope's body is encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// `Content-Encoding: gzip`.
    #[default]
    Gzip,
    /// No compression.
    None,
}

impl SentryConfig {
    /// `(key, message)` for each invalid setting; pure (no I/O).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.dsn.is_none() && self.dsns_by_tenant.is_empty() && self.dsns_by_service.is_empty() {
            out.push((
                "dsn".into(),
                "required: a Sentry DSN (https://<public key>@<host>/<project id>), or \
                 dsns_by_tenant / dsns_by_service"
                    .into(),
            ));
        }
        for tenant in self.dsns_by_tenant.keys() {
            if let Err(e) = TenantId::new(tenant) {
                out.push((format!("dsns_by_tenant.{tenant}"), e.to_string()));
            }
        }
        if self.dsns_by_service.keys().any(String::is_empty) {
            out.push(("dsns_by_service".into(), "a service name is empty".into()));
        }
        if self.environment.as_deref().is_some_and(|e| e.len() > 64) {
            out.push((
                "environment".into(),
                "at most 64 characters (Sentry's limit)".into(),
            ));
        }
        for (i, name) in self.tag_attributes.iter().enumerate() {
            if name.is_empty() {
                out.push((
                    format!("tag_attributes.{i}"),
                    "an attribute name is empty".into(),
                ));
            } else if name.len() > 32 {
                out.push((
                    format!("tag_attributes.{i}"),
                    "at most 32 characters (Sentry's tag key limit)".into(),
                ));
            }
        }
        if self.dedupe_window > MAX_DEDUPE_WINDOW {
            out.push((
                "dedupe_window".into(),
                "at most 1h: the copies of one exception arrive seconds apart (0s: off)".into(),
            ));
        }
        if self.timeout.is_zero() {
            out.push(("timeout".into(), "must be more than 0s".into()));
        }
        match (&self.tls.cert_file, &self.tls.key_file) {
            (Some(_), None) => out.push(("tls.key_file".into(), "required with cert_file".into())),
            (None, Some(_)) => out.push(("tls.cert_file".into(), "required with key_file".into())),
            _ => {}
        }
        out.extend(self.sending_queue.problems());
        out.extend(self.retry_on_failure.problems());
        out
    }
}
