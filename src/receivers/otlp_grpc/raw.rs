//! The three OTLP services (`TraceService`, `MetricsService`, `LogsService`), served by hand so
//! their requests stay the bytes that arrived: a tonic codec yields each request message as
//! `Bytes` (no prost decoding; tonic still checks the size limit and inflates compressed
//! messages), and the handler builds a [`weir_pipeline::Batch`] from them with the wire view.
//! Otherwise each is what tonic generates for the service: the `Export` method, the
//! compressions accepted and answered with, UNIMPLEMENTED for any other method.
//!
//! Fails as the generated servers do; a message prost would not decode gets INVALID_ARGUMENT
//! from the handler ([`super::OtlpGrpc::handle`]).

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures::future::BoxFuture;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use tonic::codec::{
    Codec, CompressionEncoding, DecodeBuf, Decoder, EnabledCompressionEncodings, EncodeBuf, Encoder,
};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};
use weir_pipeline::SignalKind;

use super::OtlpGrpc;

/// One OTLP service: its names, its signal and its response.
pub(super) trait Service: Send + Sync + 'static {
    /// The gRPC service name.
    const NAME: &'static str;
    /// The `Export` method's path.
    const PATH: &'static str;
    /// The signal it takes.
    const KIND: SignalKind;
    /// `Export*ServiceResponse`.
    type Response: Message + Default + Send + 'static;

    /// The response, with `partial_success` when `partial` says `(rejected, message)`.
    fn respond(partial: Option<(i64, String)>) -> Self::Response;
}

/// `opentelemetry.proto.collector.trace.v1.TraceService`.
pub(super) struct Traces;
/// `opentelemetry.proto.collector.metrics.v1.MetricsService`.
pub(super) struct Metrics;
/// `opentelemetry.proto.collector.logs.v1.LogsService`.
pub(super) struct Logs;

impl Service for Traces {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    const PATH: &'static str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    const KIND: SignalKind = SignalKind::Traces;
    type Response = ExportTraceServiceResponse;

    fn respond(partial: Option<(i64, String)>) -> Self::Response {
        ExportTraceServiceResponse {
            partial_success: partial.map(|(rejected_spans, error_message)| {
                ExportTracePartialSuccess {
                    rejected_spans,
                    error_message,
                }
            }),
        }
    }
}

impl Service for Metrics {
    const NAME: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
    const PATH: &'static str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    const KIND: SignalKind = SignalKind::Metrics;
    type Response = ExportMetricsServiceResponse;

    fn respond(partial: Option<(i64, String)>) -> Self::Response {
        ExportMetricsServiceResponse {
            partial_success: partial.map(|(rejected_data_points, error_message)| {
                ExportMetricsPartialSuccess {
                    rejected_data_points,
                    error_message,
                }
            }),
        }
    }
}

impl Service for Logs {
    const NAME: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    const PATH: &'static str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    const KIND: SignalKind = SignalKind::Logs;
    type Response = ExportLogsServiceResponse;

    fn respond(partial: Option<(i64, String)>) -> Self::Response {
        ExportLogsServiceResponse {
            partial_success: partial.map(|(rejected_log_records, error_message)| {
                ExportLogsPartialSuccess {
                    rejected_log_records,
                    error_message,
                }
            }),
        }
    }
}

/// Service `S` of [`OtlpGrpc`], taking request messages as bytes.
pub(super) struct RawServer<S> {
    inner: Arc<OtlpGrpc>,
    accept: EnabledCompressionEncodings,
    send: EnabledCompressionEncodings,
    max_decoding: Option<usize>,
    _service: PhantomData<fn() -> S>,
}

impl<S> Clone for RawServer<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            accept: self.accept,
            send: self.send,
            max_decoding: self.max_decoding,
            _service: PhantomData,
        }
    }
}

impl<S: Service> RawServer<S> {
    /// Serves `inner`'s `S`, with `compressions` accepted and answered with, and messages of at
    /// most `limit` bytes.
    pub(super) fn new(
        inner: Arc<OtlpGrpc>,
        compressions: &[CompressionEncoding],
        limit: usize,
    ) -> Self {
        let mut accept = EnabledCompressionEncodings::default();
        for c in compressions {
            accept.enable(*c);
        }
        Self {
            inner,
            accept,
            send: accept,
            max_decoding: Some(limit),
            _service: PhantomData,
        }
    }
}

impl<S: Service> NamedService for RawServer<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tower::Service<http::Request<B>> for RawServer<S>
where
    S: Service,
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
        if request.uri().path() != S::PATH {
            return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
        }
        let this = self.clone();
        Box::pin(async move {
            let mut grpc = Grpc::new(BytesCodec::<S>(PhantomData))
                .apply_compression_config(this.accept, this.send)
                .apply_max_message_size_config(this.max_decoding, None);
            Ok(grpc
                .unary(Export::<S>(this.inner, PhantomData), request)
                .await)
        })
    }
}

/// The `Export` method of `S`.
struct Export<S>(Arc<OtlpGrpc>, PhantomData<fn() -> S>);

impl<S: Service> UnaryService<Bytes> for Export<S> {
    type Response = S::Response;
    type Future = BoxFuture<'static, Result<Response<Self::Response>, Status>>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let inner = Arc::clone(&self.0);
        Box::pin(async move { inner.export::<S>(request).await })
    }
}

/// Decodes a request message into its bytes; encodes `S`'s response with prost.
struct BytesCodec<S>(PhantomData<fn() -> S>);

impl<S: Service> Codec for BytesCodec<S> {
    type Encode = S::Response;
    type Decode = Bytes;
    type Encoder = ResponseEncoder<S>;
    type Decoder = BytesDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ResponseEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        BytesDecoder
    }
}

struct ResponseEncoder<S>(PhantomData<fn() -> S>);

impl<S: Service> Encoder for ResponseEncoder<S> {
    type Item = S::Response;
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
