//! What a [`super::Batch`] carries: the decoded OTLP structs, or an export request as the bytes
//! that arrived with its [`View`] (of spans, log records or metrics), the edits processors
//! recorded through the view, and, made on first need and kept until the next edit, the request
//! with the edits applied and its structs.
//!
//! Bytes the view does not index (malformed, or an encoding it leaves to prost) are decoded
//! with prost: what prost accepts becomes a decoded batch, what it refuses is refused with
//! prost's own error ([`DecodeError`]), so the view never changes what weir accepts or says. Decoding a
//! view with its edits applied cannot fail for edits the view's users make (they replace whole
//! fields with valid encodings); if it did, the request's bytes without the edits are decoded
//! instead and the failure is logged.

use std::sync::OnceLock;

use bytes::{BufMut, Bytes};
use prost::Message;
use prost::encoding::message;

use super::sealed::Sealed;
use super::{Signal, SignalKind};
use crate::otlp::collector::logs::v1::ExportLogsServiceRequest;
use crate::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
use crate::otlp::collector::trace::v1::ExportTraceServiceRequest;
use crate::wire::{Edits, LogIdx, MetricIdx, Record, SpanIdx, View};

/// Why a request's bytes were refused: prost's decoding error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(#[from] prost::DecodeError);

/// A kind of record whose requests a batch can hold as bytes.
pub(super) trait WireRecord: Record + Clone + std::fmt::Debug {
    /// Which signal.
    const KIND: SignalKind;

    /// prost's decoding of a request of this signal.
    fn decode(bytes: Bytes) -> Result<Signal, prost::DecodeError>;

    /// Records of the view, as [`Signal::record_count`] counts them.
    fn count(view: &View<Self>) -> u64;
}

impl WireRecord for SpanIdx {
    const KIND: SignalKind = SignalKind::Traces;

    fn decode(bytes: Bytes) -> Result<Signal, prost::DecodeError> {
        Ok(Signal::Traces(
            ExportTraceServiceRequest::decode(bytes)?.resource_spans,
        ))
    }

    fn count(view: &View<Self>) -> u64 {
        view.records.len() as u64
    }
}

impl WireRecord for LogIdx {
    const KIND: SignalKind = SignalKind::Logs;

    fn decode(bytes: Bytes) -> Result<Signal, prost::DecodeError> {
        Ok(Signal::Logs(
            ExportLogsServiceRequest::decode(bytes)?.resource_logs,
        ))
    }

    fn count(view: &View<Self>) -> u64 {
        view.records.len() as u64
    }
}

impl WireRecord for MetricIdx {
    const KIND: SignalKind = SignalKind::Metrics;

    fn decode(bytes: Bytes) -> Result<Signal, prost::DecodeError> {
        Ok(Signal::Metrics(
            ExportMetricsServiceRequest::decode(bytes)?.resource_metrics,
        ))
    }

    fn count(view: &View<Self>) -> u64 {
        view.records.iter().map(|m| m.points.len() as u64).sum()
    }
}

/// A request kept as bytes.
#[derive(Debug, Clone)]
pub(super) struct Wire<R> {
    pub(super) view: View<R>,
    pub(super) edits: Edits,
    /// The bytes with `edits` applied, once asked for (while `edits` is not empty).
    applied: OnceLock<Bytes>,
    /// The structs of the bytes with `edits` applied, once asked for.
    decoded: OnceLock<Signal>,
    /// Records in the bytes with `edits` applied, and whether they hold no resource, once
    /// asked for (while `edits` is not empty).
    shape: OnceLock<(u64, bool)>,
}

impl<R: WireRecord> Wire<R> {
    pub(super) fn new(view: View<R>) -> Self {
        Self {
            view,
            edits: Edits::new(),
            applied: OnceLock::new(),
            decoded: OnceLock::new(),
            shape: OnceLock::new(),
        }
    }

    /// The structs, decoded on first call.
    pub(super) fn signal(&self) -> &Signal {
        self.decoded.get_or_init(|| self.decode())
    }

