//! A request the processor admitted and weir then refused (a later processor, a full queue,
//! another tenant's part of the request) gets its records, bytes and request back, for every
//! limit, and no more than it spent.

use super::*;

/// Admits a request of `tenant` and returns it with the records it was admitted with, as the
/// pipeline would keep them for the refund.
fn admit(p: &TenantLimit<FakeRelativeClock>, tenant: &str, records: usize, bytes: usize) -> Batch {
    let mut b = batch(tenant, records, bytes);
    assert!(passed(&p.process(&mut b)), "{tenant} admitted");
    b
}

#[test]
fn a_refund_gives_back_records_bytes_and_the_request() {
    let (p, _) = limit(
        "{ records_per_second: 10, burst: 10, bytes_per_second: 100, bytes_burst: 100, \
           requests_per_second: 1, requests_burst: 2 }",
    );
    let first = admit(&p, "a", 6, 60);
    p.refund(&first.ctx, 6);
    // Every budget is whole again: the full burst of records, bytes and two requests pass.
    assert!(passed(&send(&p, "a", 10, 100)));
    let _ = admit(&p, "a", 0, 0);
    assert!(rate_limited(&send(&p, "a", 1, 0)).is_some(), "spent now");
}

#[test]
fn a_refund_gives_back_only_what_that_request_spent() {
    let (p, _) = limit("{ records_per_second: 10, burst: 10 }");
    let _taken = admit(&p, "a", 4, 0);
    let refused = admit(&p, "a", 6, 0);
    p.refund(&refused.ctx, 6);
    // The 4 of the taken request stay spent: 6 pass, 7 would not.
    assert!(rate_limited(&send(&p, "a", 7, 0)).is_some());
    assert!(passed(&send(&p, "a", 6, 0)));
    assert!(rate_limited(&send(&p, "a", 1, 0)).is_some());
}

#[test]
fn a_refund_is_the_tenants_own() {
    let (p, _) = limit("{ records_per_second: 10, burst: 10 }");
    let _ = admit(&p, "a", 10, 0);
    let b = admit(&p, "b", 10, 0);
    p.refund(&b.ctx, 10);
    assert!(
        rate_limited(&send(&p, "a", 1, 0)).is_some(),
        "b's refund is not a's"
    );
    assert!(passed(&send(&p, "b", 10, 0)));
}
