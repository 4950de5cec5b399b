//! Where a batch came from: tenant, request id, incoming trace context, arrival time.
//!
//! Identifiers from the wire are validated here, once: a tenant id that breaks Loki/Mimir's
//! rules is a [`TenantIdError`]; a request id that is too long or not printable is replaced by a
//! generated one; a malformed `traceparent` is ignored (`None`). Nothing here panics.

use std::fmt;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// Longest tenant id accepted (Loki's and Mimir's limit).
pub const MAX_TENANT_ID_LEN: usize = 150;
/// Longest client-supplied request id kept; longer ones are replaced by a generated id.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// A validated tenant id: 1–150 characters from `[A-Za-z0-9!-_.*'()]`, not `.` or `..`
/// (the rules Loki and Mimir apply to `X-Scope-OrgID`), so it is safe in any header or label.
/// Read from config as a string; one that breaks the rules fails the reading with the
/// [`TenantIdError`]'s message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct TenantId(Arc<str>);

/// Why a tenant id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantIdError {
    /// The id is empty.
    #[error("tenant id is empty")]
    Empty,
    /// The id is longer than [`MAX_TENANT_ID_LEN`].
    #[error("tenant id is {0} characters long; at most 150 are allowed")]
    TooLong(usize),
    /// The id holds a character outside the allowed set.
    #[error("tenant id holds {0:?}; only letters, digits and !-_.*'() are allowed")]
    BadChar(char),
    /// `.` and `..` are reserved.
    #[error("tenant id may not be \".\" or \"..\"")]
    Reserved,
}

impl TenantId {
    /// Validates `id` against Loki/Mimir's tenant id rules.
    pub fn new(id: &str) -> Result<Self, TenantIdError> {
        if id.is_empty() {
            return Err(TenantIdError::Empty);
        }
        if id.len() > MAX_TENANT_ID_LEN {
            return Err(TenantIdError::TooLong(id.len()));
        }
        if id == "." || id == ".." {
            return Err(TenantIdError::Reserved);
        }
        if let Some(c) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "!-_.*'()".contains(*c)))
        {
            return Err(TenantIdError::BadChar(c));
        }
        Ok(Self(Arc::from(id)))
    }

    /// The tenant a request belongs to when nothing names one: `default`.
    pub fn default_tenant() -> Self {
        Self(Arc::from("default"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = TenantIdError;

    fn try_from(id: String) -> Result<Self, Self::Error> {
        Self::new(&id)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of one export request: the client's `X-Request-Id` when it is usable, otherwise a
/// generated uuid v7.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId {
    id: Arc<str>,
    generated: bool,
}

impl RequestId {
    /// Takes the client's id when it is 1–128 printable ASCII characters without spaces;
    /// otherwise (absent, empty, too long, control or non-ASCII bytes) generates one.
    pub fn from_client(value: Option<&[u8]>) -> Self {
        match value {
            Some(v) if Self::acceptable(v) => Self {
                // Checked ASCII above, so this conversion cannot fail.
                id: Arc::from(String::from_utf8_lossy(v).as_ref()),
                generated: false,
            },
            _ => Self::generate(),
        }
    }

    /// A fresh uuid v7 (time-ordered, so ids sort by arrival).
    pub fn generate() -> Self {
        Self {
            id: Arc::from(uuid::Uuid::now_v7().to_string()),
            generated: true,
        }
    }

    /// An id read back from weir's disk queue: `id` as stored (checked again, generated anew
    /// when unusable) and whether weir had generated it.
    pub fn restored(id: &str, generated: bool) -> Self {
        match Self::acceptable(id.as_bytes()) {
            true => Self {
                id: Arc::from(id),
                generated,
            },
            false => Self::generate(),
        }
    }

    fn acceptable(v: &[u8]) -> bool {
        !v.is_empty()
            && v.len() <= MAX_REQUEST_ID_LEN
            && v.iter().all(|b| (0x21..=0x7e).contains(b))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// True when weir generated the id (the client sent none, or one that was unusable).
    pub fn is_generated(&self) -> bool {
        self.generated
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

/// A W3C `traceparent` of the export request itself (version 00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// 16-byte trace id, never all zero.
    pub trace_id: [u8; 16],
    /// 8-byte parent span id, never all zero.
    pub span_id: [u8; 8],
    /// Trace flags (bit 0: sampled).
    pub flags: u8,
}

impl TraceParent {
    /// Parses `00-<32 hex>-<16 hex>-<2 hex>`; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "00" || parts.next().is_some() {
            return None;
        }
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        let mut flag = [0u8; 1];
        const_hex::decode_to_slice(trace, &mut trace_id).ok()?;
        const_hex::decode_to_slice(span, &mut span_id).ok()?;
        const_hex::decode_to_slice(flags, &mut flag).ok()?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            span_id,
            flags: flag[0],
        })
    }

    /// The trace id as 32 lower-case hex digits.
    pub fn trace_id_hex(&self) -> String {
        const_hex::encode(self.trace_id)
    }
}

/// Everything weir knows about the request a batch arrived in.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The tenant the batch belongs to.
    pub tenant: TenantId,
    /// The request id (client-supplied or generated), echoed to the client.
    pub request_id: RequestId,
    /// The export request's own `traceparent`, when it carried a valid one.
    pub traceparent: Option<TraceParent>,
    /// The receiver component id that took the request (`otlp`, `otlp/internal`).
    pub receiver: Arc<str>,
    /// `grpc` or `http`.
    pub transport: &'static str,
    /// Monotonic arrival time, for latency measurement.
    pub received_at: Instant,
    /// Wall-clock arrival time.
    pub received_wall: SystemTime,
    /// Size of the request body after decompression, in bytes.
    pub body_bytes: usize,
    /// The request is weir's own telemetry (marked by the sending weir): never traced again.
    pub self_telemetry: bool,
}

