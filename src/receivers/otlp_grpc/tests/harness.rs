//! The test harness: a receiver bound on `127.0.0.1:0` in front of a collecting exporter, clients
//! that talk to it, and OTLP fixtures with every field the tests compare.

use std::net::SocketAddr;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status as SpanStatus, span::SpanKind,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use weir_pipeline::Processor;
use weir_pipeline::test_util::{CollectingExporter, kv};

use crate::listen::ListenError;
use crate::receivers::ReceiverShared;
use crate::receivers::config::GrpcConfig;
use crate::receivers::otlp_grpc::bind;

/// A receiver serving in the background; dropping it shuts the server down.
pub struct Running {
    pub addr: SocketAddr,
    pub collector: Arc<CollectingExporter>,
    pub shared: ReceiverShared,
    stop: oneshot::Sender<()>,
    served: JoinHandle<Result<(), ListenError>>,
}

/// A collector and the shared receiver state feeding it through `processors`.
pub fn shared(processors: Vec<Arc<dyn Processor>>) -> (Arc<CollectingExporter>, ReceiverShared) {
    shared_with(processors, 64 << 20, 1000)
}

pub use crate::receivers::test_shared::shared_with;

impl Running {
    /// No processors, the default 4 MiB limit.
    pub async fn start() -> Self {
        Self::start_with(Vec::new(), 4).await
    }

    /// `processors` before the collector, messages limited to `max_mib`.
    pub async fn start_with(processors: Vec<Arc<dyn Processor>>, max_mib: u64) -> Self {
        let cfg = GrpcConfig {
            endpoint: "127.0.0.1:0".into(),
            max_recv_msg_size_mib: max_mib,
            ..GrpcConfig::default()
        };
        Self::start_on(&cfg, shared(processors)).await
    }

    /// The receiver of `cfg` in front of `shared`'s collector.
    pub async fn start_on(
        cfg: &GrpcConfig,
        (collector, shared): (Arc<CollectingExporter>, ReceiverShared),
    ) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = Box::pin(async move {
            let _ = stopped.await;
        });
        let bound = bind(cfg, shared.clone(), shutdown).await.expect("bind");
        Self {
            addr: bound.local_addr,
            collector,
            shared,
            stop,
            served: tokio::spawn(bound.serve),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn traces(&self) -> TraceServiceClient<Channel> {
        TraceServiceClient::connect(self.url())
            .await
            .expect("connect")
    }

    pub async fn metrics(&self) -> MetricsServiceClient<Channel> {
        MetricsServiceClient::connect(self.url())
            .await
            .expect("connect")
    }

    pub async fn logs(&self) -> LogsServiceClient<Channel> {
        LogsServiceClient::connect(self.url())
            .await
            .expect("connect")
    }

    /// Fires the shutdown future and returns what `serve` ended with.
    pub async fn stop(self) -> Result<(), ListenError> {
        let _ = self.stop.send(());
        self.served.await.expect("serve task")
    }
}

/// The `x-request-id` of an answer.
pub fn request_id_of(metadata: &MetadataMap) -> Option<&str> {
    metadata.get("x-request-id").and_then(|v| v.to_str().ok())
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            kv("service.name", "checkout"),
            kv("deployment.environment", "test"),
        ],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "weir-test".into(),
        version: "1.0.0".into(),
        attributes: vec![kv("scope.attr", "s")],
        ..Default::default()
    })
}

const T0: u64 = 1_700_000_000_000_000_000;

/// One resource, one scope, `spans` spans of one trace (span ids 1, 2, …).
pub fn trace_request(spans: usize) -> ExportTraceServiceRequest {
    let spans = (0..spans)
        .map(|i| Span {
            trace_id: vec![0x11; 16],
            span_id: vec![u8::try_from(i + 1).expect("few spans"); 8],
            parent_span_id: if i == 0 { Vec::new() } else { vec![1; 8] },
            name: format!("GET /cart/{i}"),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: T0,
            end_time_unix_nano: T0 + 1_000_000,
            attributes: vec![kv("http.route", "/cart"), kv("http.request.method", "GET")],
            status: Some(SpanStatus {
                code: 1,
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans,
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// One span whose attributes alone take more than `min_bytes`.
pub fn big_trace_request(min_bytes: usize) -> ExportTraceServiceRequest {
    const CHUNK: usize = 64 * 1024;
    let mut request = trace_request(1);
    let span = &mut request.resource_spans[0].scope_spans[0].spans[0];
    span.attributes = (0..=min_bytes / CHUNK)
        .map(|i| kv(&format!("big.{i}"), &"a".repeat(CHUNK)))
        .collect();
    request
}

fn point(value: number_data_point::Value, attr: &str) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![kv("host", attr)],
        start_time_unix_nano: T0,
        time_unix_nano: T0 + 10,
        value: Some(value),
        ..Default::default()
    }
}

/// A gauge with two data points and a monotonic sum with one: three records.
pub fn metrics_request() -> ExportMetricsServiceRequest {
    let gauge = Metric {
        name: "queue.depth".into(),
        unit: "{item}".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![
                point(number_data_point::Value::AsDouble(1.5), "a"),
                point(number_data_point::Value::AsDouble(2.5), "b"),
            ],
        })),
        ..Default::default()
    };
    let sum = Metric {
        name: "requests".into(),
        description: "requests served".into(),
        data: Some(Data::Sum(Sum {
            data_points: vec![point(number_data_point::Value::AsInt(42), "a")],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics: vec![gauge, sum],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// One error log record linked to span 1 of the trace fixture.
pub fn logs_request() -> ExportLogsServiceRequest {
    let record = LogRecord {
        time_unix_nano: T0,
        observed_time_unix_nano: T0 + 5,
        severity_number: 17,
        severity_text: "ERROR".into(),
        body: Some(AnyValue {
            value: Some(Value::StringValue("payment failed".into())),
        }),
        attributes: vec![kv("order.id", "o-1")],
        trace_id: vec![0x11; 16],
        span_id: vec![1; 8],
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: vec![record],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}
