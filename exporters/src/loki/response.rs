//! Reading Loki's answer to a push: 2xx is success; 429 and 5xx are retryable (with
//! `Retry-After`); every other status is permanent, because Loki stores the valid entries of a
//! push it answers 400, so resending would duplicate them and never fix the rest.
//!
//! A 400 whose body says how many entries Loki refused, and why ([`refused`](super::refused):
//! Loki's `N errors like: …` validation errors, or an ingester's `total ignored: N`), is a
//! success that rejects those records by reason ([`Sent`], reason labels
//! `loki_<reason word>`, capped at the push's records); the engine counts them in
//! `weir_records_dropped_total` and the rest as sent. A 400 that does not say (an unknown
//! message, a stream the push did not have, no body) stays permanent: the whole push is lost.
//!
//! Each refusal is classified by a reason word from Loki's message, counted in [`Refusals`]
//! (once per answer and reason it names), and logged at warn with at most 256 bytes of that
//! message.

use std::sync::atomic::{AtomicU64, Ordering};

use http::StatusCode;
use weir_pipeline::{ExportError, Sent};

use super::refused::{self, Pushed};
use crate::shared::http::response::{RetryOn, clean, read_body, refused};

/// Most of an error body read: Loki writes one message per refused entry (some 150 bytes), so
/// this holds several thousand; a longer body is not counted (the push counts as lost).
const MAX_BODY: usize = 1 << 20;

/// Why Loki refused a push, as a word for logs and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// An entry older than `reject_old_samples_max_age`.
    TooOld,
    /// An entry newer than now plus `creation_grace_period`.
    TooNew,
    /// An entry too far behind the newest of its stream (or out of order on old Loki).
    OutOfOrder,
    /// A line longer than `max_line_size`.
    LineTooLong,
    /// Labels Loki cannot take: unparseable, missing, too many, too long, duplicated.
    BadLabels,
    /// Structured metadata Loki refuses: disallowed, too large, too many entries.
    StructuredMetadata,
    /// 429: ingestion or per-stream rate limit, or the active stream limit.
    RateLimited,
    /// Anything else (5xx, 401, 404, ...).
    Other,
}

impl Reason {
    /// Every reason, in the order `Refusals` counts them.
    pub const ALL: [Reason; 8] = [
        Reason::TooOld,
        Reason::TooNew,
        Reason::OutOfOrder,
        Reason::LineTooLong,
        Reason::BadLabels,
        Reason::StructuredMetadata,
        Reason::RateLimited,
        Reason::Other,
    ];

    /// The reason word: `too_old`, `too_new`, `out_of_order`, `line_too_long`, `bad_labels`,
    /// `structured_metadata`, `rate_limited` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::TooOld => "too_old",
            Reason::TooNew => "too_new",
            Reason::OutOfOrder => "out_of_order",
            Reason::LineTooLong => "line_too_long",
            Reason::BadLabels => "bad_labels",
            Reason::StructuredMetadata => "structured_metadata",
            Reason::RateLimited => "rate_limited",
            Reason::Other => "other",
        }
    }

    /// The `reason` label of records Loki refused for this reason inside a partial success
    /// (`weir_records_dropped_total{reason}`): the reason word prefixed `loki_`, so it reads
    /// apart from the engine's own reasons (`permanent`, `retries_exhausted`, ...).
    pub fn dropped_label(self) -> &'static str {
        match self {
            Reason::TooOld => "loki_too_old",
            Reason::TooNew => "loki_too_new",
            Reason::OutOfOrder => "loki_out_of_order",
            Reason::LineTooLong => "loki_line_too_long",
            Reason::BadLabels => "loki_bad_labels",
            Reason::StructuredMetadata => "loki_structured_metadata",
            Reason::RateLimited => "loki_rate_limited",
            Reason::Other => "loki_other",
        }
    }

    /// The reason of an answer with `status` and Loki's `message` (the first line that names
    /// one decides).
    pub fn classify(status: StatusCode, message: &str) -> Reason {
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Reason::RateLimited;
        }
        if status != StatusCode::BAD_REQUEST {
            return Reason::Other;
        }
        message
            .lines()
            .map(|l| l.to_ascii_lowercase())
            .find_map(|l| {
                let has = |needles: &[&str]| needles.iter().any(|n| l.contains(n));
                if has(&["timestamp too old", "greater_than_max_sample_age"]) {
                    Some(Reason::TooOld)
                } else if has(&["timestamp too new", "too_far_in_future"]) {
                    Some(Reason::TooNew)
                } else if has(&["structured metadata"]) {
                    Some(Reason::StructuredMetadata)
                } else if has(&["out of order", "too far behind"]) {
                    Some(Reason::OutOfOrder)
                } else if has(&["max entry size", "line too long", "line_too_long"]) {
                    Some(Reason::LineTooLong)
                } else if has(&[
                    "parsing labels",
                    "invalid label",
                    "label pair is required",
                    "label name",
                    "label value too long",
                    "duplicate label",
                ]) {
                    Some(Reason::BadLabels)
                } else {
                    None
                }
            })
            .unwrap_or(Reason::Other)
    }

    fn index(self) -> usize {
        let last = Reason::ALL.len() - 1;
        Reason::ALL.iter().position(|r| *r == self).unwrap_or(last)
    }
}

