//! What the `otlp` (gRPC) and `otlphttp` exporters share beyond [`crate::shared::http`]:
//! compression names, encoding a bundle as one export request, and reading partial success.

use bytes::BufMut;
use serde::{Deserialize, Deserializer, de};
use weir_pipeline::otlp::collector::logs::v1::ExportLogsServiceResponse;
use weir_pipeline::otlp::collector::metrics::v1::ExportMetricsServiceResponse;
use weir_pipeline::otlp::collector::trace::v1::ExportTraceServiceResponse;
use weir_pipeline::{Bundle, REJECTED_BY_BACKEND, Sent, SignalKind};

use crate::shared::http::response::clean;

/// A request body compression, the typed `compression` of the `otlp` and `otlphttp`
/// exporters. Each exporter reads it with its own list of names it sends, so a name it cannot
/// send is an error at `compression` when the config is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `none` (or `""`, as in the Collector): sent as is.
    None,
    /// `gzip`.
    Gzip,
    /// `zstd`.
    Zstd,
    /// `deflate` (zlib), HTTP only.
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

    /// Reads a `compression` value that must be one of `allowed` (serde's `deserialize_with`
    /// helper for the exporters' configs); the error is [`Compression::parse`]'s message.
    pub(crate) fn deserialize_one_of<'de, D: Deserializer<'de>>(
        deserializer: D,
        allowed: &[Compression],
    ) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::parse(&name, allowed).map_err(de::Error::custom)
    }

    /// The name as written in config and sent in `Content-Encoding`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Deflate => "deflate",
        }
    }
}

/// Writes the bundle as one `Export*ServiceRequest`: each part's request in order
/// ([`weir_pipeline::Batch::write_request`]: the bytes that arrived for a batch held as bytes,
/// encoded from the structs otherwise). Concatenated encodings of one message type are one
/// message whose repeated fields are merged, so this is the request a single batch of all
/// parts would encode to, with nothing cloned.
pub(crate) fn encode_bundle(bundle: &Bundle, buf: &mut impl BufMut) {
    for part in bundle.parts() {
        part.write_request(buf);
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use prost::Message;
    use weir_pipeline::otlp::collector::trace::v1::ExportTraceServiceRequest;
    use weir_pipeline::test_util::realistic;
    use weir_pipeline::{Batch, RequestContext, Signal};

    use super::*;

    #[test]
    fn a_batch_held_as_bytes_is_sent_as_them_beside_encoded_ones() {
        let arrived = ExportTraceServiceRequest {
            resource_spans: realistic::spans(3, 0),
        }
        .encode_to_vec();
        let wire = Batch::from_traces_bytes(RequestContext::for_tests(), arrived.clone().into())
            .expect("valid");
        let decoded = realistic::batch(Signal::Traces(realistic::spans(2, 7)));
        let Signal::Traces(second) = decoded.signal().clone() else {
            panic!("traces");
        };
        let bundle = Bundle::of(vec![Arc::new(wire), Arc::new(decoded)]).expect("one tenant");
        let mut buf = Vec::new();
        encode_bundle(&bundle, &mut buf);
        assert_eq!(
            &buf[..arrived.len()],
            &arrived[..],
            "the bytes that arrived, first"
        );
        let all = ExportTraceServiceRequest::decode(&buf[..]).expect("one request");
        let mut want = realistic::spans(3, 0);
        want.extend(second);
        assert_eq!(all.resource_spans, want);
    }
}
