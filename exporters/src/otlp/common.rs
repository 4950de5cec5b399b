//! What the `otlp` (gRPC) and `otlphttp` exporters share: the `headers` map, the tenant header,
//! compression names, encoding a bundle as one export request, and reading partial success.

use std::collections::BTreeMap;
use std::fmt;

use bytes::BufMut;
use http::{HeaderName, HeaderValue};
use prost::encoding::message;
use serde::Deserialize;
use weir_pipeline::otlp::collector::logs::v1::ExportLogsServiceResponse;
use weir_pipeline::otlp::collector::metrics::v1::ExportMetricsServiceResponse;
use weir_pipeline::otlp::collector::trace::v1::ExportTraceServiceResponse;
use weir_pipeline::{Bundle, Signal, SignalKind};

/// Longest backend message (in bytes) kept in an error or a log line.
pub(crate) const MAX_MESSAGE_BYTES: usize = 256;

/// The default of `tenant_header`: the header Loki, Mimir and Tempo read the tenant from.
pub(crate) const DEFAULT_TENANT_HEADER: &str = "X-Scope-OrgID";

/// Extra headers (HTTP) or metadata (gRPC) sent with every request, as configured by the user.
///
/// Values often hold credentials, so `Debug` shows the names only.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Headers(pub BTreeMap<String, String>);

impl Headers {
    /// True when a header named `name` (compared without regard to ASCII case) is configured.
    pub fn contains(&self, name: &str) -> bool {
        self.0.keys().any(|k| k.eq_ignore_ascii_case(name))
    }

    /// `(name, value)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

/// A compression the exporters know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
    Deflate,
}

impl Compression {
    /// Parses a `compression` value; `allowed` lists the names this exporter takes, for the
    /// message. `""` is `none`, as in the Collector.
    pub(crate) fn parse(name: &str, allowed: &[Compression]) -> Result<Self, String> {
        let found = match name {
            "" | "none" => Some(Compression::None),
            "gzip" => Some(Compression::Gzip),
            "zstd" => Some(Compression::Zstd),
            "deflate" => Some(Compression::Deflate),
            _ => None,
        };
        match found {
            Some(c) if allowed.contains(&c) => Ok(c),
            _ => {
                let names: Vec<&str> = allowed.iter().map(|c| c.as_str()).collect();
                Err(format!(
                    "unknown compression {name:?}; use one of {}",
                    names.join(", ")
                ))
            }
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Deflate => "deflate",
        }
    }
}

/// `(key, message)` for each invalid entry of `headers` and for an invalid `tenant_header`.
/// Messages never include a header's value: it may be a credential.
pub(crate) fn header_problems(
    headers: &Headers,
    tenant_header: &str,
    grpc: bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in headers.iter() {
        let key = format!("headers.{name}");
        if let Some(msg) = name_problem(name, grpc) {
            out.push((key, msg));
        } else if HeaderValue::from_str(value).is_err() {
            out.push((
                key,
                "the value is not a valid header value (control characters or line breaks)".into(),
            ));
        }
    }
    if !tenant_header.is_empty()
        && let Some(msg) = name_problem(tenant_header, grpc)
    {
        out.push(("tenant_header".into(), msg));
    }
    out
}

fn name_problem(name: &str, grpc: bool) -> Option<String> {
    if HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Some(format!("{name:?} is not a valid header name"));
    }
    if grpc && name.to_ascii_lowercase().ends_with("-bin") {
        return Some("binary (-bin) metadata is not supported by weir".into());
    }
    None
}

/// The header the tenant is sent in: `tenant_header`, unless it is empty or `headers` sets that
/// header explicitly (the configured value wins). Lower-cased, as gRPC metadata requires.
pub(crate) fn tenant_header_name(headers: &Headers, tenant_header: &str) -> Option<HeaderName> {
    if tenant_header.is_empty() || headers.contains(tenant_header) {
        return None;
    }
    HeaderName::from_bytes(tenant_header.as_bytes()).ok()
}

