//! The `loki` exporter's configuration: the keys of the OpenTelemetry Collector's (deprecated)
//! `loki` exporter (`endpoint`, `headers`, `tls`, `timeout`, `sending_queue`,
//! `retry_on_failure`, `default_labels_enabled`) plus weir's label, structured metadata, line
//! and tenant controls.
//!
//! [`LokiConfig::problems`] is pure: it reads no file and opens no connection; each problem
//! names the key at fault.

use std::time::Duration;

use serde::Deserialize;
use weir_pipeline::SignalKind;
use weir_pipeline::TenantId;
use weir_pipeline::queue::config::{DEFAULT_TIMEOUT, UNSUPPORTED_QUEUE_KEYS};
use weir_pipeline::queue::{QueueConfig, RetryConfig};
use weir_pipeline::spec::{QUEUE_AT_ROOT, Spec};

use super::names::{AttributeNames, is_valid_name, sanitize};
use crate::shared::endpoint::{self, HttpUrl};
use crate::shared::http::config::{
    HTTP_CLIENT_KEYS, HttpTlsConfig, TLS_KEYS, concat_keys, count_keys, timeout_problem,
};
use crate::shared::http::headers::{Headers, TenantHeader};

/// Keys of the Collector's `loki` exporter (and of its HTTP client settings) that weir does not
/// implement; the config loader reports each as `not supported by weir: <key>`.
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] =
    &concat_keys::<{ count_keys(UNSUPPORTED) }>(UNSUPPORTED);

/// The parts of [`UNSUPPORTED_COLLECTOR_KEYS`]: the HTTP client's, the exporter's own, TLS and
/// queue keys.
const UNSUPPORTED: &[&[&str]] = &[
    HTTP_CLIENT_KEYS,
    &["labels.record", "tenant"],
    TLS_KEYS,
    UNSUPPORTED_QUEUE_KEYS,
];

/// The `loki` exporter kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const SPEC: Spec = Spec {
    signals: &[SignalKind::Logs],
    unsupported: UNSUPPORTED_COLLECTOR_KEYS,
    queue: QUEUE_AT_ROOT,
    ..Spec::named("loki")
};

/// The path appended to an `endpoint` that has none.
pub const PUSH_PATH: &str = "/loki/api/v1/push";

/// Structured metadata names weir writes itself; configured attributes may not take them.
pub const BUILT_IN_METADATA: &[&str] = &[
    "trace_id",
    "span_id",
    "request_id",
    "severity_text",
    "severity_number",
];

