//! How a refusal, or a partial success ([`partial`]), is said on each transport, as the OTLP
//! specification asks.
//!
//! HTTP: 400 malformed or invalid, 401/403 identity, 413 too large, 415 unknown content type,
//! 429 rate limited and 503 unavailable (both with `Retry-After` in whole seconds); the body is a
//! `google.rpc.Status` in the request's encoding. gRPC: INVALID_ARGUMENT, UNAUTHENTICATED,
//! PERMISSION_DENIED, RESOURCE_EXHAUSTED (+ `google.rpc.RetryInfo`), UNAVAILABLE.

use std::time::Duration;

use http::StatusCode;
use tonic::Code;
use weir_pipeline::RefusalKind;
use weir_pipeline::pipeline::Accepted;

/// `(rejected, error_message)` for an answer's `partial_success`, on either transport, or `None`
/// when the whole request was taken without a message (the specification asks for no
/// `partial_success` then).
pub fn partial(accepted: &Accepted) -> Option<(i64, String)> {
    (accepted.rejected > 0 || accepted.message.is_some()).then(|| {
        (
            i64::try_from(accepted.rejected).unwrap_or(i64::MAX),
            accepted.message.clone().unwrap_or_default(),
        )
    })
}

/// The HTTP status of a refusal kind.
pub fn http_status(kind: RefusalKind) -> StatusCode {
    match kind {
        RefusalKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        RefusalKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        RefusalKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        RefusalKind::Forbidden => StatusCode::FORBIDDEN,
        RefusalKind::Invalid => StatusCode::BAD_REQUEST,
    }
}

/// The gRPC code of a refusal kind.
pub fn grpc_code(kind: RefusalKind) -> Code {
    match kind {
        RefusalKind::RateLimited => Code::ResourceExhausted,
        RefusalKind::Unavailable => Code::Unavailable,
        RefusalKind::Unauthenticated => Code::Unauthenticated,
        RefusalKind::Forbidden => Code::PermissionDenied,
        RefusalKind::Invalid => Code::InvalidArgument,
    }
}

/// `Retry-After` in whole seconds, rounded up, at least 1.
pub fn retry_after_secs(d: Option<Duration>) -> u64 {
    let d = d.unwrap_or(Duration::from_secs(1));
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1)
}

/// The google.rpc code number of an HTTP status, for the `code` field of the Status body.
pub fn rpc_code_for_http(status: StatusCode) -> Code {
    match status.as_u16() {
        400 | 415 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        413 | 429 => Code::ResourceExhausted,
        503 => Code::Unavailable,
        _ => Code::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(None), 1);
        assert_eq!(retry_after_secs(Some(Duration::from_millis(10))), 1);
        assert_eq!(retry_after_secs(Some(Duration::from_millis(1500))), 2);
        assert_eq!(retry_after_secs(Some(Duration::from_secs(3))), 3);
    }

    #[test]
    fn retryable_kinds_map_to_retryable_codes() {
        assert_eq!(http_status(RefusalKind::RateLimited).as_u16(), 429);
        assert_eq!(http_status(RefusalKind::Unavailable).as_u16(), 503);
        assert_eq!(grpc_code(RefusalKind::RateLimited), Code::ResourceExhausted);
        assert_eq!(grpc_code(RefusalKind::Unavailable), Code::Unavailable);
    }
}
