//! A batch: one OTLP export request, of one signal, with the context it arrived in. It holds
//! either the decoded OTLP structs or, for a request that arrived as protobuf, the request's
//! bytes with their wire view ([`payload`]): readers that need structs get them decoded lazily,
//! wire-aware processors record edits through the view, and the OTLP exporters send the bytes.
//!
//! Only building a batch from bytes fails ([`DecodeError`], as prost's decoding would); counting
//! and naming are total functions.

use std::fmt;

use bytes::{BufMut, Bytes};

use crate::context::RequestContext;
use crate::otlp::logs::v1::ResourceLogs;
use crate::otlp::metrics::v1::{ResourceMetrics, metric::Data};
use crate::otlp::trace::v1::ResourceSpans;
use crate::wire::{Edits, LogView, MetricView, TraceView};

mod payload;
mod sealed;
use payload::AnyWire;
pub use payload::DecodeError;

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

/// One export request and the context it arrived in. Processors edit it in place, through the
/// wire view while it has one ([`Batch::trace_wire`]) or the structs ([`Batch::signal_mut`]);
/// exporters share it behind an `Arc` and read [`Batch::signal`] or send
/// [`Batch::encode_request`].
#[derive(Debug, Clone)]
pub struct Batch {
    /// Where the batch came from: tenant, request id, trace context, arrival time.
    pub ctx: RequestContext,
    /// The OTLP data as structs; for a batch held as bytes, an empty list of its signal.
    signal: Signal,
    /// The request as bytes, while the batch is held so.
    wire: Option<AnyWire>,
}

impl Batch {
    /// A batch of `signal` in `ctx`.
    pub fn new(ctx: RequestContext, signal: Signal) -> Self {
        Self {
            ctx,
            signal,
            wire: None,
        }
    }

    /// A batch of the export request of `kind` in `bytes`, kept as bytes with its wire view;
    /// decoded with prost when the view does not index its encoding. Fails as prost's decoding
    /// would.
    pub fn from_bytes(
        ctx: RequestContext,
        kind: SignalKind,
        bytes: Bytes,
    ) -> Result<Self, DecodeError> {
        Ok(match AnyWire::parse(kind, bytes)? {
            Ok(wire) => Self {
                ctx,
                signal: match kind {
                    SignalKind::Traces => Signal::Traces(Vec::new()),
                    SignalKind::Metrics => Signal::Metrics(Vec::new()),
                    SignalKind::Logs => Signal::Logs(Vec::new()),
                },
                wire: Some(wire),
            },
            Err(signal) => Self::new(ctx, signal),
        })
    }

    /// [`Batch::from_bytes`] of an `ExportTraceServiceRequest`.
    pub fn from_traces_bytes(ctx: RequestContext, bytes: Bytes) -> Result<Self, DecodeError> {
        Self::from_bytes(ctx, SignalKind::Traces, bytes)
    }

    /// True while the batch holds the request's bytes (not yet turned into structs for
    /// editing).
    pub fn is_wire(&self) -> bool {
        self.wire.is_some()
    }

    /// Done with editing: a batch held as bytes keeps only the request with its edits applied
    /// (its view and edits dropped), so queues hold it once, at its encoded size. The wire-aware
    /// processors' hooks ([`Batch::trace_wire`] and the like) are `None` from then on;
    /// [`Batch::signal_mut`] still decodes it.
    pub fn seal(&mut self) {
        if let Some(w) = self.wire.take() {
            self.wire = Some(w.seal());
        }
    }

    /// The OTLP data, as structs: decoded on first call for a batch held as bytes (with the
    /// edits recorded so far applied), and kept until the next edit.
    pub fn signal(&self) -> &Signal {
        match &self.wire {
            Some(w) => w.signal(),
            None => &self.signal,
        }
    }

    /// The OTLP data, as structs to edit in place. A batch held as bytes is decoded (its edits
    /// applied) and keeps only the structs from then on.
    pub fn signal_mut(&mut self) -> &mut Signal {
        if let Some(w) = self.wire.take() {
            self.signal = w.into_signal();
        }
        &mut self.signal
    }

    /// The trace request's view, while the batch is held as bytes.
    pub fn trace_view(&self) -> Option<&TraceView> {
        match &self.wire {
            Some(AnyWire::Traces(w)) => Some(&w.view),
            _ => None,
        }
    }