/// Configuration of a `loki` exporter.
///
/// ```yaml
/// exporters:
///   loki:
///     endpoint: http://loki:3100/loki/api/v1/push
///     labels:
///       resource: { deployment.environment.name: env, k8s.namespace.name: namespace }
///       attributes: { http.route: null }        # null: the sanitised name, http_route
///     structured_metadata: { attributes: [user.id] }
///     line_format: text
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LokiConfig {
    /// Loki's push URL, `http://` or `https://` (the scheme decides TLS), e.g.
    /// `http://loki:3100/loki/api/v1/push`. When the URL has no path, `/loki/api/v1/push` is
    /// appended. Required; checked when the config is read.
    #[serde(deserialize_with = "endpoint::optional")]
    pub endpoint: Option<HttpUrl>,
    /// Headers sent with every push, e.g. `Authorization` for a gateway. Names are
    /// case-insensitive; values must be printable. Setting the tenant header here
    /// (`X-Scope-OrgID`) sends that fixed value instead of each batch's tenant.
    pub headers: Headers,
    /// Transport security for `https://` URLs: `ca_file`, `insecure_skip_verify`, and
    /// `cert_file` + `key_file` for mutual TLS. `insecure` is accepted and ignored.
    pub tls: HttpTlsConfig,
    /// Longest wait for one push (connecting, sending, reading the answer), as `5s` (default),
    /// `500ms`, `1m`. A push that runs out of time is retried as `retry_on_failure` says.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Body encoding: `protobuf` (default; snappy-compressed `logproto.PushRequest`, what
    /// Promtail and Alloy send) or `json` (Loki's JSON push body).
    pub format: PushFormat,
    /// Compression of the body. `protobuf` is always `snappy` (the only one Loki reads for it);
    /// `json` is `gzip` (default) or `none`.
    pub compression: Option<BodyCompression>,
    /// weir's key: the header that carries the tenant, `X-Scope-OrgID` by default. An empty
    /// string sends no tenant (a Loki with `auth_enabled: false`).
    pub tenant_header: TenantHeader,
    /// weir's key: a fixed tenant for every push instead of each batch's own tenant (Loki's
    /// tenant id rules apply). Unset by default: each batch goes to its own tenant, one push
    /// per tenant.
    pub tenant_id: Option<TenantId>,
    /// Attributes that become stream labels (the Collector's `loki.resource.labels` /
    /// `loki.attribute.labels` hints, as config): see [`LabelsConfig`]. Keep them few and of
    /// low cardinality: every distinct set of label values is a Loki stream.
    pub labels: LabelsConfig,
    /// The labels weir adds without being asked: see [`DefaultLabels`]. The Collector's key.
    pub default_labels_enabled: DefaultLabels,
    /// The cardinality guard: at most this many distinct label sets per tenant within
    /// `label_sets_window`. An entry whose label set would be one more keeps only the default
    /// labels; its configured labels move to structured metadata (or are dropped when
    /// structured metadata is off), counted. Sets of default labels only are always taken and
    /// not counted. Default 1000; 0 turns the guard off.
    pub max_label_sets_per_tenant: usize,
    /// How long a label set counts towards `max_label_sets_per_tenant` after it was last seen:
    /// between one and two windows. Default `1h` (about how long Loki keeps an idle stream's
    /// chunks open).
    #[serde(with = "humantime_serde")]
    pub label_sets_window: Duration,
    /// Per-entry key/values that are not labels (Loki 3, schema v13): see
    /// [`StructuredMetadataConfig`].
    pub structured_metadata: StructuredMetadataConfig,
    /// What a log line holds: `text` (default: the body as text), `json` or `logfmt` (body,
    /// severity and the record's attributes).
    pub line_format: LineFormat,
    /// The queue in front of this exporter: `enabled`, `queue_size`, `sizer`, `num_consumers`,
    /// `block_on_overflow`, `batch` (merges a tenant's batches into one push), and weir's
    /// `drop_on_overflow`.
    pub sending_queue: QueueConfig,
    /// Retries of pushes that may succeed later (429, 5xx, no connection, timeout): `enabled`,
    /// `initial_interval`, `max_interval`, `max_elapsed_time`, ... A `Retry-After` from Loki
    /// is honoured.
    pub retry_on_failure: RetryConfig,
}

impl Default for LokiConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            headers: Headers::default(),
            tls: HttpTlsConfig::default(),
            timeout: DEFAULT_TIMEOUT,
            format: PushFormat::Protobuf,
            compression: None,
            tenant_header: TenantHeader::default(),
            tenant_id: None,
            labels: LabelsConfig::default(),
            default_labels_enabled: DefaultLabels::default(),
            max_label_sets_per_tenant: 1000,
            label_sets_window: Duration::from_secs(3600),
            structured_metadata: StructuredMetadataConfig::default(),
            line_format: LineFormat::Text,
            sending_queue: QueueConfig::default(),
            retry_on_failure: RetryConfig::default(),
        }
    }
}

/// `format`: how the push body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PushFormat {
    /// `application/x-protobuf`, snappy-compressed `logproto.PushRequest`.
    #[default]
    Protobuf,
    /// `application/json`: `{"streams":[{"stream":{...},"values":[[ns, line, {metadata}]]}]}`.
    Json,
}

impl<'de> Deserialize<'de> for PushFormat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        match name.as_str() {
            "protobuf" => Ok(PushFormat::Protobuf),
            "json" => Ok(PushFormat::Json),
            // The old Collector exporter's `format` was the line format.
            "logfmt" | "body" | "text" | "raw" => Err(serde::de::Error::custom(format!(
                "format is the push body's encoding (protobuf or json); for lines of {name} \
                 use line_format"
            ))),
            _ => Err(serde::de::Error::custom(format!(
                "unknown format {name:?}; use protobuf or json"
            ))),
        }
    }
}

/// `line_format`: what the text of each log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineFormat {
    /// The body: a string as it is, any other value as JSON.
    #[default]
    Text,
    /// `{"body":…,"severity":"WARN","attributes":{…}}`.
    Json,
    /// `body="…" severity=WARN key=value …`.
    Logfmt,
}

