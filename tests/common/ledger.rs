//! The loss ledger, read from a running weir's `/metrics`: for each exporter and signal,
//! every record a receiver accepted is delivered, merged by redaction, removed on purpose by a
//! `filter` processor, or dropped with a reason — nothing is unaccounted for.
//!
//! `accepted` is `weir_receiver_accepted_records_total` (what receivers answered with
//! success); `delivered` is `weir_exporter_sent_records_total`; `merged` is
//! `weir_redacted_values_total{reason="series_merged"}` (metric points folded into another
//! point; metrics only); `filtered` is `weir_records_filtered_total` of the signal; `dropped`
//! is `weir_records_dropped_total` by reason. The check
//! assumes one pipeline per signal between the receivers and the exporters named, as the
//! end-to-end tests configure. Exports finish after the client was answered, so it waits
//! (polling, bounded) for the ledger to balance and the queues to be empty, and fails with
//! every figure when they do not.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::Weir;

/// One sample of the text format: name, labels, value.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the Prometheus text format (comments skipped; label values unescaped enough for
/// weir's own label values).
pub fn parse(page: &str) -> Vec<Sample> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let value = value.parse().ok()?;
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, labels_of(rest.strip_suffix('}')?)),
                None => (series, BTreeMap::new()),
            };
            Some(Sample {
                name: name.to_owned(),
                labels,
                value,
            })
        })
        .collect()
}

fn labels_of(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(if n == 'n' { '\n' } else { n });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.insert(key.trim_start_matches(',').trim().to_owned(), value);
        rest = &after[end..];
    }
    out
}

/// The sum of `name`'s samples whose labels include every `(key, value)` of `with`.
pub fn sum(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> u64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            with.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum::<f64>() as u64
}

/// The sum of `name` over every exporter whose id starts with `prefix` (the endpoints of a
/// `load_balancing` exporter are `<id>/<endpoint>`).
pub fn sum_exporters(samples: &[Sample], name: &str, prefix: &str) -> u64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            s.labels
                .get("exporter")
                .is_some_and(|e| e.starts_with(prefix))
        })
        .map(|s| s.value as u64)
        .sum()
}

/// The account of a `load_balancing` exporter (its endpoints summed) for one signal.
#[derive(Debug, PartialEq, Eq)]
pub struct Spread {
    pub accepted: u64,
    pub sent: u64,
    pub dropped: u64,
    pub rerouted: u64,
}

/// Waits (at most 30 s) until the endpoints of `exporter` (a `load_balancing` id) have sent
/// or dropped everything accepted for `signal` and hold nothing queued; panics with the
/// figures when they do not.
pub async fn settled_spread(weir: &Weir, signal: &str, exporter: &str) -> Spread {
    let prefix = format!("{exporter}/");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let samples = parse(&weir.admin_metrics().await);
        let of = |name| sum_exporters(&samples, name, &prefix);
        let spread = Spread {
            accepted: sum(
                &samples,
                "weir_receiver_accepted_records_total",
                &[("signal", signal)],
            ),
            sent: of("weir_exporter_sent_records_total"),
            dropped: of("weir_records_dropped_total"),
            rerouted: of("weir_exporter_rerouted_records_total"),
        };
        let queued = of("weir_exporter_queue_records");
        if spread.accepted > 0 && spread.accepted == spread.sent + spread.dropped && queued == 0 {
            return spread;
        }
        assert!(
            Instant::now() < deadline,
            "{exporter} did not settle: {spread:?}, {queued} queued"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One exporter's account of one signal.
#[derive(Debug, PartialEq, Eq)]
pub struct Account {
    pub accepted: u64,
    pub delivered: u64,
    pub merged: u64,
    pub filtered: u64,
    pub dropped: BTreeMap<String, u64>,
    pub queued: u64,
}

impl Account {
    /// `accepted = delivered + merged + filtered + dropped`, with nothing left in the queue.
    pub fn balances(&self) -> bool {
        self.queued == 0
            && self.accepted
                == self.delivered + self.merged + self.filtered + self.dropped.values().sum::<u64>()
    }
}

/// The account of `exporter` for `signal`, from one `/metrics` page.
pub fn account(samples: &[Sample], signal: &str, exporter: &str) -> Account {
    let mut dropped = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| s.name == "weir_records_dropped_total")
    {
        if s.labels.get("signal").map(String::as_str) == Some(signal)
            && s.labels.get("exporter").map(String::as_str) == Some(exporter)
        {
            let reason = s.labels.get("reason").cloned().unwrap_or_default();
            *dropped.entry(reason).or_default() += s.value as u64;
        }
    }
    let merged = if signal == "metrics" {
        sum(
            samples,
            "weir_redacted_values_total",
            &[("reason", "series_merged")],
        )
    } else {
        0
    };
    Account {
        accepted: sum(
            samples,
            "weir_receiver_accepted_records_total",
            &[("signal", signal)],
        ),
        delivered: sum(
            samples,
            "weir_exporter_sent_records_total",
            &[("signal", signal), ("exporter", exporter)],
        ),
        merged,
        filtered: sum(
            samples,
            "weir_records_filtered_total",
            &[("signal", signal)],
        ),
        dropped,
        queued: sum(
            samples,
            "weir_exporter_queue_records",
            &[("exporter", exporter)],
        ),
    }
}

/// Waits (at most 30 s) until every `(signal, exporter)` account balances, and returns them;
/// panics with every figure when one does not.
pub async fn assert_balanced(weir: &Weir, accounts: &[(&str, &str)]) -> Vec<Account> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut interval = tokio::time::interval(Duration::from_millis(50));
    loop {
        interval.tick().await;
        let samples = parse(&weir.admin_metrics().await);
        let got: Vec<Account> = accounts
            .iter()
            .map(|(signal, exporter)| account(&samples, signal, exporter))
            .collect();
        if got.iter().all(Account::balances) {
            return got;
        }
        if Instant::now() > deadline {
            let table: Vec<String> = accounts
                .iter()
                .zip(&got)
                .map(|((s, e), a)| format!("{e} {s}: {a:?}"))
                .collect();
            panic!(
                "the loss ledger does not balance (accepted = delivered + merged + filtered + dropped):\n{}",
                table.join("\n")
            );
        }
    }
}

/// [`assert_balanced`] for tests that are not async.
pub fn assert_balanced_blocking(weir: &Weir, accounts: &[(&str, &str)]) -> Vec<Account> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the ledger check")
        .block_on(assert_balanced(weir, accounts))
}

/// The three signals, each through `exporter`.
pub fn every_signal(exporter: &str) -> [(&'static str, &str); 3] {
    [
        ("traces", exporter),
        ("metrics", exporter),
        ("logs", exporter),
    ]
}