    /// Gives the structs up: the cached ones, or decoded now.
    pub(super) fn into_signal(mut self) -> Signal {
        match self.decoded.take() {
            Some(s) => s,
            None => self.decode(),
        }
    }

    /// The view, and the edits to record more in: what was made from the edits so far no
    /// longer holds.
    pub(super) fn view_and_edits(&mut self) -> (&View<R>, &mut Edits) {
        self.applied.take();
        self.decoded.take();
        self.shape.take();
        (&self.view, &mut self.edits)
    }

    /// The request's bytes with the edits applied (the bytes that arrived, shared, when there
    /// are none).
    pub(super) fn request(&self) -> Bytes {
        if self.edits.is_empty() {
            return self.view.bytes.clone();
        }
        self.applied
            .get_or_init(|| Bytes::from(self.edits.clone().apply(&self.view.bytes)))
            .clone()
    }

    fn decode(&self) -> Signal {
        R::decode(self.request())
            .or_else(|e| {
                tracing::error!(signal = %R::KIND, error = %e, "edited request does not decode; reading it unedited");
                R::decode(self.view.bytes.clone())
            })
            .unwrap_or_else(|_| empty(R::KIND))
    }

    /// Done with editing: the request with its edits applied (written once, the edits
    /// consumed), counted, without the view.
    fn seal(self) -> Sealed {
        let shape = (self.record_count(), self.is_empty());
        let bytes = match self.applied.into_inner() {
            Some(b) => b,
            None if self.edits.is_empty() => self.view.bytes,
            None => Bytes::from(self.edits.apply(&self.view.bytes)),
        };
        Sealed::new(R::KIND, bytes, shape, self.decoded.into_inner())
    }

    /// True when the edits cannot have changed what is counted: spans and log records are
    /// three fields deep (resource, scope, record), so edits inside them add or remove none;
    /// a metric's data points lie deeper, behind its data kind, so metrics are always recounted.
    fn counts_kept(&self) -> bool {
        self.edits.is_empty() || (R::KIND != SignalKind::Metrics && self.edits.all_inside(3))
    }

    /// Records: from the index while no edit can have changed them (none, or all inside
    /// records); otherwise (an edit may remove records) from the structs when they were
    /// decoded, else counted in the edited bytes
    /// ([`crate::wire::shape`]: resources, scopes and records only, far cheaper than an index).
    pub(super) fn record_count(&self) -> u64 {
        if self.counts_kept() {
            R::count(&self.view)
        } else {
            self.shape().0
        }
    }

    /// True when the request holds no resource (counted as [`Self::record_count`]).
    pub(super) fn is_empty(&self) -> bool {
        if self.counts_kept() {
            self.view.resources.is_empty()
        } else {
            self.shape().1
        }
    }

    /// Records and emptiness of the edited request.
    fn shape(&self) -> (u64, bool) {
        *self.shape.get_or_init(|| {
            let of = |s: &Signal| (s.record_count(), s.is_empty());
            if let Some(s) = self.decoded.get() {
                return of(s);
            }
            crate::wire::shape(R::KIND, &self.request()).unwrap_or_else(|_| of(self.signal()))
        })
    }

    /// The length of [`Self::request`].
    pub(super) fn encoded_len(&self) -> usize {
        self.request().len()
    }
}

/// prost's decoding of an export request of `kind`.
pub(super) fn decode(kind: SignalKind, bytes: Bytes) -> Result<Signal, prost::DecodeError> {
    match kind {
        SignalKind::Traces => SpanIdx::decode(bytes),
        SignalKind::Logs => LogIdx::decode(bytes),
        SignalKind::Metrics => MetricIdx::decode(bytes),
    }
}

/// A batch of `kind` holding no resource.
pub(super) fn empty(kind: SignalKind) -> Signal {
    match kind {
        SignalKind::Traces => Signal::Traces(Vec::new()),
        SignalKind::Metrics => Signal::Metrics(Vec::new()),
        SignalKind::Logs => Signal::Logs(Vec::new()),
    }
}

