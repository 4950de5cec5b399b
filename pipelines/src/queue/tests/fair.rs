//! Fairness across tenants: through a queued exporter with a slow backend, and directly on
//! `FairQueues::take` (a pure function of the queue and the instant passed in) for deficit
//! round-robin on records, merging, splitting and the flush timeout.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::fake::Fake;
use super::{pipeline, queue_cfg, record_names, start, steady_retry, traces, within};
use crate::Metrics;
use crate::SignalKind;
use crate::queue::fair::{FairQueues, Item, Merging, Take};

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn a_flooding_tenant_does_not_starve_a_small_one() {
    let metrics = Metrics::new();
    let backend = Fake::gated();
    let q = start(
        "q",
        backend.exporter(),
        &queue_cfg(100, 1),
        steady_retry(Duration::from_secs(1)),
        &metrics,
    );
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    for i in 0..50 {
        p.submit(traces("a", &format!("a{i}"), 10))
            .await
            .expect("room");
    }
    for i in 0..5 {
        p.submit(traces("b", &format!("b{i}"), 10))
            .await
            .expect("room");
    }
    // The backend answers one request at a time.
    for k in 1..=55 {
        within(backend.wait_attempts(k)).await;
        assert_eq!(
            backend.in_flight(),
            1,
            "one consumer, one request at a time"
        );
        backend.release(1);
    }
    within(backend.wait_delivered(55)).await;
    let attempts = backend.delivered();
    let b_positions: Vec<usize> = attempts
        .iter()
        .enumerate()
        .filter(|(_, a)| a.tenant == "b")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(b_positions.len(), 5);
    assert!(
        b_positions.iter().all(|&i| i < 12),
        "b was served at {b_positions:?}, not alternating with a"
    );
    // Each tenant's batches keep their order.
    let a_order: Vec<String> = attempts
        .iter()
        .filter(|a| a.tenant == "a")
        .map(|a| a.names()[0].clone())
        .collect();
    let expected: Vec<String> = (0..50).map(|i| format!("a{i}/0")).collect();
    assert_eq!(a_order, expected);
    assert_eq!(q.queued_records(), 0);
}

fn item(tenant: &str, tag: &str, records: usize, at: Instant) -> Item {
    Item {
        batch: Arc::new(traces(tenant, tag, records)),
        size: 1,
        records: records as u64,
        enqueued: at,
        ticket: None,
    }
}

const UNBATCHED: Merging = Merging {
    min_size: 0,
    max_size: 0,
    flush_timeout: Duration::ZERO,
    merge: false,
};

fn items(take: Take) -> Vec<Item> {
    match take {
        Take::Items(items) => items,
        other => panic!("expected items, got {other:?}"),
    }
}

/// `(tenant, records per item)` of every take until the queues are empty.
fn takes(q: &mut FairQueues, now: Instant, b: &Merging) -> Vec<(String, Vec<u64>)> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        match q.take(now, b) {
            Take::Items(items) => {
                let tenant = items[0].batch.ctx.tenant.as_str().to_owned();
                assert!(
                    items.iter().all(|i| i.batch.ctx.tenant.as_str() == tenant),
                    "one tenant per take"
                );
                out.push((tenant, items.iter().map(|i| i.records).collect()));
            }
            Take::Empty => return out,
            Take::Blocked => panic!("no in-flight limit is set in these tests"),
            Take::WaitUntil(at) => panic!("unexpected wait until {at:?}"),
        }
    }
    panic!("the queues never emptied");
}

#[test]
fn tenants_alternate_one_batch_each_without_merging() {
    let t0 = Instant::now();
    let mut q = FairQueues::new(1024);
    for i in 0..5 {
        q.push(item("a", &format!("a{i}"), 10, t0));
    }
    for i in 0..2 {
        q.push(item("b", &format!("b{i}"), 10, t0));
    }
    assert_eq!(q.records(), 70);
    let order: Vec<String> = takes(&mut q, t0, &UNBATCHED)
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(order, ["a", "b", "a", "b", "a", "a", "a"]);
    assert_eq!(q.records(), 0);
    assert!(q.is_empty());
}

