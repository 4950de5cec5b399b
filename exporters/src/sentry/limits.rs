//! Sentry's rate limits, per DSN and data category: `X-Sentry-Rate-Limits` on any answer
//! (`60:transaction;error:organization, 2700::organization`: seconds, categories separated by
//! `;` with none meaning all, then scope, reason and namespaces, which are not needed here),
//! and on a 429 without it, `Retry-After` (seconds or an HTTP date; 60 s when absent) for every
//! category. While a category is limited, its items are dropped before sending.
//!
//! Time comes from a [`Clock`] so that tests can move it; nothing here fails.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, StatusCode, header};
use parking_lot::Mutex;

/// The header Sentry (and Relay) put rate limits in.
pub const RATE_LIMITS_HEADER: &str = "x-sentry-rate-limits";
/// The wait after a 429 that says nothing more.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Longest limit taken from an answer (a bad header must not silence a project for days).
const MAX_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// Where "now" comes from.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The data category of events (errors and messages).
pub const ERROR: &str = "error";
/// The data category of transactions.
pub const TRANSACTION: &str = "transaction";

/// What one answer limited: the category (`None`: all) and for how long.
pub type Limit = (Option<String>, Duration);

/// Limits in force, per target (DSN index) and category.
#[derive(Debug, Default)]
pub struct RateLimits {
    /// `(target, None)` limits every category of a target.
    until: Mutex<HashMap<(usize, Option<String>), Instant>>,
}

impl RateLimits {
    /// True while `category` of `target` is limited at `now`.
    pub fn is_limited(&self, target: usize, category: &str, now: Instant) -> bool {
        let until = self.until.lock();
        [None, Some(category.to_owned())]
            .into_iter()
            .any(|c| until.get(&(target, c)).is_some_and(|t| *t > now))
    }

    /// Takes the limits of an answer with `status` and `headers` for `target`; returns those
    /// that were not already in force (what is worth a log line).
    pub fn update(
        &self,
        target: usize,
        status: StatusCode,
        headers: &HeaderMap,
        now: Instant,
        wall: SystemTime,
    ) -> Vec<Limit> {
        let limits = match headers
            .get(RATE_LIMITS_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            Some(value) => parse(value),
            None if status == StatusCode::TOO_MANY_REQUESTS => {
                let wait = retry_after(headers, wall).unwrap_or(DEFAULT_RETRY_AFTER);
                vec![(None, wait)]
            }
            None => Vec::new(),
        };
        if limits.is_empty() {
            return limits;
        }
        let mut until = self.until.lock();
        until.retain(|_, t| *t > now);
        limits
            .into_iter()
            .filter(|(category, wait)| {
                let end = now + (*wait).min(MAX_LIMIT);
                match until.entry((target, category.clone())) {
                    std::collections::hash_map::Entry::Occupied(mut slot) => {
                        let later = (*slot.get()).max(end);
                        slot.insert(later);
                        false
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(end);
                        true
                    }
                }
            })
            .collect()
    }
}

/// The limits of an `X-Sentry-Rate-Limits` value: `(category or None for all, wait)` for
/// each category of each group. Groups that cannot be read are skipped.
pub fn parse(value: &str) -> Vec<Limit> {
    let mut out = Vec::new();
    for group in value.split(',') {
        let mut fields = group.trim().split(':');
        let Some(Ok(secs)) = fields.next().map(|s| s.trim().parse::<f64>()) else {
            continue;
        };
        if !secs.is_finite() || secs < 0.0 {
            continue;
        }
        let wait = Duration::from_secs_f64(secs.min(MAX_LIMIT.as_secs_f64()));
        let categories = fields.next().unwrap_or("").trim();
        if categories.is_empty() {
            out.push((None, wait));
        } else {
            out.extend(
                categories
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| (Some(c.to_owned()), wait)),
            );
        }
    }
    out
}

/// `Retry-After` as a wait: seconds, or an HTTP date (a date in the past is no wait).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(MAX_LIMIT.as_secs_f64())));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn reads_sentrys_header() {
        let limits = parse(
            "60:transaction;error:organization, 2700::organization, x:y, 1.5:error:key:quota_exceeded:custom",
        );
        assert_eq!(
            limits,
            vec![
                (Some("transaction".into()), Duration::from_secs(60)),
                (Some("error".into()), Duration::from_secs(60)),
                (None, Duration::from_secs(2700)),
                (Some("error".into()), Duration::from_millis(1500)),
            ]
        );
        assert!(parse("").is_empty());
        assert!(parse("-5:error").is_empty());
    }

    #[test]
    fn a_limited_category_expires_and_others_flow() {
        let limits = RateLimits::default();
        let t0 = Instant::now();
        let wall = SystemTime::now();
        let mut h = HeaderMap::new();
        h.insert(
            RATE_LIMITS_HEADER,
            HeaderValue::from_static("10:transaction:project"),
        );
        limits.update(0, StatusCode::OK, &h, t0, wall);
        assert!(limits.is_limited(0, TRANSACTION, t0));
        assert!(!limits.is_limited(0, ERROR, t0));
        assert!(
            !limits.is_limited(1, TRANSACTION, t0),
            "other DSNs are not limited"
        );
        assert!(limits.is_limited(0, TRANSACTION, t0 + Duration::from_secs(9)));
        assert!(!limits.is_limited(0, TRANSACTION, t0 + Duration::from_secs(10)));
        // The same limit again while it is in force is not news, but it is extended.
        let t1 = t0 + Duration::from_secs(5);
        assert!(limits.update(0, StatusCode::OK, &h, t1, wall).is_empty());
        assert!(limits.is_limited(0, TRANSACTION, t0 + Duration::from_secs(14)));
    }

    #[test]
    fn a_bare_429_limits_everything_by_retry_after_or_a_minute() {
        let limits = RateLimits::default();
        let t0 = Instant::now();
        let wall = SystemTime::now();
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        let got = limits.update(0, StatusCode::TOO_MANY_REQUESTS, &h, t0, wall);
        assert_eq!(got, vec![(None, Duration::from_secs(5))]);
        assert!(limits.is_limited(0, ERROR, t0 + Duration::from_secs(4)));
        assert!(!limits.is_limited(0, ERROR, t0 + Duration::from_secs(5)));
        let got = limits.update(
            1,
            StatusCode::TOO_MANY_REQUESTS,
            &HeaderMap::new(),
            t0,
            wall,
        );
        assert_eq!(got, vec![(None, DEFAULT_RETRY_AFTER)]);
        // X-Sentry-Rate-Limits wins over Retry-After.
        h.insert(RATE_LIMITS_HEADER, HeaderValue::from_static("30:error"));
        let got = limits.update(2, StatusCode::TOO_MANY_REQUESTS, &h, t0, wall);
        assert_eq!(got, vec![(Some("error".into()), Duration::from_secs(30))]);
        assert!(!limits.is_limited(2, TRANSACTION, t0));
        // Nothing on a plain success.
        assert!(
            limits
                .update(3, StatusCode::OK, &HeaderMap::new(), t0, wall)
                .is_empty()
        );
    }
}