/// Indexes `bytes`, an export request of `R`'s signal: the view, or the structs prost decodes
/// when the view does not index them.
pub(super) fn from_bytes<R: WireRecord>(
    bytes: Bytes,
) -> Result<Result<Wire<R>, Signal>, DecodeError> {
    match View::<R>::parse(bytes.clone()) {
        Ok(view) => Ok(Ok(Wire::new(view))),
        Err(_) => Ok(Err(R::decode(bytes)?)),
    }
}

/// Writes `signal` as its `Export*ServiceRequest`: field 1 once per resource.
pub(super) fn encode_signal(signal: &Signal, buf: &mut impl BufMut) {
    match signal {
        Signal::Traces(list) => list.iter().for_each(|r| message::encode(1, r, buf)),
        Signal::Metrics(list) => list.iter().for_each(|r| message::encode(1, r, buf)),
        Signal::Logs(list) => list.iter().for_each(|r| message::encode(1, r, buf)),
    }
}

/// The encoded length of `signal` as its `Export*ServiceRequest`.
pub(super) fn encoded_len(signal: &Signal) -> usize {
    fn each<M: Message>(list: &[M]) -> usize {
        list.iter().map(|r| message::encoded_len(1, r)).sum()
    }
    match signal {
        Signal::Traces(list) => each(list),
        Signal::Metrics(list) => each(list),
        Signal::Logs(list) => each(list),
    }
}

/// A request kept as bytes, of any signal.
#[derive(Debug, Clone)]
pub(super) enum AnyWire {
    Traces(Box<Wire<SpanIdx>>),
    Logs(Box<Wire<LogIdx>>),
    Metrics(Box<Wire<MetricIdx>>),
    /// Done with editing ([`AnyWire::seal`]).
    Sealed(Box<Sealed>),
}

/// `$body` with `$w` bound to the request of whichever signal `$any` holds.
macro_rules! each {
    ($any:expr, $w:ident => $body:expr) => {
        match $any {
            AnyWire::Traces($w) => $body,
            AnyWire::Logs($w) => $body,
            AnyWire::Metrics($w) => $body,
            AnyWire::Sealed($w) => $body,
        }
    };
}

impl AnyWire {
    /// Indexes `bytes`, an export request of `kind`: the request kept as bytes, or the structs
    /// prost decodes when the view does not index them.
    pub(super) fn parse(
        kind: SignalKind,
        bytes: Bytes,
    ) -> Result<Result<Self, Signal>, DecodeError> {
        Ok(match kind {
            SignalKind::Traces => from_bytes(bytes)?.map(|w| AnyWire::Traces(Box::new(w))),
            SignalKind::Logs => from_bytes(bytes)?.map(|w| AnyWire::Logs(Box::new(w))),
            SignalKind::Metrics => from_bytes(bytes)?.map(|w| AnyWire::Metrics(Box::new(w))),
        })
    }

    /// Done with editing: the request with its edits applied, without its view and edits.
    pub(super) fn seal(self) -> Self {
        AnyWire::Sealed(Box::new(match self {
            AnyWire::Traces(w) => w.seal(),
            AnyWire::Logs(w) => w.seal(),
            AnyWire::Metrics(w) => w.seal(),
            AnyWire::Sealed(s) => return AnyWire::Sealed(s),
        }))
    }

    pub(super) fn signal(&self) -> &Signal {
        each!(self, w => w.signal())
    }

    pub(super) fn into_signal(self) -> Signal {
        each!(self, w => w.into_signal())
    }

    pub(super) fn request(&self) -> Bytes {
        each!(self, w => w.request())
    }

    pub(super) fn record_count(&self) -> u64 {
        each!(self, w => w.record_count())
    }

    pub(super) fn is_empty(&self) -> bool {
        each!(self, w => w.is_empty())
    }

    pub(super) fn encoded_len(&self) -> usize {
        each!(self, w => w.encoded_len())
    }
}
