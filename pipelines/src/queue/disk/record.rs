//! What the disk queue stores of a batch, independent of the in-memory type: the encoded OTLP
//! export request of the tenant's part, and a header with the tenant, request id, received time,
//! signal, record count and size, and the record's sequence number.
//!
//! [`decode`] fails with [`RecordError`] when a stored record (whose checksums held) cannot be
//! read back: a header of an unknown version, a tenant id weir no longer accepts, or a payload
//! that is not an OTLP request of its signal.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Batch, RequestContext, RequestId, SignalKind, TenantId};

/// Version of the header layout.
const VERSION: u8 = 1;

/// The receiver named in the context of a batch read back from disk.
pub const REPLAY_RECEIVER: &str = "disk_queue";

/// Why a stored record cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The header is not one this weir writes.
    #[error("unreadable record header")]
    Header,
    /// The stored tenant id is not valid.
    #[error("invalid stored tenant: {0}")]
    Tenant(#[from] crate::TenantIdError),
    /// The payload is not an OTLP request.
    #[error("undecodable payload: {0}")]
    Payload(#[from] crate::batch::DecodeError),
}

/// A stored record's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Sequence number, unique and increasing within one queue directory.
    pub seq: u64,
    /// The signal of the payload.
    pub signal: SignalKind,
    /// Records (spans, points, log records) in the payload.
    pub records: u64,
    /// The request's size after decompression, as the memory queue counts it.
    pub body_bytes: u64,
    /// When the request arrived, in nanoseconds since the Unix epoch.
    pub received_unix_nanos: u64,
    /// The tenant.
    pub tenant: String,
    /// The request id, and whether weir generated it.
    pub request_id: String,
    /// True when weir generated the request id.
    pub generated_id: bool,
}

fn signal_code(kind: SignalKind) -> u8 {
    match kind {
        SignalKind::Traces => 1,
        SignalKind::Metrics => 2,
        SignalKind::Logs => 3,
    }
}

