//! Turning an OTLP/HTTP request body into a batch: content type, content encoding, size
//! limit, then protobuf or JSON. Protobuf stays the bytes that arrived, indexed by the wire
//! view; OTLP/JSON is decoded into the OTLP structs.
//!
//! Every failure is a [`BodyError`] that names the problem and picks the HTTP status: 415 for
//! an unknown content type, 413 past the limit (measured after decompression, so a gzip bomb
//! stops at the limit instead of filling memory), 400 for an unknown encoding or a body that does
//! not decode.

use std::io::Read;

use http::{HeaderMap, StatusCode, header};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde::de::DeserializeOwned;
use weir_pipeline::{Batch, RequestContext, Signal, SignalKind};

/// The two OTLP/HTTP encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (OTLP/JSON).
    Json,
}

impl Encoding {
    /// The content type weir answers with.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }

    /// The encoding a `Content-Type` names, ignoring parameters such as `charset`.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, BodyError> {
        let raw = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media = raw
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
            "application/json" => Ok(Encoding::Json),
            _ => Err(BodyError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "unsupported content type {raw:?}; use application/x-protobuf or application/json"
                ),
            )),
        }
    }
}

/// A body that could not be turned into a request, with the status to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BodyError {
    /// 400, 408, 413, 415 or 503.
    pub status: StatusCode,
    /// What was wrong, for the client.
    pub message: String,
}

impl BodyError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// The body is larger than `limit` bytes.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body exceeds max_request_body_size ({limit} bytes) after decompression"
            ),
        )
    }
}

/// Undoes `Content-Encoding` (identity, gzip, deflate, zstd), stopping at `limit` bytes.
pub fn decompress(
    headers: &HeaderMap,
    body: bytes::Bytes,
    limit: usize,
) -> Result<bytes::Bytes, BodyError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let out = match encoding.as_str() {
        "" | "identity" => {
            if body.len() > limit {
                return Err(BodyError::too_large(limit));
            }
            return Ok(body);
        }
        "gzip" | "x-gzip" => {
            read_limited(flate2::read::MultiGzDecoder::new(&body[..]), limit, "gzip")?
        }
        "deflate" => {
            // HTTP's "deflate" is zlib (RFC 1950); some clients send raw deflate (RFC 1951).
            match read_limited(flate2::read::ZlibDecoder::new(&body[..]), limit, "deflate") {
                Ok(v) => v,
                Err(e) if e.status == StatusCode::PAYLOAD_TOO_LARGE => return Err(e),
                Err(_) => read_limited(
                    flate2::read::DeflateDecoder::new(&body[..]),
                    limit,
                    "deflate",
                )?,
            }
        }
        "zstd" => {
            let decoder = zstd::stream::read::Decoder::new(&body[..]).map_err(|e| {
                BodyError::new(StatusCode::BAD_REQUEST, format!("invalid zstd body: {e}"))
            })?;
            read_limited(decoder, limit, "zstd")?
        }
        other => {
            return Err(BodyError::new(
                StatusCode::BAD_REQUEST,
                format!("unsupported content encoding {other:?}; use gzip, deflate, zstd or none"),
            ));
        }
    };
    Ok(bytes::Bytes::from(out))
}

fn read_limited(reader: impl Read, limit: usize, name: &str) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(cap).read_to_end(&mut out).map_err(|e| {
        BodyError::new(StatusCode::BAD_REQUEST, format!("invalid {name} body: {e}"))
    })?;
    if out.len() > limit {
        return Err(BodyError::too_large(limit));
    }
    Ok(out)
}

/// The export request of `kind` in `body` (decompressed), as a batch of `ctx`.
pub fn decode_batch(
    kind: SignalKind,
    encoding: Encoding,
    body: bytes::Bytes,
    ctx: RequestContext,
) -> Result<Batch, BodyError> {
    if encoding == Encoding::Protobuf {
        return Batch::from_bytes(ctx, kind, body).map_err(malformed_protobuf);
    }
    let signal = match kind {
        SignalKind::Traces => {
            Signal::Traces(decode::<ExportTraceServiceRequest>(encoding, &body)?.resource_spans)
        }
        SignalKind::Metrics => Signal::Metrics(
            decode::<ExportMetricsServiceRequest>(encoding, &body)?.resource_metrics,
        ),
        SignalKind::Logs => {
            Signal::Logs(decode::<ExportLogsServiceRequest>(encoding, &body)?.resource_logs)
        }
    };
    Ok(Batch::new(ctx, signal))
}

/// The answer to a protobuf body that does not decode.
fn malformed_protobuf(e: impl std::fmt::Display) -> BodyError {
    BodyError::new(
        StatusCode::BAD_REQUEST,
        format!("malformed protobuf body: {e}"),
    )
}

/// Decodes an export request in `encoding`.
fn decode<T: Message + Default + DeserializeOwned>(
    encoding: Encoding,
    body: &[u8],
) -> Result<T, BodyError> {
    match encoding {
        Encoding::Protobuf => T::decode(body).map_err(malformed_protobuf),
        Encoding::Json => serde_json::from_slice(body).map_err(|e| {
            BodyError::new(
                StatusCode::BAD_REQUEST,
                format!("malformed OTLP/JSON body: {e}"),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use http::HeaderValue;

    fn headers(ct: &str, ce: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(ct).expect("ascii"),
        );
        if let Some(ce) = ce {
            h.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_str(ce).expect("ascii"),
            );
        }
        h
    }

    #[test]
    fn content_types() {
        assert_eq!(
            Encoding::from_headers(&headers("application/x-protobuf", None)),
            Ok(Encoding::Protobuf)
        );
        assert_eq!(
            Encoding::from_headers(&headers("Application/JSON; charset=utf-8", None)),
            Ok(Encoding::Json)
        );
        let err = Encoding::from_headers(&headers("text/plain", None)).expect_err("415");
        assert_eq!(err.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(err.message.contains("text/plain"));
    }

    #[test]
    fn each_encoding_round_trips() {
        let data = b"hello otlp".repeat(10);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).expect("write");
        let gz = gz.finish().expect("gzip");
        let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zl.write_all(&data).expect("write");
        let zl = zl.finish().expect("zlib");
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(&data).expect("write");
        let raw = raw.finish().expect("deflate");
        let zs = zstd::encode_all(&data[..], 1).expect("zstd");
        for (enc, body) in [
            ("gzip", gz),
            ("deflate", zl),
            ("deflate", raw),
            ("zstd", zs),
        ] {
            let out =
                decompress(&headers("application/json", Some(enc)), body.into(), 1000).expect(enc);
            assert_eq!(&out[..], &data[..], "{enc}");
        }
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 50 * 1024 * 1024]).expect("write");
        let bomb = gz.finish().expect("gzip");
        assert!(bomb.len() < 100 * 1024);
        let err = decompress(
            &headers("application/x-protobuf", Some("gzip")),
            bomb.into(),
            1024 * 1024,
        )
        .expect_err("too large");
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn unknown_encoding_and_corrupt_body_are_400() {
        let err = decompress(
            &headers("application/json", Some("br")),
            bytes::Bytes::from_static(b"x"),
            10,
        )
        .expect_err("br");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("br"));
        let err = decompress(
            &headers("application/json", Some("gzip")),
            bytes::Bytes::from_static(b"not gzip"),
            10,
        )
        .expect_err("corrupt");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }
}
