//! The codes a client's own faults get on OTLP/gRPC, rewritten from what tonic's decoder says.
//!
//! tonic answers a message it cannot take before the handler runs, trailers-only, with:
//! - INTERNAL for malformed protobuf, invalid UTF-8 in a string, compressed data that does not
//!   inflate, or a body that ends inside a message: these are the client's garbage, not weir's
//!   errors, so they become INVALID_ARGUMENT (as the README and the OTLP specification say).
//!   The one INTERNAL the gRPC compression spec asks for (the compressed flag set with no
//!   `grpc-encoding`) stays INTERNAL;
//! - OUT_OF_RANGE when the length prefix alone passes the limit: OTLP clients retry that code
//!   (the same message, over and over), so it becomes RESOURCE_EXHAUSTED without `RetryInfo`,
//!   which they treat as permanent (grpc-go, and so the Collector, say RESOURCE_EXHAUSTED too).
//!
//! weir's handlers never answer INTERNAL or OUT_OF_RANGE, so only tonic's answers are
//! rewritten. An unsupported `grpc-encoding` stays UNIMPLEMENTED with `grpc-accept-encoding`.
//! This never fails a call.

use http::HeaderValue;
use tonic::body::Body;

/// `grpc-status` of INTERNAL.
const INTERNAL: &[u8] = b"13";
/// `grpc-status` of OUT_OF_RANGE.
const OUT_OF_RANGE: &[u8] = b"11";

/// Rewrites a trailers-only answer's code as the module says.
pub fn client_faults(mut response: http::Response<Body>) -> http::Response<Body> {
    let headers = response.headers_mut();
    let Some(status) = headers.get("grpc-status").map(HeaderValue::as_bytes) else {
        return response;
    };
    let code = match status {
        OUT_OF_RANGE => "8",
        INTERNAL if !flag_without_encoding(headers) => "3",
        _ => return response,
    };
    headers.insert("grpc-status", HeaderValue::from_static(code));
    response
}

/// Whether the answer is the gRPC spec's INTERNAL for a compressed flag without an encoding.
fn flag_without_encoding(headers: &http::HeaderMap) -> bool {
    headers
        .get("grpc-message")
        .is_some_and(|m| m.as_bytes().windows(15).any(|w| w == b"compressed-flag"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: &'static str, message: &'static str) -> http::Response<Body> {
        let mut r = http::Response::new(Body::empty());
        r.headers_mut()
            .insert("grpc-status", HeaderValue::from_static(code));
        r.headers_mut()
            .insert("grpc-message", HeaderValue::from_static(message));
        r
    }

    fn code(r: &http::Response<Body>) -> &[u8] {
        r.headers()
            .get("grpc-status")
            .map_or(b"", HeaderValue::as_bytes)
    }

    #[test]
    fn decoder_faults_are_the_clients() {
        assert_eq!(
            code(&client_faults(answer("13", "invalid%20wire%20type"))),
            b"3"
        );
        assert_eq!(code(&client_faults(answer("11", "too%20large"))), b"8");
        let spec = "protocol%20error:%20received%20message%20with%20compressed-flag%20but%20no%20grpc-encoding";
        assert_eq!(code(&client_faults(answer("13", spec))), b"13");
        assert_eq!(code(&client_faults(answer("12", "x"))), b"12");
        assert_eq!(code(&client_faults(answer("14", "x"))), b"14");
    }
}
