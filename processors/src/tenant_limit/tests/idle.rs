//! Memory: idle tenants are forgotten, so a million distinct tenant ids do not stay in memory.

use super::super::table::{SHARDS, SWEEP_STEP};
use super::*;

/// Advances `clock` through one full sweep pass, with `tenant` sending one record per step
/// (sweeps run on requests).
fn one_pass(p: &TenantLimit<FakeRelativeClock>, clock: &FakeRelativeClock, tenant: &str) {
    for _ in 0..SHARDS {
        clock.advance(SWEEP_STEP);
        assert!(passed(&send(p, tenant, 1, 0)));
    }
}

#[test]
fn idle_tenants_are_forgotten_after_their_buckets_refill() {
    let (p, clock) = limit("{ records_per_second: 10, burst: 20 }");
    for i in 0..1000 {
        assert!(passed(&send(&p, &format!("t{i}"), 20, 0)));
    }
    assert_eq!(p.tracked_tenants(), 1000);
    // A full pass while the buckets are still refilling (2 s) keeps them all: forgetting one
    // would hand it a full bucket early.
    clock.advance(Duration::from_millis(500));
    assert!(passed(&send(&p, "live", 1, 0)));
    assert_eq!(p.tracked_tenants(), 1001);
    // Once refilled (2.1 s covers it), a full pass forgets every idle tenant; the live one stays.
    clock.advance(Duration::from_secs(2));
    one_pass(&p, &clock, "live");
    assert_eq!(p.tracked_tenants(), 1);
    // A forgotten tenant starts with a full bucket, exactly as if it had been kept.
    assert!(passed(&send(&p, "t7", 20, 0)));
    assert!(rate_limited(&send(&p, "t7", 1, 0)).is_some());
}

#[test]
fn a_tenant_is_kept_while_its_bucket_refills() {
    let (p, clock) = limit(
        "{ records_per_second: 1000, overrides: { slow: { records_per_second: 1, burst: 10 } } }",
    );
    assert!(passed(&send(&p, "slow", 10, 0)));
    // Eight seconds of sweeping (one pass) before its ten-second refill: still held, still
    // limited.
    one_pass(&p, &clock, "other");
    assert_eq!(p.tracked_tenants(), 2);
    assert_eq!(
        rate_limited(&send(&p, "slow", 10, 0)),
        Some(Duration::from_secs(2))
    );
}

#[test]
fn refused_requests_add_no_tenant() {
    let (p, _) = limit("{ records_per_second: 10, burst: 10 }");
    for i in 0..100 {
        let o = send(&p, &format!("t{i}"), 11, 0);
        assert!(matches!(o, Outcome::Refuse { reason, .. } if reason.kind == RefusalKind::Invalid));
    }
    assert_eq!(p.tracked_tenants(), 0);
}

#[test]
fn a_million_distinct_tenants_leave_a_bounded_table() {
    let (p, clock) = limit("{ records_per_second: 1000, requests_per_second: 10 }");
    let tenants = 1_000_000;
    let before = p.table.capacity();
    // Each millisecond a thousand new tenants send one request: a million over one second.
    let mut b = batch("t", 10, 0);
    for i in 0..tenants {
        if i % 1000 == 0 {
            clock.advance(Duration::from_millis(1));
        }
        b.ctx.tenant = TenantId::new(&format!("t{i}")).expect("valid");
        assert!(passed(&p.process(&mut b)));
    }
    let peak = p.tracked_tenants();
    assert!(
        peak > 900_000,
        "most are held while their buckets refill: {peak}"
    );
    // They go quiet; one tenant keeps sending. After the refill time (1.1 s) and a pass, the
    // table holds that one and has given its memory back.
    clock.advance(Duration::from_secs(2));
    one_pass(&p, &clock, "live");
    assert_eq!(p.tracked_tenants(), 1);
    let after = p.table.capacity();
    assert!(
        after <= before.max(SHARDS * 64),
        "capacity {after} slots (was {before} before the flood)"
    );
}
