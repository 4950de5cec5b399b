//! What the `otlp` (gRPC) and `otlphttp` exporters share beyond [`crate::http_common`]:
//! compression names, encoding a bundle as one export request, and reading partial success.

use bytes::BufMut;
use prost::encoding::message;
use weir_pipeline::otlp::collector::logs::v1::ExportLogsServiceResponse;
use weir_pipeline::otlp::collector::metrics::v1::ExportMetricsServiceResponse;
use weir_pipeline::otlp::collector::trace::v1::ExportTraceServiceResponse;
use weir_pipeline::{Bundle, REJECTED_BY_BACKEND, Sent, Signal, SignalKind};

use crate::http_common::response::clean;

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

/// Writes the bundle as one `Export*ServiceRequest`: field 1 (`resource_spans`,
/// `resource_metrics` or `resource_logs`) once per resource, all parts in order. Concatenated
/// encodings of one message type are one message whose repeated fields are merged, so this is
/// the request a single batch of all parts would encode to, with nothing cloned.
pub(crate) fn encode_bundle(bundle: &Bundle, buf: &mut impl BufMut) {
    for part in bundle.parts() {
        match part.signal() {
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

/// What a success says was delivered, logging a partial success at warn. OTLP says the
/// backend will not take the rejected records again, so retrying would only duplicate the
/// rest: they are reported as [`REJECTED_BY_BACKEND`] and the rest as delivered.
pub(crate) fn partial_success(
    exporter: &str,
    kind: SignalKind,
    response: &impl ExportResponse,
) -> Sent {
    let Some((rejected, message)) = response.partial_success() else {
        return Sent::all();
    };
    if rejected > 0 || !message.is_empty() {
        tracing::warn!(
            exporter,
            signal = %kind,
            rejected,
            backend_message = %clean(message),
            "the backend accepted the export but rejected part of it"
        );
    }
    Sent::rejecting(REJECTED_BY_BACKEND, u64::try_from(rejected).unwrap_or(0))
}
