//! `weir sink`'s OTLP/gRPC side: the three export services, each decoding (tonic and prost,
//! gzip accepted), counting and answering success at once.
//!
//! How it fails: a message tonic cannot decode is answered by tonic itself with its status;
//! [`serve`] returns the transport's error if the listener fails.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use super::MAX_MESSAGE;
use super::count::{Counts, TENANT_HEADER, Tally};
use crate::loadgen::args::SignalArg;

#[derive(Clone)]
struct Grpc(Arc<Counts>);

fn tenant<T>(request: &Request<T>) -> Option<&str> {
    request
        .metadata()
        .get(TENANT_HEADER)
        .and_then(|v| v.to_str().ok())
}

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let tally = Tally::traces(tenant(&request), &request.get_ref().resource_spans);
        let bytes = request.get_ref().encoded_len() as u64;
        self.0.add(SignalArg::Traces, bytes, tally);
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Grpc {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let tally = Tally::logs(tenant(&request), &request.get_ref().resource_logs);
        let bytes = request.get_ref().encoded_len() as u64;
        self.0.add(SignalArg::Logs, bytes, tally);
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let tally = Tally::metrics(tenant(&request), &request.get_ref().resource_metrics);
        let bytes = request.get_ref().encoded_len() as u64;
        self.0.add(SignalArg::Metrics, bytes, tally);
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// Serves the three services on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    counts: Arc<Counts>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let svc = Grpc(counts);
    tonic::transport::Server::builder()
        .add_service(
            TraceServiceServer::new(svc.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            LogsServiceServer::new(svc.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            MetricsServiceServer::new(svc)
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}
