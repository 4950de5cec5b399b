//! A batch: one decoded OTLP export request, of one signal, with the context it arrived in.
//!
//! Nothing here fails: counting and naming are total functions over the OTLP structs.

use std::fmt;

use crate::context::RequestContext;
use crate::otlp::logs::v1::ResourceLogs;
use crate::otlp::metrics::v1::{ResourceMetrics, metric::Data};
use crate::otlp::trace::v1::ResourceSpans;

/// The three OTLP signals weir carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalKind {
    /// Spans.
    Traces,
    /// Metric data points.
    Metrics,
    /// Log records.
    Logs,
}

impl SignalKind {
    /// Every signal, in the order weir lists them.
    pub const ALL: [SignalKind; 3] = [SignalKind::Traces, SignalKind::Metrics, SignalKind::Logs];

    /// The lower-case name used in config (`service.pipelines.traces`) and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Traces => "traces",
            SignalKind::Metrics => "metrics",
            SignalKind::Logs => "logs",
        }
    }

    /// Parses a config name; `None` when it names no signal.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The payload of a batch: the resource-level lists of one OTLP export request.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// `ExportTraceServiceRequest.resource_spans`.
    Traces(Vec<ResourceSpans>),
    /// `ExportMetricsServiceRequest.resource_metrics`.
    Metrics(Vec<ResourceMetrics>),
    /// `ExportLogsServiceRequest.resource_logs`.
    Logs(Vec<ResourceLogs>),
}

impl Signal {
    /// Which signal this is.
    pub fn kind(&self) -> SignalKind {
        match self {
            Signal::Traces(_) => SignalKind::Traces,
            Signal::Metrics(_) => SignalKind::Metrics,
            Signal::Logs(_) => SignalKind::Logs,
        }
    }

    /// Records in the batch: spans, metric data points, or log records (OTLP's unit for
    /// `rejected_*` counts in partial success).
    pub fn record_count(&self) -> u64 {
        let n: usize = match self {
            Signal::Traces(rs) => rs
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum(),
            Signal::Logs(rl) => rl
                .iter()
                .flat_map(|r| &r.scope_logs)
                .map(|s| s.log_records.len())
                .sum(),
            Signal::Metrics(rm) => rm
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
                .map(|m| data_point_count(m.data.as_ref()))
                .sum(),
        };
        n as u64
    }

    /// True when the batch holds no resource at all.
    pub fn is_empty(&self) -> bool {
        match self {
            Signal::Traces(v) => v.is_empty(),
            Signal::Metrics(v) => v.is_empty(),
            Signal::Logs(v) => v.is_empty(),
        }
    }
}

/// Data points of one metric, whatever its type.
pub fn data_point_count(data: Option<&Data>) -> usize {
    match data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

/// One decoded export request and the context it arrived in. Processors edit it in place
/// through [`Batch::signal_mut`]; exporters share it behind an `Arc` and read
/// [`Batch::signal`].
#[derive(Debug, Clone)]
pub struct Batch {
    /// Where the batch came from: tenant, request id, trace context, arrival time.
    pub ctx: RequestContext,
    /// The OTLP data.
    signal: Signal,
}

impl Batch {
    /// A batch of `signal` in `ctx`.
    pub fn new(ctx: RequestContext, signal: Signal) -> Self {
        Self { ctx, signal }
    }

    /// The OTLP data, as structs.
    pub fn signal(&self) -> &Signal {
        &self.signal
    }

    /// The OTLP data, as structs to edit in place.
    pub fn signal_mut(&mut self) -> &mut Signal {
        &mut self.signal
    }

    /// The context to read and the OTLP data to edit, at once.
    pub fn ctx_and_signal_mut(&mut self) -> (&RequestContext, &mut Signal) {
        (&self.ctx, &mut self.signal)
    }

    /// The context and the OTLP data, taken apart.
    pub fn into_parts(self) -> (RequestContext, Signal) {
        (self.ctx, self.signal)
    }

    /// Which signal the batch carries.
    pub fn kind(&self) -> SignalKind {
        self.signal.kind()
    }

    /// Records in the batch (see [`Signal::record_count`]).
    pub fn record_count(&self) -> u64 {
        self.signal.record_count()
    }

    /// True when the batch holds no resource at all.
    pub fn is_empty(&self) -> bool {
        self.signal.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::metrics::v1::{Gauge, Metric, NumberDataPoint, ScopeMetrics, Sum};
    use crate::otlp::trace::v1::{ScopeSpans, Span};

    #[test]
    fn counts_spans_across_resources_and_scopes() {
        let rs = |n: usize| ResourceSpans {
            scope_spans: vec![
                ScopeSpans {
                    spans: vec![Span::default(); n],
                    ..Default::default()
                },
                ScopeSpans {
                    spans: vec![Span::default(); 1],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        assert_eq!(Signal::Traces(vec![rs(2), rs(3)]).record_count(), 7);
    }

    #[test]
    fn counts_metric_data_points_not_metrics() {
        let metrics = vec![
            Metric {
                data: Some(Data::Gauge(Gauge {
                    data_points: vec![NumberDataPoint::default(); 3],
                })),
                ..Default::default()
            },
            Metric {
                data: Some(Data::Sum(Sum {
                    data_points: vec![NumberDataPoint::default(); 2],
                    ..Default::default()
                })),
                ..Default::default()
            },
            Metric::default(),
        ];
        let signal = Signal::Metrics(vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }]);
        assert_eq!(signal.record_count(), 5);
        assert_eq!(signal.kind(), SignalKind::Metrics);
    }

    #[test]
    fn signal_names_round_trip() {
        for s in SignalKind::ALL {
            assert_eq!(SignalKind::parse(s.as_str()), Some(s));
        }
        assert_eq!(SignalKind::parse("profiles"), None);
    }
}
