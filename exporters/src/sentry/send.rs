//! Sending a bundle's items as envelopes and reading Sentry's answers: rate limits first
//! (dropped and counted, never retried), then copies of an event sent or being sent within
//! `dedupe_window` (skipped and counted, not lost), then the envelopes of the rest, a few at a
//! time.
//!
//! Each answer's `X-Sentry-Rate-Limits` (or a 429's `Retry-After`) updates the limits. Items
//! Sentry took, or that were skipped or dropped, are remembered for a while by record id so
//! that a retried bundle skips them; a copy of the same exception from another record is told
//! apart by that id and goes through the dedupe window instead.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use flate2::Compression as Level;
use flate2::write::GzEncoder;
use futures::StreamExt;
use http::{StatusCode, header};
use sentry_types::Uuid;
use sentry_types::protocol::v7::{Envelope, EnvelopeHeaders};
use weir_pipeline::{Bundle, ExportError, Sent};

use super::plan::{self, Item};
use super::{Compression, Inner, MAX_IN_FLIGHT};
use crate::otlp::error_chain;

/// How long a record id stays remembered: longer than the engine retries a bundle.
const SETTLED_FOR: Duration = Duration::from_secs(30 * 60);
/// Most record ids remembered; past it the oldest are forgotten first, then all.
const MAX_SETTLED: usize = 100_000;
/// Most of an error answer read (for the debug log).
const MAX_ERROR_BODY: usize = 1024;

/// What became of one item.
enum Outcome {
    Sent,
    RateLimited(u64),
    Refused(u64),
    Retry(String, Option<Duration>),
}

/// Sends `bundle`: Ok unless some item may be taken later (then Retryable).
pub(crate) async fn export(inner: &Inner, bundle: &Bundle) -> Result<Sent, ExportError> {
    let signal = bundle.kind().as_str();
    let tenant = bundle.tenant();
    let plan = plan::build(inner, bundle);
    let now = (inner.clock)();
    let mut limited = 0;
    let mut repeats = 0;
    let mut items = Vec::with_capacity(plan.items.len());
    for item in plan.items {
        if inner.is_settled(&item.record) {
            continue;
        }
        if inner.limits.is_limited(item.target, item.category, now) {
            limited += item.records;
            inner.settle(item.record, now);
            continue;
        }
        // A copy of an event sent (or being sent) within the window.
        if !inner.recent.claim(item.event_id, now) {
            repeats += 1;
            inner.settle(item.record, now);
            continue;
        }
        items.push(item);
    }
    inner.count_deduplicated(repeats);
    let outcomes: Vec<Outcome> = futures::stream::iter(items)
        .map(|item| inner.send(item))
        .buffer_unordered(MAX_IN_FLIGHT)
        .collect()
        .await;
    let mut refused = 0;
    let mut retry: Option<(String, Option<Duration>)> = None;
    for outcome in outcomes {
        match outcome {
            Outcome::Sent => {}
            Outcome::RateLimited(n) => limited += n,
            Outcome::Refused(n) => refused += n,
            Outcome::Retry(what, after) => {
                let after = match &retry {
                    Some((_, prev)) => (*prev).max(after),
                    None => after,
                };
                retry = Some((what, after));
            }
        }
    }
    match retry {
        Some((what, retry_after)) => {
            // This bundle will be sent again, skipping what is settled: count those drops now.
            inner.count_dropped(signal, tenant, "rate_limited", limited);
            inner.count_dropped(signal, tenant, "permanent", refused);
            Err(ExportError::Retryable {
                source: what.into(),
                retry_after,
            })
        }
        None => {
            // Records with no DSN are found again by every attempt: counted once, here.
            let mut sent = Sent::rejecting("no_dsn", plan.no_dsn);
            sent.reject("rate_limited", limited);
            sent.reject("permanent", refused);
            Ok(sent)
        }
    }
}

impl Inner {
    fn is_settled(&self, id: &Uuid) -> bool {
        self.settled.lock().contains_key(id)
    }

    fn settle(&self, id: Uuid, now: Instant) {
        let mut settled = self.settled.lock();
        if settled.len() >= MAX_SETTLED {
            settled.retain(|_, at| now.saturating_duration_since(*at) < SETTLED_FOR);
            if settled.len() >= MAX_SETTLED {
                settled.clear();
            }
        }
        settled.insert(id, now);
    }

