//! Properties of `FairQueues` (deficit round-robin on records) with three to five tenants, over
//! generated queues and quanta, driven by explicit instants: nothing is lost, duplicated or
//! reordered within a tenant; no backlogged tenant waits more than its turns need; with
//! merging, every backlogged tenant's records taken stay within one quantum and one batch of
//! every other's; without it, turns are one batch each, round robin. The first two also hold
//! over any interleaving of pushes and takes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use tokio::time::Instant;

use super::{record_names, traces};
use crate::queue::fair::{FairQueues, Item, Merging, Take};

/// How the consumer batches, as `Queue::new` sets it up.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// No merging: one queued batch per take.
    Unbatched,
    /// Merging without `max_size`: a turn takes as many batches as its credit allows.
    Merge,
    /// Merging with `max_size` = the quantum, as `Queue::new` sets the quantum from it; larger
    /// batches are split.
    MergeCapped,
}

impl Mode {
    fn merging(self, quantum: u64) -> Merging {
        Merging {
            min_size: 0,
            max_size: match self {
                Mode::MergeCapped => quantum,
                _ => 0,
            },
            flush_timeout: Duration::ZERO,
            merge: !matches!(self, Mode::Unbatched),
        }
    }
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        Just(Mode::Unbatched),
        Just(Mode::Merge),
        Just(Mode::MergeCapped)
    ]
}

/// Three to five tenants, each with 1–25 batches of 1–`max` records.
fn tenants(max: u64) -> impl Strategy<Value = Vec<Vec<u64>>> {
    prop::collection::vec(prop::collection::vec(1..=max, 1..25), 3..=5)
}

fn tenant_name(i: usize) -> String {
    format!("t{i}")
}

/// Queues every tenant's batches (batch `j` of tenant `i` tagged `t{i}b{j}`), interleaved by
/// position so no tenant is queued wholly first.
fn queued(quantum: u64, sizes: &[Vec<u64>], at: Instant) -> FairQueues {
    let mut q = FairQueues::new(quantum);
    let longest = sizes.iter().map(Vec::len).max().unwrap_or(0);
    for j in 0..longest {
        for (i, batches) in sizes.iter().enumerate() {
            if let Some(&n) = batches.get(j) {
                let tenant = tenant_name(i);
                q.push(Item {
                    batch: Arc::new(traces(&tenant, &format!("{tenant}b{j}"), n as usize)),
                    size: 1,
                    records: n,
                    enqueued: at,
                    ticket: None,
                });
            }
        }
    }
    q
}

/// One take: the tenant and the record names it got, in order.
type Taken = (usize, Vec<String>);

/// Takes until the queues are empty; fails on anything but items, or a take mixing tenants.
fn take_all(q: &mut FairQueues, at: Instant, b: &Merging) -> Result<Vec<Taken>, TestCaseError> {
    let mut out = Vec::new();
    loop {
        match q.take(at, b) {
            Take::Items(items) => {
                prop_assert!(!items.is_empty(), "an empty take");
                let tenant = items[0].batch.ctx.tenant.as_str().to_owned();
                prop_assert!(
                    items.iter().all(|i| i.batch.ctx.tenant.as_str() == tenant),
                    "one take mixes tenants"
                );
                let index: usize = tenant[1..]
                    .parse()
                    .map_err(|_| TestCaseError::fail(format!("unexpected tenant {tenant}")))?;
                let names = items.iter().flat_map(|i| record_names(&i.batch)).collect();
                out.push((index, names));
            }
            Take::Empty => return Ok(out),
            other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
        }
        prop_assert!(out.len() <= 100_000, "the queues never emptied");
    }
}