#[test]
fn turns_are_worth_records_not_batches() {
    let t0 = Instant::now();
    let merge = Merging {
        merge: true,
        ..UNBATCHED
    };
    let mut q = FairQueues::new(10);
    for i in 0..2 {
        q.push(item("a", &format!("a{i}"), 10, t0));
    }
    for i in 0..20 {
        q.push(item("b", &format!("b{i}"), 1, t0));
    }
    // One 10-record batch of a is worth ten 1-record batches of b.
    let got = takes(&mut q, t0, &merge);
    assert_eq!(
        got,
        [
            ("a".to_owned(), vec![10]),
            ("b".to_owned(), vec![1; 10]),
            ("a".to_owned(), vec![10]),
            ("b".to_owned(), vec![1; 10]),
        ]
    );
}

#[test]
fn a_batch_bigger_than_a_turn_waits_for_enough_credit() {
    let t0 = Instant::now();
    let merge = Merging {
        merge: true,
        ..UNBATCHED
    };
    let mut q = FairQueues::new(10);
    q.push(item("a", "big", 25, t0));
    for i in 0..30 {
        q.push(item("b", &format!("b{i}"), 1, t0));
    }
    let got: Vec<(String, u64)> = takes(&mut q, t0, &merge)
        .into_iter()
        .map(|(t, r)| (t, r.iter().sum()))
        .collect();
    // a needs three turns of credit for its 25 records; b uses its turns meanwhile.
    assert_eq!(
        got,
        [
            ("b".to_owned(), 10),
            ("b".to_owned(), 10),
            ("a".to_owned(), 25),
            ("b".to_owned(), 10),
        ]
    );
}

#[test]
fn merging_never_mixes_signals_of_one_tenant() {
    let t0 = Instant::now();
    let b = Merging {
        min_size: 0,
        max_size: 100,
        flush_timeout: Duration::ZERO,
        merge: true,
    };
    let mut q = FairQueues::new(100);
    let log_item = |tag: &str| Item {
        batch: Arc::new(super::logs("a", tag, 5)),
        size: 1,
        records: 5,
        enqueued: t0,
        ticket: None,
    };
    q.push(item("a", "t0", 5, t0));
    q.push(item("a", "t1", 5, t0));
    q.push(log_item("l0"));
    q.push(log_item("l1"));
    q.push(item("a", "t2", 5, t0));
    let mut kinds = Vec::new();
    while let Take::Items(taken) = q.take(t0, &b) {
        let kind = taken[0].batch.kind();
        assert!(taken.iter().all(|i| i.batch.kind() == kind));
        kinds.push((kind, taken.len()));
    }
    assert_eq!(
        kinds,
        [
            (SignalKind::Traces, 2),
            (SignalKind::Logs, 2),
            (SignalKind::Traces, 1)
        ]
    );
}

#[test]
fn merging_takes_one_tenants_batches_up_to_max_size() {
    let t0 = Instant::now();
    let b = Merging {
        min_size: 0,
        max_size: 25,
        flush_timeout: Duration::ZERO,
        merge: true,
    };
    let mut q = FairQueues::new(25);
    for i in 0..4 {
        q.push(item("a", &format!("a{i}"), 10, t0));
    }
    q.push(item("b", "b0", 10, t0));
    let got = takes(&mut q, t0, &b);
    assert_eq!(
        got,
        [
            ("a".to_owned(), vec![10, 10]),
            ("b".to_owned(), vec![10]),
            ("a".to_owned(), vec![10, 10]),
        ]
    );
}