impl Header {
    /// The header of `batch`, stored as record `seq`.
    pub fn of(batch: &Batch, seq: u64) -> Self {
        let ctx = &batch.ctx;
        let received = ctx
            .received_wall
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            seq,
            signal: batch.kind(),
            records: batch.record_count(),
            body_bytes: ctx.body_bytes as u64,
            received_unix_nanos: u64::try_from(received.as_nanos()).unwrap_or(u64::MAX),
            tenant: ctx.tenant.as_str().to_owned(),
            request_id: ctx.request_id.as_str().to_owned(),
            generated_id: ctx.request_id.is_generated(),
        }
    }

    /// When the request arrived.
    pub fn received(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.received_unix_nanos)
    }

    /// The header as stored.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + self.tenant.len() + self.request_id.len());
        out.push(VERSION);
        out.push(signal_code(self.signal));
        out.push(u8::from(self.generated_id));
        for n in [
            self.seq,
            self.records,
            self.body_bytes,
            self.received_unix_nanos,
        ] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        for s in [&self.tenant, &self.request_id] {
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        out
    }

    /// Reads a stored header.
    pub fn decode(buf: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader(buf);
        if r.take(1)? != [VERSION] {
            return Err(RecordError::Header);
        }
        let signal = match r.take(1)?[0] {
            1 => SignalKind::Traces,
            2 => SignalKind::Metrics,
            3 => SignalKind::Logs,
            _ => return Err(RecordError::Header),
        };
        let generated_id = r.take(1)?[0] != 0;
        let (seq, records, body_bytes, received_unix_nanos) =
            (r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        let tenant = r.text()?;
        let request_id = r.text()?;
        Ok(Self {
            seq,
            signal,
            records,
            body_bytes,
            received_unix_nanos,
            tenant,
            request_id,
            generated_id,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        if self.0.len() < n {
            return Err(RecordError::Header);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u64(&mut self) -> Result<u64, RecordError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn text(&mut self) -> Result<String, RecordError> {
        let len = self.take(2)?;
        let len = u16::from_le_bytes([len[0], len[1]]) as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| RecordError::Header)
    }
}

/// The payload of `batch`: its OTLP export request as the exporters send it
/// ([`Batch::encode_request`]: the bytes that arrived, for a batch held as bytes).
pub fn encode_payload(batch: &Batch) -> Vec<u8> {
    Vec::from(batch.encode_request())
}

/// The batch a stored record holds, with its tenant, request id and received time.
pub fn decode(header: &Header, payload: &[u8]) -> Result<Batch, RecordError> {
    let mut ctx = RequestContext::new(
        TenantId::new(&header.tenant)?,
        RequestId::restored(&header.request_id, header.generated_id),
        Arc::from(REPLAY_RECEIVER),
        REPLAY_RECEIVER,
    );
    ctx.received_wall = header.received();
    ctx.body_bytes = usize::try_from(header.body_bytes).unwrap_or(usize::MAX);
    // Requests come back as bytes, as they arrived.
    let payload = bytes::Bytes::copy_from_slice(payload);
    Ok(Batch::from_bytes(ctx, header.signal, payload)?)
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::Signal;
    use crate::otlp::collector::logs::v1::ExportLogsServiceRequest;
    use crate::test_util::realistic;

    #[test]
    fn a_batch_survives_the_round_trip_with_its_context() {
        let mut batch = realistic::batch(Signal::Traces(realistic::spans(3, 0)));
        batch.ctx.tenant = TenantId::new("acme").expect("tenant");
        batch.ctx.request_id = RequestId::from_client(Some(b"req-42"));
        batch.ctx.body_bytes = 1234;
        let header = Header::of(&batch, 7);
        let read = Header::decode(&header.encode()).expect("header");
        assert_eq!(read, header);
        let back = decode(&read, &encode_payload(&batch)).expect("batch");
        assert_eq!(back.signal(), batch.signal());
        assert_eq!(back.ctx.tenant.as_str(), "acme");
        assert_eq!(back.ctx.request_id.as_str(), "req-42");
        assert!(!back.ctx.request_id.is_generated());
        assert_eq!(back.ctx.body_bytes, 1234);
        let drift = back
            .ctx
            .received_wall
            .duration_since(batch.ctx.received_wall)
            .unwrap_or_else(|e| e.duration());
        assert!(drift < Duration::from_micros(1), "{drift:?}");
        assert_eq!(read.records, 3);
    }

    #[test]
    fn the_payload_is_the_export_request_as_an_sdk_encodes_it() {
        let batch = realistic::batch(Signal::Logs(realistic::logs(4, 0)));
        let Signal::Logs(rl) = batch.signal() else {
            panic!("logs");
        };
        let request = ExportLogsServiceRequest {
            resource_logs: rl.clone(),
        };
        assert_eq!(encode_payload(&batch), request.encode_to_vec());
    }

    #[test]
    fn a_batch_held_as_bytes_is_stored_as_them_and_comes_back_so() {
        let resource_spans = realistic::spans(5, 0);
        let sent = crate::otlp::collector::trace::v1::ExportTraceServiceRequest { resource_spans }
            .encode_to_vec();
        let batch = Batch::from_traces_bytes(RequestContext::for_tests(), sent.clone().into())
            .expect("valid");
        assert!(batch.is_wire());
        let payload = encode_payload(&batch);
        assert_eq!(payload, sent);
        let back = decode(&Header::of(&batch, 1), &payload).expect("batch");
        assert!(back.is_wire());
        assert_eq!(back.encode_request(), sent);
        assert_eq!(back.record_count(), 5);
    }

    #[test]
    fn a_short_or_foreign_header_is_refused() {
        let header =
            Header::of(&realistic::batch(Signal::Traces(realistic::spans(1, 0))), 1).encode();
        assert!(Header::decode(&header[..header.len() - 1]).is_err());
        let mut other = header.clone();
        other[0] = 9;
        assert!(Header::decode(&other).is_err());
    }
}
