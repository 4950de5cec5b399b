//! Sends the spans the layer collected: batches of up to 512 spans, at least once a second,
//! through weir's own `otlp` exporter, marked as self-telemetry so no weir traces them again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use tokio::sync::{mpsc, watch};
use weir_exporters::otlp::{OtlpConfig, OtlpGrpcExporter, TenantHeader};
use weir_pipeline::{Batch, Bundle, Exporter, RequestContext, Signal};

use super::SELF_TELEMETRY_HEADER;
use crate::config::service::SelfTracesConfig;

const MAX_BATCH: usize = 512;
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The running span exporter; [`SpanExporter::stop`] flushes what is buffered.
pub struct SpanExporter {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SpanExporter {
    /// Starts sending spans from `rx` as `cfg` says, under weir's resource with `resource`
    /// (`service.telemetry.resource`) added, its values replacing weir's for the same keys.
    pub fn start(
        cfg: &SelfTracesConfig,
        resource: &BTreeMap<String, String>,
        mut rx: mpsc::Receiver<Span>,
    ) -> Result<Self, String> {
        let resource = Arc::new(own_resource(resource));
        let mut headers = cfg.headers.clone();
        headers
            .insert(SELF_TELEMETRY_HEADER, "1")
            .map_err(|e| e.to_string())?;
        let otlp = OtlpConfig {
            endpoint: Some(cfg.endpoint.clone()),
            headers,
            tenant_header: TenantHeader::none(),
            ..OtlpConfig::default()
        };
        let exporter =
            OtlpGrpcExporter::new("service.telemetry.traces", &otlp).map_err(|e| e.to_string())?;
        let exporter: Arc<dyn Exporter> = Arc::new(exporter);
        let (stop, mut stop_rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut buf: Vec<Span> = Vec::new();
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            loop {
                tokio::select! {
                    got = rx.recv() => match got {
                        Some(span) => {
                            buf.push(span);
                            if buf.len() >= MAX_BATCH {
                                send(&exporter, &resource, std::mem::take(&mut buf)).await;
                            }
                        }
                        None => break,
                    },
                    _ = tick.tick() => {
                        if !buf.is_empty() {
                            send(&exporter, &resource, std::mem::take(&mut buf)).await;
                        }
                    }
                    _ = stopped(&mut stop_rx) => break,
                }
            }
            while let Ok(span) = rx.try_recv() {
                buf.push(span);
            }
            if !buf.is_empty() {
                send(&exporter, &resource, buf).await;
            }
        });
        Ok(Self { stop, task })
    }

    /// Sends what is buffered and stops.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// weir's resource: `service.name` and `service.version`, then `extra` (which may replace them).
fn own_resource(extra: &BTreeMap<String, String>) -> Resource {
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    };
    let mut attributes = vec![
        kv("service.name", "weir"),
        kv("service.version", env!("CARGO_PKG_VERSION")),
    ];
    for (k, v) in extra {
        attributes.retain(|a| a.key != *k);
        attributes.push(kv(k, v));
    }
    Resource {
        attributes,
        ..Default::default()
    }
}

async fn send(exporter: &Arc<dyn Exporter>, resource: &Resource, spans: Vec<Span>) {
    let n = spans.len();
    let resource_spans = ResourceSpans {
        resource: Some(resource.clone()),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: "weir".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                ..Default::default()
            }),
            spans,
            ..Default::default()
        }],
        ..Default::default()
    };
    let batch = Arc::new(Batch::new(
        RequestContext::internal(),
        Signal::Traces(vec![resource_spans]),
    ));
    if let Err(e) = exporter.export(Arc::new(Bundle::single(batch))).await {
        tracing::debug!(spans = n, error = %e, "could not send weir's own spans");
    }
}