/// Answers naming each reason, since the exporter was built.
#[derive(Debug, Default)]
pub(crate) struct Refusals([AtomicU64; Reason::ALL.len()]);

impl Refusals {
    pub(crate) fn add(&self, reason: Reason) {
        self.0[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(&self, reason: Reason) -> u64 {
        self.0[reason.index()].load(Ordering::Relaxed)
    }
}

/// Turns Loki's answer to a push of `pushed` into the push's result, counting and logging a
/// refusal.
pub(crate) async fn answer(
    id: &str,
    tenant: &str,
    mut response: reqwest::Response,
    refusals: &Refusals,
    pushed: &Pushed,
) -> Result<Sent, ExportError> {
    let status = response.status();
    if status.is_success() {
        return Ok(Sent::all());
    }
    let headers = std::mem::take(response.headers_mut());
    let body = read_body(response, MAX_BODY).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let message = clean(text.trim());
    // A body cut at MAX_BODY may have lost some of its counts.
    if status == StatusCode::BAD_REQUEST
        && body.len() < MAX_BODY
        && let Some(parts) = refused::parse(&text, pushed)
    {
        let sent = rejecting(&parts, pushed.entries());
        for (reason, _) in &parts {
            refusals.add(*reason);
        }
        tracing::warn!(
            exporter = id,
            tenant,
            status = status.as_u16(),
            records = pushed.entries(),
            refused = ?sent.rejected,
            backend_message = %message,
            "loki refused part of the push"
        );
        return Ok(sent);
    }
    let reason = Reason::classify(status, &text);
    refusals.add(reason);
    tracing::warn!(
        exporter = id,
        tenant,
        status = status.as_u16(),
        reason = reason.as_str(),
        backend_message = %message,
        "loki refused the push"
    );
    let what = format!(
        "loki exporter {id}: HTTP {status} ({}): {message}",
        reason.as_str()
    );
    // Permanent for a 400: Loki stored the valid entries of the push, and said nothing of how
    // many it refused.
    Err(refused(
        status,
        &headers,
        RetryOn::RateLimitAndServerErrors,
        what,
    ))
}

/// The success that rejects `parts` (records per reason) of a push of `records`, capped so
/// that no more than `records` are rejected in all.
fn rejecting(parts: &[(Reason, u64)], records: u64) -> Sent {
    let mut sent = Sent::all();
    let mut left = records;
    for (reason, n) in parts {
        let n = (*n).min(left);
        left -= n;
        sent.reject(reason.dropped_label(), n);
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loki_messages_are_classified() {
        let bad = StatusCode::BAD_REQUEST;
        for (message, want) in [
            (
                "entry for stream '{app=\"a\"}' has timestamp too old: 2020-01-01, oldest \
                 acceptable timestamp is: 2024-01-01",
                Reason::TooOld,
            ),
            (
                "entry with timestamp 2024 ignored, reason: 'entry too far behind, oldest \
                 acceptable timestamp is: 2024',\ntotal ignored: 1 out of 2",
                Reason::OutOfOrder,
            ),
            ("entry out of order", Reason::OutOfOrder),
            (
                "Max entry size '262144' bytes exceeded for stream '{a=\"b\"}' while adding an \
                 entry with length '300000' bytes",
                Reason::LineTooLong,
            ),
            (
                "Error parsing labels '{a=b}' with error: parse error",
                Reason::BadLabels,
            ),
            (
                "error at least one label pair is required per stream",
                Reason::BadLabels,
            ),
            (
                "stream '{a=\"b\"}' has label name too long: 'x'",
                Reason::BadLabels,
            ),
            (
                "stream '{a=\"b\"}' includes structured metadata, but this feature is disallowed",
                Reason::StructuredMetadata,
            ),
            (
                "entry for stream '{a=\"b\"}' has timestamp too new: 2099-01-01T00:00:00Z",
                Reason::TooNew,
            ),
            ("", Reason::Other),
        ] {
            assert_eq!(Reason::classify(bad, message), want, "{message}");
        }
        assert_eq!(
            Reason::classify(
                StatusCode::TOO_MANY_REQUESTS,
                "Ingestion rate limit exceeded"
            ),
            Reason::RateLimited
        );
        assert_eq!(
            Reason::classify(StatusCode::INTERNAL_SERVER_ERROR, "timestamp too old"),
            Reason::Other
        );
        let words: Vec<_> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            words,
            [
                "too_old",
                "too_new",
                "out_of_order",
                "line_too_long",
                "bad_labels",
                "structured_metadata",
                "rate_limited",
                "other"
            ]
        );
        for r in Reason::ALL {
            assert_eq!(r.dropped_label(), format!("loki_{}", r.as_str()));
        }
    }

    #[test]
    fn rejections_are_capped_at_the_records_pushed() {
        let sent = rejecting(&[(Reason::TooOld, 4), (Reason::LineTooLong, 3)], 5);
        assert_eq!(
            sent.rejected,
            [("loki_too_old", 4), ("loki_line_too_long", 1)]
        );
        let sent = rejecting(&[(Reason::TooOld, 2)], 5);
        assert_eq!(sent.rejected, [("loki_too_old", 2)]);
    }
}