/// `labels`: attributes promoted to stream labels. Each is a list (`[k8s.namespace.name]`:
/// the label is the sanitised attribute name, `k8s_namespace_name`) or a map from attribute
/// to label name (`{k8s.namespace.name: namespace}`; `null` sanitises). A record without the
/// attribute, or with an empty value, has no such label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabelsConfig {
    /// Resource attributes (`service.namespace`, `deployment.environment.name`, ...).
    pub resource: AttributeNames,
    /// Log record attributes. When a resource label has the same name, the record's value
    /// wins where the record has one.
    pub attributes: AttributeNames,
}

/// `default_labels_enabled`: the labels weir adds on its own. A configured label of the same
/// name replaces the default one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefaultLabels {
    /// `service_name` from the resource's `service.name` (`unknown_service` without one), as
    /// Loki's own OTLP ingestion names it. Default on.
    pub service_name: bool,
    /// `level` from the severity: `trace`, `debug`, `info`, `warn`, `error` or `fatal`; no
    /// label when the record has no severity. Default on.
    pub level: bool,
    /// The Collector's `exporter="OTLP"`. Default off.
    pub exporter: bool,
    /// The Collector's `job`: `service.namespace/service.name`, or `service.name`. Default off.
    pub job: bool,
    /// The Collector's `instance`: `service.instance.id`. Default off (one stream per process).
    pub instance: bool,
}

impl Default for DefaultLabels {
    fn default() -> Self {
        Self {
            service_name: true,
            level: true,
            exporter: false,
            job: false,
            instance: false,
        }
    }
}

/// `structured_metadata`: key/values stored beside each entry, queryable without being labels
/// (`{service_name="api"} | trace_id="…"`), and what Grafana's trace links read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StructuredMetadataConfig {
    /// Send structured metadata (`true`, for Loki 3 with schema v13). `false` for Loki 2.x,
    /// which refuses it: then `json` and `logfmt` lines carry `trace_id` and `span_id` instead.
    pub enabled: bool,
    /// Attributes to add, looked up on the record, then on its resource; a list or a rename
    /// map, as in `labels`. weir always adds `trace_id`, `span_id`, `request_id`,
    /// `severity_text` and `severity_number` when the record has them.
    pub attributes: AttributeNames,
}

impl Default for StructuredMetadataConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            attributes: AttributeNames::default(),
        }
    }
}

/// The compression a push body gets, as `compression` names it; which one goes with which
/// `format` is checked by [`LokiConfig::problems`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyCompression {
    /// `snappy` (block format), the one protobuf pushes use.
    Snappy,
    /// `gzip`, the default of JSON pushes.
    Gzip,
    /// `none` (or `""`): a plain JSON body.
    #[serde(alias = "")]
    None,
}

impl BodyCompression {
    /// The name as written in config.
    fn as_str(self) -> &'static str {
        match self {
            BodyCompression::Snappy => "snappy",
            BodyCompression::Gzip => "gzip",
            BodyCompression::None => "none",
        }
    }
}

/// The problem of a `loki` exporter without an endpoint.
pub(crate) const ENDPOINT_REQUIRED: &str =
    "required: Loki's push URL, e.g. http://loki:3100/loki/api/v1/push";

