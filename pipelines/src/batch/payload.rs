//! What a [`super::Batch`] carries: the decoded OTLP structs, or a trace export request as the
//! bytes that arrived with its [`TraceView`], the edits processors recorded through the view,
//! and, made on first need and kept until the next edit, the request with the edits applied
//! and its structs.
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

use super::Signal;
use crate::otlp::collector::trace::v1::ExportTraceServiceRequest;
use crate::wire::{Edits, TraceView};

/// Why a request's bytes were refused: prost's decoding error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(#[from] prost::DecodeError);

/// A trace request kept as bytes.
#[derive(Debug, Clone)]
pub(super) struct WireTraces {
    pub(super) view: TraceView,
    pub(super) edits: Edits,
    /// The bytes with `edits` applied, once asked for (while `edits` is not empty).
    applied: OnceLock<Bytes>,
    /// The structs of the bytes with `edits` applied, once asked for.
    decoded: OnceLock<Signal>,
}

impl WireTraces {
    pub(super) fn new(view: TraceView) -> Self {
        Self {
            view,
            edits: Edits::new(),
            applied: OnceLock::new(),
            decoded: OnceLock::new(),
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
    pub(super) fn view_and_edits(&mut self) -> (&TraceView, &mut Edits) {
        self.applied.take();
        self.decoded.take();
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
        let bytes = self.request();
        let request = ExportTraceServiceRequest::decode(bytes).or_else(|e| {
            tracing::error!(error = %e, "edited trace request does not decode; sending it unedited");
            ExportTraceServiceRequest::decode(self.view.bytes.clone())
        });
        Signal::Traces(request.unwrap_or_default().resource_spans)
    }

    /// Spans: from the index while nothing is edited (an edit may remove spans, so then from
    /// the structs).
    pub(super) fn record_count(&self) -> u64 {
        if self.edits.is_empty() {
            self.view.records.len() as u64
        } else {
            self.signal().record_count()
        }
    }

    /// True when the request holds no resource.
    pub(super) fn is_empty(&self) -> bool {
        if self.edits.is_empty() {
            self.view.resources.is_empty()
        } else {
            self.signal().is_empty()
        }
    }

    /// The length of [`Self::request`].
    pub(super) fn encoded_len(&self) -> usize {
        self.request().len()
    }
}

/// Indexes `bytes`, an `ExportTraceServiceRequest`: the view, or the structs prost decodes
/// when the view does not index them.
pub(super) fn traces_from_bytes(bytes: Bytes) -> Result<Result<WireTraces, Signal>, DecodeError> {
    match TraceView::parse(bytes.clone()) {
        Ok(view) => Ok(Ok(WireTraces::new(view))),
        Err(_) => {
            let request = ExportTraceServiceRequest::decode(bytes)?;
            Ok(Err(Signal::Traces(request.resource_spans)))
        }
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