/// The record names of tenant `i`'s batches, in the order it queued them.
fn pushed_names(i: usize, sizes: &[u64]) -> Vec<String> {
    let tenant = tenant_name(i);
    let mut names = Vec::new();
    for (j, &n) in sizes.iter().enumerate() {
        names.extend((0..n).map(|k| format!("{tenant}b{j}/{k}")));
    }
    names
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_record_is_taken_once_in_its_tenants_order(
        sizes in tenants(40),
        quantum in 1..=40u64,
        mode in mode(),
    ) {
        let t0 = Instant::now();
        let mut q = queued(quantum, &sizes, t0);
        let total: u64 = sizes.iter().flatten().sum();
        prop_assert_eq!(q.records(), total);
        let takes = take_all(&mut q, t0, &mode.merging(quantum))?;
        let mut got: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (i, names) in takes {
            got.entry(i).or_default().extend(names);
        }
        for (i, batches) in sizes.iter().enumerate() {
            prop_assert_eq!(got.remove(&i).unwrap_or_default(), pushed_names(i, batches));
        }
        prop_assert!(got.is_empty(), "records of unknown tenants: {:?}", got);
        prop_assert_eq!(q.records(), 0);
        prop_assert!(q.is_empty());
    }

    #[test]
    fn no_backlogged_tenant_waits_longer_than_its_turns_need(
        sizes in tenants(40),
        quantum in 1..=40u64,
        mode in mode(),
    ) {
        let t0 = Instant::now();
        let b = mode.merging(quantum);
        let mut q = queued(quantum, &sizes, t0);
        let takes = take_all(&mut q, t0, &b)?;
        // The heaviest item a turn can face (parts of at most `max_size` when capped).
        let heaviest = sizes.iter().flatten().copied().max().unwrap_or(1);
        let heaviest = if b.max_size > 0 { heaviest.min(b.max_size) } else { heaviest };
        // A tenant needs at most this many turns of credit for its next item, and every other
        // tenant takes at most once per turn meanwhile.
        let turns = heaviest.div_ceil(quantum) as usize;
        let others = sizes.len() - 1;
        let mut left: Vec<u64> = sizes.iter().map(|s| s.iter().sum()).collect();
        let mut waited = vec![0usize; sizes.len()];
        for (step, (i, names)) in takes.iter().enumerate() {
            for (t, w) in waited.iter_mut().enumerate() {
                if t == *i {
                    *w = 0;
                } else if left[t] > 0 {
                    *w += 1;
                    prop_assert!(
                        *w <= others * turns,
                        "tenant {} waited {} takes at step {} (quantum {}, {:?})",
                        t, *w, step, quantum, mode
                    );
                }
            }
            left[*i] -= names.len() as u64;
        }
    }

    #[test]
    fn merging_keeps_backlogged_tenants_within_a_quantum_and_a_batch_of_each_other(
        sizes in tenants(40),
        quantum in 1..=40u64,
    ) {
        let t0 = Instant::now();
        let mut q = queued(quantum, &sizes, t0);
        let takes = take_all(&mut q, t0, &Mode::Merge.merging(quantum))?;
        let heaviest = sizes.iter().flatten().copied().max().unwrap_or(1);
        let mut left: Vec<u64> = sizes.iter().map(|s| s.iter().sum()).collect();
        let mut taken = vec![0u64; sizes.len()];
        for (step, (i, names)) in takes.iter().enumerate() {
            let n = names.len() as u64;
            left[*i] -= n;
            taken[*i] += n;
            // Compared while every tenant still has records queued (all backlogged).
            if left.iter().all(|&l| l > 0) {
                let (lo, hi) = (taken.iter().min(), taken.iter().max());
                let spread = hi.copied().unwrap_or(0) - lo.copied().unwrap_or(0);
                prop_assert!(
                    spread < quantum + heaviest,
                    "records taken {:?} after step {}: spread {} >= quantum {} + batch {}",
                    taken, step, spread, quantum, heaviest
                );
            }
        }
    }

    #[test]
    fn unbatched_turns_are_one_batch_each_round_robin(
        sizes in tenants(40),
    ) {
        // The quantum `Queue::new` uses without merging: no batch needs a second turn.
        let quantum = 1024;
        let t0 = Instant::now();
        let mut q = queued(quantum, &sizes, t0);
        let takes = take_all(&mut q, t0, &Mode::Unbatched.merging(quantum))?;
        let mut left: Vec<usize> = sizes.iter().map(Vec::len).collect();
        let mut sends = vec![0usize; sizes.len()];
        for (i, _) in &takes {
            left[*i] -= 1;
            sends[*i] += 1;
            if left.iter().all(|&l| l > 0) {
                let spread = sends.iter().max().unwrap_or(&0) - sends.iter().min().unwrap_or(&0);
                prop_assert!(spread <= 1, "sends {:?}", sends);
            }
        }
        prop_assert_eq!(takes.len(), sizes.iter().map(Vec::len).sum::<usize>());
    }

    #[test]
    fn over_any_interleaving_of_pushes_and_takes_nothing_is_lost_and_nobody_starves(
        ops in prop::collection::vec(
            prop_oneof![
                (0..5usize, 1..=40u64).prop_map(|(t, n)| Some((t, n))),
                Just(None),
            ],
            1..150,
        ),
        quantum in 1..=40u64,
        mode in mode(),
    ) {
        let t0 = Instant::now();
        let b = mode.merging(quantum);
        let mut q = FairQueues::new(quantum);
        // Per tenant: names pushed, names taken, takes by others since its last one.
        let mut pushed: Vec<Vec<String>> = vec![Vec::new(); 5];
        let mut taken: Vec<Vec<String>> = vec![Vec::new(); 5];
        let mut waited = [0usize; 5];
        let turns = (if b.max_size > 0 { 40.min(b.max_size) } else { 40 }).div_ceil(quantum);
        let bound = 4 * turns as usize;
        let mut take = |q: &mut FairQueues,
                        pushed: &[Vec<String>],
                        taken: &mut [Vec<String>]|
         -> Result<bool, TestCaseError> {
            let Take::Items(items) = q.take(t0, &b) else {
                return Ok(false);
            };
            let tenant = items[0].batch.ctx.tenant.as_str()[1..].parse::<usize>().unwrap_or(9);
            prop_assert!(tenant < 5, "unknown tenant");
            taken[tenant].extend(items.iter().flat_map(|i| record_names(&i.batch)));
            for (t, w) in waited.iter_mut().enumerate() {
                let queued = pushed[t].len() > taken[t].len();
                *w = if t == tenant || !queued { 0 } else { *w + 1 };
                prop_assert!(*w <= bound, "tenant {} waited {} takes", t, *w);
            }
            Ok(true)
        };
        for (k, op) in ops.iter().enumerate() {
            match op {
                Some((t, n)) => {
                    let tenant = tenant_name(*t);
                    let tag = format!("{tenant}b{k}");
                    let batch = traces(&tenant, &tag, *n as usize);
                    pushed[*t].extend(record_names(&batch));
                    q.push(Item { batch: Arc::new(batch), size: 1, records: *n, enqueued: t0, ticket: None });
                }
                None => {
                    take(&mut q, &pushed, &mut taken)?;
                }
            }
            let queued: usize = pushed.iter().zip(&taken).map(|(p, t)| p.len() - t.len()).sum();
            prop_assert_eq!(q.records(), queued as u64);
        }
        while take(&mut q, &pushed, &mut taken)? {}
        prop_assert_eq!(&taken, &pushed, "every record once, in its tenant's order");
        prop_assert!(q.is_empty());
    }
}