    /// The logs request's view, while the batch is held as bytes.
    pub fn log_view(&self) -> Option<&LogView> {
        match &self.wire {
            Some(AnyWire::Logs(w)) => Some(&w.view),
            _ => None,
        }
    }

    /// The metrics request's view, while the batch is held as bytes.
    pub fn metric_view(&self) -> Option<&MetricView> {
        match &self.wire {
            Some(AnyWire::Metrics(w)) => Some(&w.view),
            _ => None,
        }
    }

    /// The trace request's view and its edits, while the batch is held as bytes: where
    /// wire-aware processors read and record their changes. `None` once it holds structs.
    pub fn trace_wire(&mut self) -> Option<(&TraceView, &mut Edits)> {
        match &mut self.wire {
            Some(AnyWire::Traces(w)) => Some(w.view_and_edits()),
            _ => None,
        }
    }

    /// [`Batch::trace_wire`] with the batch's context beside it.
    pub fn ctx_and_trace_wire(&mut self) -> Option<(&RequestContext, &TraceView, &mut Edits)> {
        match &mut self.wire {
            Some(AnyWire::Traces(w)) => {
                let (view, edits) = w.view_and_edits();
                Some((&self.ctx, view, edits))
            }
            _ => None,
        }
    }

    /// [`Batch::log_wire`] with the batch's context beside it.
    pub fn ctx_and_log_wire(&mut self) -> Option<(&RequestContext, &LogView, &mut Edits)> {
        match &mut self.wire {
            Some(AnyWire::Logs(w)) => {
                let (view, edits) = w.view_and_edits();
                Some((&self.ctx, view, edits))
            }
            _ => None,
        }
    }

    /// [`Batch::trace_wire`] for a logs request.
    pub fn log_wire(&mut self) -> Option<(&LogView, &mut Edits)> {
        match &mut self.wire {
            Some(AnyWire::Logs(w)) => Some(w.view_and_edits()),
            _ => None,
        }
    }

    /// [`Batch::trace_wire`] for a metrics request.
    pub fn metric_wire(&mut self) -> Option<(&MetricView, &mut Edits)> {
        match &mut self.wire {
            Some(AnyWire::Metrics(w)) => Some(w.view_and_edits()),
            _ => None,
        }
    }

    /// The context to read and the OTLP data to edit, at once (see [`Batch::signal_mut`]).
    pub fn ctx_and_signal_mut(&mut self) -> (&RequestContext, &mut Signal) {
        self.signal_mut();
        (&self.ctx, &mut self.signal)
    }

    /// The context and the OTLP data, taken apart.
    pub fn into_parts(self) -> (RequestContext, Signal) {
        let signal = match self.wire {
            Some(w) => w.into_signal(),
            None => self.signal,
        };
        (self.ctx, signal)
    }

    /// Which signal the batch carries.
    pub fn kind(&self) -> SignalKind {
        self.signal.kind()
    }

    /// Records in the batch (see [`Signal::record_count`]); from the view, without decoding,
    /// while a batch held as bytes is unedited.
    pub fn record_count(&self) -> u64 {
        match &self.wire {
            Some(w) => w.record_count(),
            None => self.signal.record_count(),
        }
    }

    /// True when the batch holds no resource at all.
    pub fn is_empty(&self) -> bool {
        match &self.wire {
            Some(w) => w.is_empty(),
            None => self.signal.is_empty(),
        }
    }

    /// The `Export*ServiceRequest` to send: the bytes that arrived (shared, not copied) when
    /// nothing was edited, with the edits applied when some were, encoded from the structs for
    /// a decoded batch.
    pub fn encode_request(&self) -> Bytes {
        match &self.wire {
            Some(w) => w.request(),
            None => {
                let mut buf = Vec::with_capacity(payload::encoded_len(&self.signal));
                payload::encode_signal(&self.signal, &mut buf);
                Bytes::from(buf)
            }
        }
    }

    /// Writes [`Batch::encode_request`] into `buf`. Requests written one after another make
    /// one request holding all their resources (protobuf merges repeated fields).
    pub fn write_request(&self, buf: &mut impl BufMut) {
        match &self.wire {
            Some(w) => buf.put_slice(&w.request()),
            None => payload::encode_signal(&self.signal, buf),
        }
    }

    /// The length of [`Batch::encode_request`].
    pub fn encoded_len(&self) -> usize {
        match &self.wire {
            Some(w) => w.encoded_len(),
            None => payload::encoded_len(&self.signal),
        }
    }
}

#[cfg(test)]
mod wire_tests;

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
