//! Turns built requests into the exact bytes sent, once, before the clock starts: protobuf or
//! OTLP/JSON, gzip when asked, and for gRPC the 5-byte message frame (with its compressed
//! flag). Sending then only clones a reference-counted buffer.
//!
//! How it fails: [`EncodeError`] when OTLP/JSON serialisation or compression fails (neither
//! happens with the requests [`super::generate`] builds, but neither is assumed).

use std::io::Write;

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message;

use super::args::{Compression, Protocol};
use super::generate::Request;

/// Encoding a request failed.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// OTLP/JSON serialisation failed.
    #[error("OTLP/JSON encoding: {0}")]
    Json(#[from] serde_json::Error),
    /// gzip failed.
    #[error("gzip: {0}")]
    Gzip(#[from] std::io::Error),
    /// A gRPC message longer than its 4-byte length.
    #[error("a gRPC message of {0} bytes is too long")]
    TooLong(usize),
}

/// The bytes of `request` as sent over `protocol` with `compression`.
pub fn encode(
    request: &Request,
    protocol: Protocol,
    compression: Compression,
) -> Result<Bytes, EncodeError> {
    let raw = match protocol {
        Protocol::HttpJson => match request {
            Request::Traces(r) => serde_json::to_vec(r)?,
            Request::Logs(r) => serde_json::to_vec(r)?,
            Request::Metrics(r) => serde_json::to_vec(r)?,
        },
        Protocol::Grpc | Protocol::HttpProtobuf => match request {
            Request::Traces(r) => r.encode_to_vec(),
            Request::Logs(r) => r.encode_to_vec(),
            Request::Metrics(r) => r.encode_to_vec(),
        },
    };
    let body = match compression {
        Compression::None => raw,
        Compression::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(
                Vec::with_capacity(raw.len() / 4),
                flate2::Compression::default(),
            );
            gz.write_all(&raw)?;
            gz.finish()?
        }
    };
    if protocol != Protocol::Grpc {
        return Ok(Bytes::from(body));
    }
    let len = u32::try_from(body.len()).map_err(|_| EncodeError::TooLong(body.len()))?;
    let mut framed = BytesMut::with_capacity(body.len() + 5);
    framed.put_u8(u8::from(compression == Compression::Gzip));
    framed.put_u32(len);
    framed.put_slice(&body);
    Ok(framed.freeze())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

    use super::*;
    use crate::loadgen::args::SignalArg;
    use crate::loadgen::generate::{Shape, request};

    fn traces() -> (Request, ExportTraceServiceRequest) {
        let shape = Shape {
            signal: SignalArg::Traces,
            records: 5,
            attributes: 4,
            sensitive: 1,
        };
        let req = request(&shape, "tenant-0", 0, &mut rand::rng());
        let Request::Traces(inner) = &req else {
            panic!("asked for traces")
        };
        let inner = inner.clone();
        (req, inner)
    }

    #[test]
    fn grpc_frames_carry_the_length_and_the_compressed_flag() {
        let (req, inner) = traces();
        let plain = encode(&req, Protocol::Grpc, Compression::None).expect("encodes");
        assert_eq!(plain[0], 0);
        let len = u32::from_be_bytes([plain[1], plain[2], plain[3], plain[4]]) as usize;
        assert_eq!(len, plain.len() - 5);
        let back = ExportTraceServiceRequest::decode(&plain[5..]).expect("decodes");
        assert_eq!(back, inner);

        let gz = encode(&req, Protocol::Grpc, Compression::Gzip).expect("encodes");
        assert_eq!(gz[0], 1);
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&gz[5..])
            .read_to_end(&mut raw)
            .expect("gunzips");
        assert_eq!(
            ExportTraceServiceRequest::decode(&raw[..]).expect("decodes"),
            inner
        );
    }

    #[test]
    fn json_bodies_read_back_as_the_same_request() {
        let (req, inner) = traces();
        let body = encode(&req, Protocol::HttpJson, Compression::None).expect("encodes");
        let back: ExportTraceServiceRequest = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(back, inner);
        let text = std::str::from_utf8(&body).expect("UTF-8");
        assert!(text.contains("\"resourceSpans\""), "{text}");
    }
}