    /// The body of the envelope of `item`, compressed as configured.
    fn body(&self, item: Item) -> std::io::Result<Vec<u8>> {
        let headers = EnvelopeHeaders::new()
            .with_event_id(item.event_id)
            .with_sent_at(SystemTime::now());
        let mut envelope = Envelope::new().with_headers(headers);
        envelope.add_item(item.payload);
        match self.compression {
            Compression::None => {
                let mut out = Vec::new();
                envelope.to_writer(&mut out)?;
                Ok(out)
            }
            Compression::Gzip => {
                // Level 1: most of gzip's gain on JSON for a fraction of the CPU.
                let mut gz = GzEncoder::new(Vec::new(), Level::fast());
                envelope.to_writer(&mut gz)?;
                gz.flush()?;
                gz.finish()
            }
        }
    }

    /// Sends `item`; when Sentry did not take it, its event id is forgotten by the dedupe
    /// window, so that a later copy may go.
    async fn send(&self, item: Item) -> Outcome {
        let event_id = item.event_id;
        let outcome = self.send_one(item).await;
        if !matches!(outcome, Outcome::Sent) {
            self.recent.forget(&event_id);
        }
        outcome
    }

    async fn send_one(&self, item: Item) -> Outcome {
        let (target_index, category, records, id) =
            (item.target, item.category, item.records, item.record);
        // Another envelope's answer may have limited this category meanwhile.
        if self
            .limits
            .is_limited(target_index, category, (self.clock)())
        {
            self.settle(id, (self.clock)());
            return Outcome::RateLimited(records);
        }
        let Some(target) = self.targets.get(target_index) else {
            return Outcome::Refused(records);
        };
        let body = match self.body(item) {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(exporter = %self.id, error = %e, "sentry envelope could not be encoded");
                return Outcome::Refused(records);
            }
        };
        let mut request = self
            .client
            .post(target.url.clone())
            .timeout(self.timeout)
            .header(header::CONTENT_TYPE, "application/x-sentry-envelope")
            .header("x-sentry-auth", target.auth.clone())
            .body(body);
        if self.compression == Compression::Gzip {
            request = request.header(header::CONTENT_ENCODING, "gzip");
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() {
                    format!(
                        "sentry exporter {}: no answer within {:?}",
                        self.id, self.timeout
                    )
                } else {
                    // Without the URL: it names the project.
                    format!(
                        "sentry exporter {}: {}",
                        self.id,
                        error_chain(&e.without_url())
                    )
                };
                return Outcome::Retry(what, None);
            }
        };
        let status = response.status();
        let now = (self.clock)();
        let limits = self.limits.update(
            target_index,
            status,
            response.headers(),
            now,
            SystemTime::now(),
        );
        for (limited, wait) in &limits {
            tracing::warn!(
                exporter = %self.id,
                target = %target.name,
                category = limited.as_deref().unwrap_or("all"),
                seconds = wait.as_secs_f64(),
                "sentry rate limit: items of this category are dropped until it expires"
            );
        }
        if status.is_success() {
            self.settle(id, now);
            return Outcome::Sent;
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.settle(id, now);
            return Outcome::RateLimited(records);
        }
        let retry_after = super::limits::retry_after(response.headers(), SystemTime::now());
        let body = read_body(response).await;
        tracing::debug!(exporter = %self.id, status = status.as_u16(), answer = %String::from_utf8_lossy(&body), "sentry refused an envelope");
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            let what = format!(
                "sentry exporter {}: HTTP {status} from {}",
                self.id, target.name
            );
            return Outcome::Retry(what, retry_after);
        }
        tracing::warn!(
            exporter = %self.id,
            target = %target.name,
            status = status.as_u16(),
            category,
            "sentry refused an envelope; it is dropped"
        );
        self.settle(id, now);
        Outcome::Refused(records)
    }
}

async fn read_body(mut response: reqwest::Response) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ERROR_BODY - out.len();
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() == MAX_ERROR_BODY {
            break;
        }
    }
    out
}