/// Writes the bundle as one `Export*ServiceRequest`: field 1 (`resource_spans`,
/// `resource_metrics` or `resource_logs`) once per resource, all parts in order. Concatenated
/// encodings of one message type are one message whose repeated fields are merged, so this is
/// the request a single batch of all parts would encode to, with nothing cloned.
pub(crate) fn encode_bundle(bundle: &Bundle, buf: &mut impl BufMut) {
    for part in bundle.parts() {
        match &part.signal {
            Signal::Traces(list) => list.iter().for_each(|r| message::encode(1, r, buf)),
            Signal::Metrics(list) => list.iter().for_each(|r| message::encode(1, r, buf)),
            Signal::Logs(list) => list.iter().for_each(|r| message::encode(1, r, buf)),
        }
    }
}

/// An `Export*ServiceResponse`: what the backend answers on success.
pub(crate) trait ExportResponse: prost::Message + Default + Send + 'static {
    /// `partial_success`: records rejected and the backend's message.
    fn partial_success(&self) -> Option<(i64, &str)>;
}

impl ExportResponse for ExportTraceServiceResponse {
    fn partial_success(&self) -> Option<(i64, &str)> {
        let p = self.partial_success.as_ref()?;
        Some((p.rejected_spans, &p.error_message))
    }
}

impl ExportResponse for ExportMetricsServiceResponse {
    fn partial_success(&self) -> Option<(i64, &str)> {
        let p = self.partial_success.as_ref()?;
        Some((p.rejected_data_points, &p.error_message))
    }
}

impl ExportResponse for ExportLogsServiceResponse {
    fn partial_success(&self) -> Option<(i64, &str)> {
        let p = self.partial_success.as_ref()?;
        Some((p.rejected_log_records, &p.error_message))
    }
}

/// Logs a partial success at warn. The export still counts as delivered: OTLP says the backend
/// will not take the rejected records again, so retrying would only duplicate the rest.
pub(crate) fn log_partial_success(
    exporter: &str,
    kind: SignalKind,
    response: &impl ExportResponse,
) {
    if let Some((rejected, message)) = response.partial_success()
        && (rejected > 0 || !message.is_empty())
    {
        tracing::warn!(
            exporter,
            signal = %kind,
            rejected,
            message = %clean(message),
            "the backend accepted the export but rejected part of it"
        );
    }
}

/// At most [`MAX_MESSAGE_BYTES`] of `text` (cut at a character boundary), with control
/// characters replaced by spaces so that a backend's message cannot break a log line.
pub(crate) fn clean(text: &str) -> String {
    let mut end = text.len().min(MAX_MESSAGE_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_cuts_at_a_char_boundary_and_removes_control_characters() {
        let long = "é".repeat(200);
        let cut = clean(&long);
        assert!(cut.len() <= MAX_MESSAGE_BYTES && cut.len() >= MAX_MESSAGE_BYTES - 1);
        assert_eq!(clean("a\nb\tc"), "a b c");
    }

    #[test]
    fn tenant_header_yields_to_a_configured_header() {
        let mut h = Headers::default();
        assert_eq!(
            tenant_header_name(&h, "X-Scope-OrgID").map(|n| n.to_string()),
            Some("x-scope-orgid".into())
        );
        assert!(tenant_header_name(&h, "").is_none());
        h.0.insert("x-scope-orgID".into(), "fixed".into());
        assert!(tenant_header_name(&h, "X-Scope-OrgID").is_none());
    }

    #[test]
    fn header_problems_never_show_values() {
        let mut h = Headers::default();
        h.0.insert("Authorization".into(), "Bearer s3cret\n".into());
        h.0.insert("bad name".into(), "x".into());
        h.0.insert("trace-bin".into(), "x".into());
        let grpc = header_problems(&h, "X-Scope-OrgID", true);
        assert_eq!(grpc.len(), 3, "{grpc:?}");
        assert!(grpc.iter().all(|(_, m)| !m.contains("s3cret")));
        assert_eq!(header_problems(&h, "", false).len(), 2);
        assert!(!format!("{h:?}").contains("s3cret"));
    }
}
