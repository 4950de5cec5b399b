//! Admission of one tenant: when it is refused, for how long, and what a refused request spends
//! (nothing).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;

#[test]
fn over_the_rate_is_refused_with_the_time_until_it_would_pass() {
    let (p, clock) = limit("{ records_per_second: 10, burst: 10 }");
    assert!(passed(&send(&p, "a", 10, 0)));
    let o = send(&p, "a", 5, 0);
    assert_eq!(rate_limited(&o), Some(Duration::from_millis(500)));
    let Outcome::Refuse { reason, .. } = &o else {
        unreachable!()
    };
    assert!(
        reason.message.contains("tenant a") && reason.message.contains("10 records per second"),
        "{}",
        reason.message
    );
    clock.advance(Duration::from_millis(499));
    assert_eq!(
        rate_limited(&send(&p, "a", 5, 0)),
        Some(Duration::from_millis(1))
    );
    clock.advance(Duration::from_millis(1));
    assert!(passed(&send(&p, "a", 5, 0)), "passes exactly when it said");
}

#[test]
fn refill_follows_the_rate_up_to_the_burst() {
    let (p, clock) = limit("{ records_per_second: 100, burst: 300 }");
    assert!(passed(&send(&p, "a", 300, 0)));
    assert!(rate_limited(&send(&p, "a", 1, 0)).is_some());
    clock.advance(Duration::from_secs(10));
    // Ten seconds refill the bucket to its burst, not to 1000.
    assert!(passed(&send(&p, "a", 300, 0)));
    assert!(rate_limited(&send(&p, "a", 1, 0)).is_some());
}

#[test]
fn more_records_than_the_burst_are_invalid_naming_the_burst() {
    let (p, clock) = limit("{ records_per_second: 100, burst: 200, requests_per_second: 1 }");
    let o = send(&p, "a", 201, 0);
    let Outcome::Refuse {
        reason,
        retry_after,
    } = &o
    else {
        panic!("{o:?}")
    };
    assert_eq!(
        reason.kind,
        RefusalKind::Invalid,
        "never passes, so not retryable"
    );
    assert_eq!(*retry_after, None);
    assert!(
        reason.message.contains("201 records")
            && reason.message.contains("burst of 200 records (burst)"),
        "{}",
        reason.message
    );
    // Not even after a long quiet spell: the bucket never holds more than the burst.
    clock.advance(Duration::from_secs(3600));
    assert!(
        matches!(send(&p, "a", 201, 0), Outcome::Refuse { reason, .. } if reason.kind == RefusalKind::Invalid)
    );
    // The refused requests spent nothing: the request limit (1/s, burst 1) still has its token.
    assert!(passed(&send(&p, "a", 200, 0)));
}

#[test]
fn a_body_larger_than_bytes_burst_is_invalid_naming_bytes_burst() {
    let (p, _) = limit("{ bytes_per_second: 1000, bytes_burst: 4096 }");
    let o = send(&p, "a", 1, 4097);
    let Outcome::Refuse { reason, .. } = &o else {
        panic!("{o:?}")
    };
    assert_eq!(reason.kind, RefusalKind::Invalid);
    assert!(
        reason.message.contains("(bytes_burst)"),
        "{}",
        reason.message
    );
    assert!(passed(&send(&p, "a", 1, 4096)));
    // A request the receiver did not measure spends no bytes.
    assert!(passed(&send(&p, "a", 1, 0)));
}

#[test]
fn a_request_refused_by_one_limit_spends_none_of_the_others() {
    let (p, clock) =
        limit("{ records_per_second: 10, burst: 10, bytes_per_second: 100, bytes_burst: 100 }");
    assert!(passed(&send(&p, "a", 5, 80)));
    // Refused by bytes (20 left); its 5 records must not be spent.
    let wait = rate_limited(&send(&p, "a", 5, 80)).expect("over bytes");
    assert_eq!(wait, Duration::from_millis(600), "60 more bytes at 100/s");
    // So 5 records are still there ...
    assert!(passed(&send(&p, "a", 5, 10)));
    // ... and now none are: refused by records, whose wait (100 ms for 1 record) is reported.
    assert_eq!(
        rate_limited(&send(&p, "a", 1, 1)),
        Some(Duration::from_millis(100))
    );
    clock.advance(Duration::from_millis(100));
    assert!(passed(&send(&p, "a", 1, 1)));
}

