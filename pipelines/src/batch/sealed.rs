//! A request held as bytes once its processors are done: the bytes to send (edits applied),
//! its records counted, and its structs decoded on first need. The view and the edits are
//! dropped, so a queued batch holds its request once, at its encoded size.
//!
//! Decoding cannot fail for bytes the view accepted with edits its users make (each replaces
//! a whole field with a valid encoding); if it did, the failure is logged and readers that need
//! structs get an empty list (the bytes still go out whole to the OTLP exporters).

use std::sync::OnceLock;

use bytes::Bytes;

use super::{Signal, SignalKind};

/// A request held as bytes, done with editing.
#[derive(Debug, Clone)]
pub(super) struct Sealed {
    kind: SignalKind,
    bytes: Bytes,
    records: u64,
    empty: bool,
    decoded: OnceLock<Signal>,
}

impl Sealed {
    /// The request of `kind` in `bytes`, holding `records` records (no resource when
    /// `empty`), and its structs when they were already decoded.
    pub(super) fn new(
        kind: SignalKind,
        bytes: Bytes,
        (records, empty): (u64, bool),
        decoded: Option<Signal>,
    ) -> Self {
        let cell = OnceLock::new();
        if let Some(s) = decoded {
            let _ = cell.set(s);
        }
        Self {
            kind,
            bytes,
            records,
            empty,
            decoded: cell,
        }
    }

    pub(super) fn signal(&self) -> &Signal {
        self.decoded.get_or_init(|| self.decode())
    }

    pub(super) fn into_signal(mut self) -> Signal {
        match self.decoded.take() {
            Some(s) => s,
            None => self.decode(),
        }
    }

    pub(super) fn request(&self) -> Bytes {
        self.bytes.clone()
    }

    pub(super) fn record_count(&self) -> u64 {
        self.records
    }

    pub(super) fn is_empty(&self) -> bool {
        self.empty
    }

    pub(super) fn encoded_len(&self) -> usize {
        self.bytes.len()
    }

    fn decode(&self) -> Signal {
        super::payload::decode(self.kind, self.bytes.clone()).unwrap_or_else(|e| {
            tracing::error!(signal = %self.kind, error = %e, "edited request does not decode");
            super::payload::empty(self.kind)
        })
    }
}
