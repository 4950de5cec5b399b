//! Event ids of the `sentry` exporter: derived, never random, so that a resent event is the
//! same event to Sentry.
//!
//! - [`record_id`]: the id of one record (a span's `exception` event, a log record, a root
//!   span); the same record resent gives the same id, so a retried bundle skips what Sentry
//!   took.
//! - [`exception_id`]: the id of one exception seen in one span, from (trace id, span id,
//!   exception type, exception value). A span's `exception` event and an ERROR log written
//!   while handling that exception in that span (Python's `log.exception` inside a span)
//!   arrive in different signals, seconds apart, maybe through different replicas, and still
//!   name one event. It is a SHA-256 of a fixed layout, not the standard library's hasher,
//!   which may change between builds, so replicas of different builds agree.
//!
//! The copies of one exception do not always describe it alike: Python's logging handler
//! writes `exception.type` as the class name (`PaymentDeclined`) where `span.record_exception`
//! writes its module path too (`shop.errors.PaymentDeclined`), and `exception.message` as the
//! first argument (`sku`) where the span has the exception as text (`'sku'` for a `KeyError`).
//! So the type and value are read from the last line of the `exception.stacktrace` when it
//! was understood (the same text in every copy), else from the attributes, and the type is
//! taken without its module path. Nothing here fails.

use std::hash::{DefaultHasher, Hash, Hasher};

use sentry_types::Uuid;
use sha2::{Digest, Sha256};
use weir_pipeline::correlation;

/// The outermost exception of a record, as its id sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Identity {
    /// Its type, as the stack trace or `exception.type` names it.
    pub ty: Option<String>,
    /// Its value, as the stack trace or `exception.message` gives it.
    pub value: Option<String>,
}

/// A stable id from what identifies a record: the same record gives the same id. Within one
/// build only (the standard library's hasher): it tells a retry from a new record.
pub(crate) fn record_id(parts: &dyn Fn(&mut DefaultHasher)) -> Uuid {
    let mut halves = [0u64; 2];
    for (salt, half) in halves.iter_mut().enumerate() {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        parts(&mut h);
        *half = h.finish();
    }
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&halves[0].to_be_bytes());
    bytes[8..].copy_from_slice(&halves[1].to_be_bytes());
    uuid_v4(bytes)
}

/// The event id of the exception `identity` recorded in span `span_id` of trace `trace_id`.
/// `None` when either id is missing or all zero, or `identity` has neither type nor value.
pub(crate) fn exception_id(
    trace_id: &[u8],
    span_id: &[u8],
    identity: Option<&Identity>,
) -> Option<Uuid> {
    let trace_id = correlation::valid_id(trace_id, 16)?;
    let span_id = correlation::valid_id(span_id, 8)?;
    let identity = identity?;
    let ty = identity.ty.as_deref().map(short_type);
    let value = identity.value.as_deref().map(str::trim);
    if ty.is_none() && value.is_none() {
        return None;
    }
    let mut h = Sha256::new();
    h.update(b"weir.sentry.exception\0");
    h.update(trace_id);
    h.update(span_id);
    for part in [ty, value] {
        match part {
            Some(text) => {
                h.update([1]);
                h.update((text.len() as u64).to_be_bytes());
                h.update(text.as_bytes());
            }
            None => h.update([0]),
        }
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Some(uuid_v4(bytes))
}

/// A type name without its module or package path: `shop.errors.PaymentDeclined`,
/// `__main__.PaymentDeclined` and `PaymentDeclined` are one type.
fn short_type(ty: &str) -> &str {
    let ty = ty.trim();
    ty.rsplit(['.', ':']).find(|s| !s.is_empty()).unwrap_or(ty)
}

/// `bytes` as a version 4, RFC 4122 variant UUID, as SDKs send.
fn uuid_v4(mut bytes: [u8; 16]) -> Uuid {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: [u8; 16] = [0xab; 16];
    const SPAN: [u8; 8] = [2; 8];

    fn of(ty: &str, value: &str) -> Identity {
        Identity {
            ty: Some(ty.into()),
            value: Some(value.into()),
        }
    }

    #[test]
    fn the_type_is_compared_without_its_module_path() {
        let id = |ty: &str| exception_id(&TRACE, &SPAN, Some(&of(ty, "declined")));
        assert!(id("PaymentDeclined").is_some());
        assert_eq!(id("PaymentDeclined"), id("shop.errors.PaymentDeclined"));
        assert_eq!(id("PaymentDeclined"), id("__main__.PaymentDeclined"));
        assert_eq!(id("Error"), id("std::io::Error"));
        assert_ne!(id("PaymentDeclined"), id("PaymentFailed"));
    }

    #[test]
    fn no_trace_context_or_no_exception_is_no_shared_id() {
        let e = of("ValueError", "boom");
        assert_eq!(exception_id(&[], &SPAN, Some(&e)), None);
        assert_eq!(exception_id(&TRACE, &[0; 8], Some(&e)), None);
        assert_eq!(exception_id(&TRACE, &SPAN, None), None);
        assert_eq!(
            exception_id(&TRACE, &SPAN, Some(&Identity::default())),
            None
        );
        let v4 = exception_id(&TRACE, &SPAN, Some(&e)).map(|u| u.get_version_num());
        assert_eq!(v4, Some(4));
    }

    #[test]
    fn type_and_value_do_not_run_into_each_other() {
        let a = exception_id(&TRACE, &SPAN, Some(&of("A", "Bc")));
        let b = exception_id(&TRACE, &SPAN, Some(&of("AB", "c")));
        assert_ne!(a, b);
        let only_value = Identity {
            ty: None,
            value: Some("A".into()),
        };
        let only_type = Identity {
            ty: Some("A".into()),
            value: None,
        };
        assert_ne!(
            exception_id(&TRACE, &SPAN, Some(&only_value)),
            exception_id(&TRACE, &SPAN, Some(&only_type))
        );
    }
}