#[test]
fn the_longest_wait_over_the_broken_limits_is_reported() {
    let (p, clock) =
        limit("{ records_per_second: 10, burst: 10, requests_per_second: 1, requests_burst: 1 }");
    assert!(passed(&send(&p, "a", 10, 0)));
    // Records would pass in 100 ms, the request limit in 1 s: retry after 1 s.
    let o = send(&p, "a", 1, 0);
    assert_eq!(rate_limited(&o), Some(Duration::from_secs(1)));
    let Outcome::Refuse { reason, .. } = &o else {
        unreachable!()
    };
    assert!(
        reason.message.contains("requests per second"),
        "{}",
        reason.message
    );
    clock.advance(Duration::from_secs(1));
    assert!(passed(&send(&p, "a", 1, 0)));
}

#[test]
fn requests_are_counted_even_without_records() {
    let (p, _) = limit("{ records_per_second: 1, requests_per_second: 2, requests_burst: 2 }");
    assert!(passed(&send(&p, "a", 0, 0)));
    assert!(passed(&send(&p, "a", 1, 0)));
    assert!(rate_limited(&send(&p, "a", 0, 0)).is_some());
}

#[test]
fn overrides_apply_to_their_tenant_only() {
    let (p, _) = limit(
        "{ records_per_second: 100, overrides: { big-co: { records_per_second: 1000 }, small: { burst: 10 } } }",
    );
    assert!(passed(&send(&p, "big-co", 1000, 0)));
    assert!(rate_limited(&send(&p, "big-co", 1, 0)).is_some());
    assert!(passed(&send(&p, "small", 10, 0)));
    assert!(rate_limited(&send(&p, "small", 1, 0)).is_some());
    assert!(passed(&send(&p, "other", 100, 0)));
    assert!(rate_limited(&send(&p, "other", 1, 0)).is_some());
}

#[test]
fn tenants_with_the_same_quota_share_one_limiter() {
    let (p, _) = limit(
        "{ records_per_second: 100, bytes_per_second: 10, overrides: { a: { records_per_second: 7 }, b: { records_per_second: 7 }, c: { records_per_second: 100 } } }",
    );
    let records = |t: &str| {
        let id = TenantId::new(t).expect("valid");
        p.overrides[&id].limits[0].clone().expect("limited")
    };
    let bytes = |t: &str| {
        let id = TenantId::new(t).expect("valid");
        p.overrides[&id].limits[1].clone().expect("limited")
    };
    let default_records = p.default.limits[0].clone().expect("limited");
    assert!(Arc::ptr_eq(&records("a"), &records("b")));
    assert!(!Arc::ptr_eq(&records("a"), &default_records));
    assert!(Arc::ptr_eq(&records("c"), &default_records));
    assert!(Arc::ptr_eq(&bytes("a"), &bytes("c")));
    // Sharing a limiter is not sharing a budget: the state is per tenant.
    assert!(passed(&send(&p, "a", 7, 0)));
    assert!(passed(&send(&p, "b", 7, 0)));
}

#[test]
fn concurrent_requests_of_one_tenant_never_spend_the_same_tokens() {
    let (p, _) =
        limit("{ records_per_second: 1, burst: 1000, bytes_per_second: 1, bytes_burst: 2999 }");
    let admitted = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..400 {
                    if passed(&send(&p, "a", 1, 3)) {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    // The clock stands still: exactly what the tighter limit holds passes (2999 bytes / 3 per
    // request = 999 requests), and the refused ones spent no records.
    assert_eq!(admitted.load(Ordering::Relaxed), 999);
    assert!(
        passed(&send(&p, "a", 1, 2)),
        "one record and two bytes are left"
    );
}