impl LokiConfig {
    /// `(key, message)` for each invalid setting; pure (no I/O). What the reading checked (the
    /// endpoint's form, the tenant id's characters) is not checked again.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.endpoint.is_none() {
            out.push(("endpoint".into(), ENDPOINT_REQUIRED.into()));
        }
        out.extend(timeout_problem(self.timeout));
        if let Some(msg) = self.compression_problem() {
            out.push(("compression".into(), msg));
        }
        if self.tenant_id.is_some() {
            if self.tenant_header.is_empty() {
                out.push((
                    "tenant_id".into(),
                    "needs a tenant_header to be sent in; tenant_header is empty".into(),
                ));
            } else if self.headers.contains(self.tenant_header.as_str()) {
                out.push((
                    "tenant_id".into(),
                    format!(
                        "headers sets {} too; set the tenant in one place",
                        self.tenant_header
                    ),
                ));
            }
        }
        out.extend(self.tls.problem());
        out.extend(label_problems("labels.resource", &self.labels.resource));
        out.extend(label_problems("labels.attributes", &self.labels.attributes));
        out.extend(metadata_problems(&self.structured_metadata.attributes));
        if self.max_label_sets_per_tenant > 0 && self.label_sets_window.is_zero() {
            out.push((
                "label_sets_window".into(),
                "must be more than 0s while max_label_sets_per_tenant is set".into(),
            ));
        }
        out.extend(self.sending_queue.problems());
        out.extend(self.retry_on_failure.problems());
        out
    }

    /// The URL pushes go to: `endpoint`, with `/loki/api/v1/push` when it has no path; `None`
    /// without an endpoint.
    pub fn push_url(&self) -> Option<reqwest::Url> {
        let mut url = self.endpoint.as_ref()?.url().clone();
        if matches!(url.path(), "" | "/") {
            url.set_path(PUSH_PATH);
        }
        Some(url)
    }

    /// The compression `format` and `compression` call for: the one written when `format`
    /// allows it, otherwise the format's own (`snappy` for protobuf, `gzip` for json; a
    /// combination that does not go together is a problem of validation).
    pub(crate) fn body_compression(&self) -> BodyCompression {
        match (self.format, self.compression) {
            (PushFormat::Protobuf, _) => BodyCompression::Snappy,
            (PushFormat::Json, Some(BodyCompression::None)) => BodyCompression::None,
            (PushFormat::Json, _) => BodyCompression::Gzip,
        }
    }

    /// Why `compression` does not go with `format`, if it does not.
    fn compression_problem(&self) -> Option<String> {
        match (self.format, self.compression?) {
            (PushFormat::Protobuf, BodyCompression::Snappy)
            | (PushFormat::Json, BodyCompression::Gzip | BodyCompression::None) => None,
            (PushFormat::Protobuf, other) => Some(format!(
                "{:?}: protobuf pushes are always snappy-compressed (Loki reads no other); \
                 use format: json for gzip or none",
                other.as_str()
            )),
            (PushFormat::Json, other) => Some(format!(
                "unknown compression {:?} for format json; use gzip or none",
                other.as_str()
            )),
        }
    }
}

/// Problems of one `labels.*` map: names that cannot be labels, and two attributes that would
/// fill one label.
fn label_problems(key: &str, names: &AttributeNames) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (attribute, name) in &names.0 {
        let at = format!("{key}.{attribute}");
        if attribute.is_empty() {
            out.push((key.to_owned(), "an attribute name is empty".into()));
            continue;
        }
        let label = match name {
            Some(n) if n.is_empty() => {
                // An empty name sanitises to nothing: suggest the attribute's own.
                out.push((
                    at,
                    format!(
                        "a label name cannot be empty; write one, for example {:?}, or null \
                         for the attribute's name made a label name",
                        sanitize(attribute)
                    ),
                ));
                continue;
            }
            Some(n) if !is_valid_name(n) => {
                out.push((
                    at,
                    format!(
                        "{n:?} is not a Loki label name ([a-zA-Z_][a-zA-Z0-9_]*); \
                         for example {:?}",
                        sanitize(n)
                    ),
                ));
                continue;
            }
            Some(n) => n.clone(),
            None => sanitize(attribute),
        };
        if label.starts_with("__") {
            out.push((
                at,
                format!("label {label:?}: names starting with __ are Loki's own"),
            ));
        } else if seen.contains(&label) {
            out.push((
                at,
                format!("label {label:?} is already filled by another attribute"),
            ));
        } else {
            seen.push(label);
        }
    }
    out
}

/// Problems of `structured_metadata.attributes`: as labels, and no built-in name.
fn metadata_problems(names: &AttributeNames) -> Vec<(String, String)> {
    let key = "structured_metadata.attributes";
    let (built_in, own): (Vec<_>, Vec<_>) = names.0.iter().cloned().partition(|(a, n)| {
        let resolved = n.clone().unwrap_or_else(|| sanitize(a));
        BUILT_IN_METADATA.contains(&resolved.as_str())
    });
    let mut out = label_problems(key, &AttributeNames(own));
    out.extend(built_in.into_iter().map(|(attribute, name)| {
        let resolved = name.unwrap_or_else(|| sanitize(&attribute));
        (
            format!("{key}.{attribute}"),
            format!("{resolved:?} is written by weir itself; choose another name"),
        )
    }));
    out
}