impl RequestContext {
    /// A context for a request that has just arrived.
    pub fn new(
        tenant: TenantId,
        request_id: RequestId,
        receiver: Arc<str>,
        transport: &'static str,
    ) -> Self {
        Self {
            tenant,
            request_id,
            traceparent: None,
            receiver,
            transport,
            received_at: Instant::now(),
            received_wall: SystemTime::now(),
            body_bytes: 0,
            self_telemetry: false,
        }
    }

    /// A context for data weir makes itself (its own spans): tenant `default`, a generated
    /// request id, receiver `internal`.
    pub fn internal() -> Self {
        Self::new(
            TenantId::default_tenant(),
            RequestId::generate(),
            Arc::from("internal"),
            "internal",
        )
    }

    /// A context for tests and tools: tenant `default`, a generated request id.
    pub fn for_tests() -> Self {
        Self::new(
            TenantId::default_tenant(),
            RequestId::generate(),
            Arc::from("test"),
            "test",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_rules_follow_loki_and_mimir() {
        assert!(TenantId::new("team-a_1.prod").is_ok());
        assert!(TenantId::new("a!*'()").is_ok());
        assert_eq!(TenantId::new(""), Err(TenantIdError::Empty));
        assert_eq!(TenantId::new(".."), Err(TenantIdError::Reserved));
        assert_eq!(TenantId::new("a/b"), Err(TenantIdError::BadChar('/')));
        assert_eq!(TenantId::new("a b"), Err(TenantIdError::BadChar(' ')));
        assert_eq!(
            TenantId::new(&"x".repeat(151)),
            Err(TenantIdError::TooLong(151))
        );
        assert!(TenantId::new(&"x".repeat(150)).is_ok());
    }

    #[test]
    fn request_id_kept_when_printable_and_short() {
        let id = RequestId::from_client(Some(b"abc-123"));
        assert_eq!(id.as_str(), "abc-123");
        assert!(!id.is_generated());
    }

    #[test]
    fn request_id_generated_when_missing_or_unusable() {
        for bad in [
            None,
            Some(&b""[..]),
            Some(&b"has space"[..]),
            Some(&b"ctl\x01"[..]),
            Some("é".as_bytes()),
        ] {
            let id = RequestId::from_client(bad);
            assert!(id.is_generated(), "{bad:?}");
            let uuid = uuid::Uuid::parse_str(id.as_str()).expect("uuid");
            assert_eq!(uuid.get_version_num(), 7);
        }
        let long = vec![b'a'; MAX_REQUEST_ID_LEN + 1];
        assert!(RequestId::from_client(Some(&long)).is_generated());
        let max = vec![b'a'; MAX_REQUEST_ID_LEN];
        assert!(!RequestId::from_client(Some(&max)).is_generated());
    }

    #[test]
    fn traceparent_parses_valid_and_rejects_the_rest() {
        let tp = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .expect("valid");
        assert_eq!(tp.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(tp.flags, 1);
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }
}
