//! Reading a backend's answer over HTTP the same way in every HTTP exporter: which statuses are
//! worth sending again (`RetryOn`), `Retry-After` (whole seconds or an HTTP date), the body
//! read up to a bound, the backend's text cleaned for errors and log lines, and a failure to
//! get any answer at all.
//!
//! Nothing here fails on its own: `refused` and `send_error` turn what happened into the
//! [`ExportError`] the delivery engine acts on (retryable, with the backend's `retry_after`, or
//! permanent); `read_body` returns reqwest's error for the caller to weigh. Each exporter
//! writes its own message, with its name and id.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode, header};
use weir_pipeline::ExportError;

/// Longest backend message (in bytes) kept in an error or a log line.
const MAX_MESSAGE_BYTES: usize = 256;

/// Which non-2xx statuses are worth sending again. Every status not retried (redirects
/// included: they are not followed) is permanent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryOn {
    /// 429, 502, 503 and 504, the list of the OTLP/HTTP specification: a 500 will not go away
    /// by sending the same data again.
    OtlpStatuses,
    /// 429 and every 5xx, as Loki's clients and the Prometheus remote write specification do.
    RateLimitAndServerErrors,
}

impl RetryOn {
    /// True when an answer with `status` should be retried.
    pub(crate) fn retries(self, status: StatusCode) -> bool {
        match self {
            RetryOn::OtlpStatuses => matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            ),
            RetryOn::RateLimitAndServerErrors => {
                status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            }
        }
    }
}

/// The export's error for a non-2xx answer with `status` and `headers`: retryable when
/// `retry_on` says so, waiting as its `Retry-After` asks, permanent otherwise. `what` is the
/// message.
pub(crate) fn refused(
    status: StatusCode,
    headers: &HeaderMap,
    retry_on: RetryOn,
    what: String,
) -> ExportError {
    if retry_on.retries(status) {
        ExportError::Retryable {
            source: what.into(),
            retry_after: retry_after(headers, SystemTime::now()),
        }
    } else {
        ExportError::permanent(what)
    }
}

/// A failure to get any answer from exporter `id` of kind `exporter` (`otlphttp`, `loki`, ...):
/// retryable (no connection, a reset, no answer within `timeout`) unless the request itself
/// could not be built.
pub(crate) fn send_error(
    exporter: &str,
    id: &str,
    timeout: Duration,
    e: reqwest::Error,
) -> ExportError {
    if e.is_timeout() {
        return ExportError::retryable(format!(
            "{exporter} exporter {id}: no answer within {timeout:?}"
        ));
    }
    let permanent = e.is_builder();
    // Without the URL: a user may have put a credential in its query.
    let what = format!(
        "{exporter} exporter {id}: {}",
        error_chain(&e.without_url())
    );
    if permanent {
        ExportError::permanent(what)
    } else {
        ExportError::retryable(what)
    }
}

/// The first `limit` bytes of the response's body (the rest is not read), or reqwest's error
/// when the body could not be read.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - out.len();
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

/// `Retry-After` as a wait: whole seconds, or an HTTP date (a date in the past is no wait).
/// `None` without the header or with a value that is neither.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// At most [`MAX_MESSAGE_BYTES`] of `text` (cut at a character boundary), with control
/// characters replaced by spaces so that a backend's message cannot break a log line, and
/// credentials masked ([`weir_pipeline::scrub`]).
pub(crate) fn clean(text: &str) -> String {
    let mut end = text.len().min(MAX_MESSAGE_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    // Backends echo what they were sent: credentials are masked before anyone logs this.
    weir_pipeline::scrub::scrub(&text[..end])
}

/// An error and its causes, `outer: inner: ...`.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with_retry_after(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let at = |v| retry_after(&with_retry_after(v), now);
        assert_eq!(at("7"), Some(Duration::from_secs(7)));
        // 1445412480 is Wed, 21 Oct 2015 07:28:00 GMT.
        assert_eq!(
            at("Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(at("Wed, 21 Oct 2015 07:27:00 GMT"), Some(Duration::ZERO));
        assert_eq!(at("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn otlp_retries_fewer_statuses_than_loki_and_remote_write() {
        let otlp = |s: u16| RetryOn::OtlpStatuses.retries(StatusCode::from_u16(s).expect("status"));
        let wide = |s: u16| {
            RetryOn::RateLimitAndServerErrors.retries(StatusCode::from_u16(s).expect("status"))
        };
        for s in [429, 502, 503, 504] {
            assert!(otlp(s) && wide(s), "{s}");
        }
        for s in [500, 501, 505, 599] {
            assert!(!otlp(s) && wide(s), "{s}");
        }
        for s in [302, 400, 401, 404, 413] {
            assert!(!otlp(s) && !wide(s), "{s}");
        }
    }

    #[test]
    fn refusals_carry_retry_after_only_when_retryable() {
        let h = with_retry_after("3");
        let what = || "x".to_owned();
        match refused(
            StatusCode::SERVICE_UNAVAILABLE,
            &h,
            RetryOn::OtlpStatuses,
            what(),
        ) {
            ExportError::Retryable { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(3)));
            }
            other => panic!("{other}"),
        }
        let err = refused(
            StatusCode::BAD_REQUEST,
            &h,
            RetryOn::RateLimitAndServerErrors,
            what(),
        );
        assert!(!err.is_retryable(), "{err}");
    }

    #[test]
    fn clean_cuts_at_a_char_boundary_and_removes_control_characters() {
        let long = "é".repeat(200);
        let cut = clean(&long);
        assert!(cut.len() <= MAX_MESSAGE_BYTES && cut.len() >= MAX_MESSAGE_BYTES - 1);
        assert_eq!(clean("a\nb\tc"), "a b c");
        assert_eq!(
            clean("denied: Bearer abc.def for https://u:pw@host/x"),
            "denied: Bearer [REDACTED] for https://[REDACTED]@host/x"
        );
    }
}
