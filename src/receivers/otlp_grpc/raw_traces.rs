//! The OTLP `TraceService`, served by hand so its requests stay the bytes that arrived: a tonic
//! codec yields each request message as `Bytes` (no prost decoding; tonic still checks the
//! size limit and inflates compressed messages), and the handler builds a [`weir_pipeline::Batch`]
//! from them with the wire view. Otherwise it is what tonic generates for the service: the
//! `Export` method, the compressions accepted and answered with, UNIMPLEMENTED for any other
//! method.
//!
//! Fails as the generated server does; a message the view refuses (prost would have too) gets
//! INVALID_ARGUMENT from the handler ([`super::OtlpGrpc::handle`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures::future::BoxFuture;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EnabledCompressionEncodings, EncodeBuf, Encoder};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

use super::OtlpGrpc;

/// The service's gRPC name.
const SERVICE: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
/// The one method's path.
const EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The trace service of [`OtlpGrpc`], taking request messages as bytes.
#[derive(Clone)]
pub(super) struct RawTraceServer {
    inner: Arc<OtlpGrpc>,
    accept: EnabledCompressionEncodings,
    send: EnabledCompressionEncodings,
    max_decoding: Option<usize>,
}

impl RawTraceServer {
    /// Serves `inner`'s traces, with `compressions` accepted and answered with, and messages of
    /// at most `limit` bytes.
    pub(super) fn new(
        inner: Arc<OtlpGrpc>,
        compressions: &[tonic::codec::CompressionEncoding],
        limit: usize,
    ) -> Self {
        let mut accept = EnabledCompressionEncodings::default();
        let mut send = EnabledCompressionEncodings::default();
        for c in compressions {
            accept.enable(*c);
            send.enable(*c);
        }
        Self {
            inner,
            accept,
            send,
            max_decoding: Some(limit),
        }
    }
}

impl NamedService for RawTraceServer {
    const NAME: &'static str = SERVICE;
}

impl<B> tower::Service<http::Request<B>> for RawTraceServer
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != EXPORT {
            return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
        }
        let this = self.clone();
        Box::pin(async move {
            let mut grpc = Grpc::new(BytesCodec)
                .apply_compression_config(this.accept, this.send)
                .apply_max_message_size_config(this.max_decoding, None);
            Ok(grpc.unary(Export(this.inner), request).await)
        })
    }
}

/// The `Export` method.
struct Export(Arc<OtlpGrpc>);

impl UnaryService<Bytes> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<'static, Result<Response<Self::Response>, Status>>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let inner = Arc::clone(&self.0);
        Box::pin(async move { inner.export_traces(request).await })
    }
}

/// Decodes a request message into its bytes; encodes the response with prost.
struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = ExportTraceServiceResponse;
    type Decode = Bytes;
    type Encoder = ResponseEncoder;
    type Decoder = BytesDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ResponseEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        BytesDecoder
    }
}

struct ResponseEncoder;

impl Encoder for ResponseEncoder {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.reserve(item.encoded_len());
        item.encode(dst)
            .map_err(|e| Status::internal(format!("cannot encode the response: {e}")))
    }
}

struct BytesDecoder;

impl Decoder for BytesDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        // tonic's buffer hands the message over without copying it.
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
