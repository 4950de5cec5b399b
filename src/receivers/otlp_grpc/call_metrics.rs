//! A tower layer that counts every gRPC call the OTLP/gRPC receiver answers, by method and
//! status code (`weir_grpc_requests_total`), and times it (`weir_grpc_request_duration_seconds`),
//! the gRPC counterpart of the HTTP request metrics.
//!
//! The method label is one of the three OTLP export methods, or `unmatched`, so a client cannot
//! create series by calling arbitrary paths. The code is read from the answer's headers: a
//! refused call is answered "trailers only", with `grpc-status` there; an answer without it
//! carried a message and counts as `OK` (a unary call that fails after its message is
//! not seen). The time runs to the answer's headers. It never fails a call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::Instant;
use tower::{Layer, Service};
use weir_pipeline::Metrics;
use weir_pipeline::metrics::catalogue;

/// The methods named in the label; any other path is `unmatched`.
const METHODS: [&str; 3] = [
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
];

/// Counts and times the calls of the service it wraps in `metrics`.
#[derive(Clone)]
pub struct CallMetricsLayer {
    metrics: Metrics,
}

impl CallMetricsLayer {
    /// The layer, counting in `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for CallMetricsLayer {
    type Service = CallMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallMetrics {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The wrapped service.
#[derive(Clone)]
pub struct CallMetrics<S> {
    inner: S,
    metrics: Metrics,
}

impl<S, B, R> Service<http::Request<B>> for CallMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let method = METHODS
            .iter()
            .find(|m| **m == path)
            .copied()
            .unwrap_or("unmatched");
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await;
            let code = match &answer {
                Ok(response) => code_name(
                    response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .unwrap_or(0),
                ),
                Err(_) => "UNAVAILABLE",
            };
            metrics
                .counter(catalogue::GRPC_REQUESTS, &[method, code])
                .add(1);
            metrics
                .histogram(catalogue::GRPC_REQUEST_DURATION, &[method])
                .observe(started.elapsed().as_secs_f64());
            answer
        })
    }
}

/// The canonical name of a gRPC status code, as the gRPC specification spells it.
pub fn code_name(code: i32) -> &'static str {
    match tonic::Code::from_i32(code) {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