#[test]
fn a_batch_over_max_size_comes_out_in_parts_in_order() {
    let t0 = Instant::now();
    let b = Merging {
        min_size: 0,
        max_size: 10,
        flush_timeout: Duration::ZERO,
        merge: true,
    };
    let mut q = FairQueues::new(10);
    let mut big = item("a", "big", 23, t0);
    big.size = 7;
    let names = record_names(&big.batch);
    q.push(big);
    q.push(item("b", "b0", 10, t0));
    let mut got = Vec::new();
    let mut sizes = Vec::new();
    let mut a_names = Vec::new();
    while let Take::Items(items) = q.take(t0, &b) {
        let tenant = items[0].batch.ctx.tenant.as_str().to_owned();
        let records: u64 = items.iter().map(|i| i.records).sum();
        assert!(records <= 10, "{records} records in one take");
        if tenant == "a" {
            sizes.extend(items.iter().map(|i| i.size));
            a_names.extend(items.iter().flat_map(|i| record_names(&i.batch)));
        }
        got.push((tenant, records));
    }
    let expected = [("a", 10), ("b", 10), ("a", 10), ("a", 3)];
    let expected: Vec<(String, u64)> = expected.iter().map(|(t, n)| ((*t).into(), *n)).collect();
    assert_eq!(got, expected);
    assert_eq!(a_names, names, "every record once, in order");
    assert_eq!(
        sizes,
        [7, 0, 0],
        "the queue room is given back once, with the first part"
    );
    assert_eq!(q.records(), 0);
}

#[test]
fn below_min_size_a_tenant_waits_for_the_flush_timeout() {
    let t0 = Instant::now();
    let b = Merging {
        min_size: 100,
        max_size: 0,
        flush_timeout: 200 * MS,
        merge: true,
    };
    let mut q = FairQueues::new(1024);
    assert!(matches!(q.take(t0, &b), Take::Empty));
    q.push(item("a", "a0", 10, t0));
    q.push(item("b", "b0", 10, t0 + 50 * MS));
    for now in [t0, t0 + 199 * MS] {
        match q.take(now, &b) {
            Take::WaitUntil(at) => assert_eq!(at, t0 + 200 * MS),
            other => panic!("a is not due yet: {other:?}"),
        }
    }
    let first = items(q.take(t0 + 200 * MS, &b));
    assert_eq!(first[0].batch.ctx.tenant.as_str(), "a");
    match q.take(t0 + 200 * MS, &b) {
        Take::WaitUntil(at) => assert_eq!(at, t0 + 250 * MS),
        other => panic!("b is due at 250ms: {other:?}"),
    }
    let second = items(q.take(t0 + 250 * MS, &b));
    assert_eq!(second[0].batch.ctx.tenant.as_str(), "b");
    assert!(matches!(q.take(t0 + 250 * MS, &b), Take::Empty));
}

#[test]
fn reaching_min_size_sends_without_waiting() {
    let t0 = Instant::now();
    let b = Merging {
        min_size: 30,
        max_size: 0,
        flush_timeout: Duration::from_secs(3600),
        merge: true,
    };
    let mut q = FairQueues::new(1024);
    q.push(item("a", "a0", 10, t0));
    q.push(item("a", "a1", 10, t0));
    assert!(matches!(q.take(t0, &b), Take::WaitUntil(_)));
    q.push(item("a", "a2", 10, t0));
    let got = items(q.take(t0, &b));
    assert_eq!(got.len(), 3);
    assert!(q.is_empty());
}

#[test]
fn drain_all_returns_every_queued_item() {
    let t0 = Instant::now();
    let mut q = FairQueues::new(10);
    for (tenant, n) in [("a", 3), ("b", 4), ("a", 5)] {
        q.push(item(tenant, tenant, n, t0));
    }
    let all = q.drain_all();
    assert_eq!(all.iter().map(|i| i.records).sum::<u64>(), 12);
    assert_eq!(q.records(), 0);
    assert!(matches!(q.take(t0, &UNBATCHED), Take::Empty));
}
