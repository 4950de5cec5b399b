//! The summary `weir loadgen` prints when done (readable lines on stdout) and writes with
//! `--summary-json`, and the progress line it keeps on stderr while running when stderr is a
//! terminal.
//!
//! How it fails: [`Summary::write_json`] returns the I/O error of writing the file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::generate::tenant_name;
use super::stats::Stats;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Highest.
    pub max: f64,
}

/// The summary, field for field as `--summary-json` writes it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// `traces`, `logs` or `metrics`.
    pub signal: &'static str,
    /// `grpc`, `http/protobuf` or `http/json`.
    pub protocol: &'static str,
    /// Seconds from the first request to the last answer.
    pub elapsed_s: f64,
    /// Requests sent.
    pub requests_sent: u64,
    /// Requests answered with success.
    pub requests_ok: u64,
    /// Requests refused or lost.
    pub requests_failed: u64,
    /// Records sent.
    pub records_sent: u64,
    /// Records in successful answers minus partial-success rejections.
    pub records_acked: u64,
    /// Partial-success rejections.
    pub records_rejected: u64,
    /// `records_acked` per second of `elapsed_s`.
    pub rate_records_per_s: f64,
    /// Failed requests by gRPC code name, HTTP status, `transport` or `timeout`.
    pub errors: BTreeMap<String, u64>,
    /// Client round trip per answered request.
    pub latency_ms: Latency,
    /// `records_acked` per tenant (an addition to the fixed fields).
    pub records_acked_by_tenant: BTreeMap<String, u64>,
}

impl Summary {
    /// The summary of `stats` gathered over `elapsed`.
    pub fn new(
        signal: &'static str,
        protocol: &'static str,
        stats: &Stats,
        elapsed: Duration,
    ) -> Self {
        let secs = elapsed.as_secs_f64();
        Self {
            signal,
            protocol,
            elapsed_s: round3(secs),
            requests_sent: stats.requests_sent,
            requests_ok: stats.requests_ok,
            requests_failed: stats.requests_failed,
            records_sent: stats.records_sent,
            records_acked: stats.records_acked,
            records_rejected: stats.records_rejected,
            rate_records_per_s: if secs > 0.0 {
                round3(stats.records_acked as f64 / secs)
            } else {
                0.0
            },
            errors: stats.errors.clone(),
            latency_ms: Latency {
                p50: round3(stats.latency_ms(0.5)),
                p90: round3(stats.latency_ms(0.9)),
                p99: round3(stats.latency_ms(0.99)),
                max: round3(stats.max_ms()),
            },
            records_acked_by_tenant: stats
                .acked_by_tenant
                .iter()
                .enumerate()
                .map(|(i, n)| (tenant_name(i), *n))
                .collect(),
        }
    }

    /// The readable lines printed on stdout.
    pub fn lines(&self, endpoint: &str) -> String {
        let mut out = String::new();
        let errors = if self.errors.is_empty() {
            String::new()
        } else {
            let named: Vec<String> = self
                .errors
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            format!(" ({})", named.join(", "))
        };
        let l = &self.latency_ms;
        let _ = writeln!(
            out,
            "loadgen: {} over {} to {endpoint} for {:.2} s",
            self.signal, self.protocol, self.elapsed_s
        );
        let _ = writeln!(
            out,
            "requests: {} sent, {} ok, {} failed{errors}",
            self.requests_sent, self.requests_ok, self.requests_failed
        );
        let _ = writeln!(
            out,
            "records:  {} sent, {} acked, {} rejected; {:.0} acked/s",
            self.records_sent, self.records_acked, self.records_rejected, self.rate_records_per_s
        );
        let _ = writeln!(
            out,
            "latency:  p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            l.p50, l.p90, l.p99, l.max
        );
        out
    }

    /// Writes the JSON summary to `path`.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Counters the workers bump for the progress line.
#[derive(Debug, Default)]
pub struct Progress {
    /// Requests answered or failed.
    pub requests: AtomicU64,
    /// Records acknowledged.
    pub acked: AtomicU64,
}

impl Progress {
    /// Every second, rewrites one line on stderr with the totals and the rate since the last
    /// line, until the task is aborted; does nothing when stderr is not a terminal.
    pub fn spawn_printer(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let me = Arc::clone(self);
        Some(tokio::spawn(async move {
            let start = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            let mut last = 0;
            loop {
                tick.tick().await;
                let acked = me.acked.load(Ordering::Relaxed);
                let line = format!(
                    "\r{:>6.1} s  {} requests  {} records acked  {} records/s   ",
                    start.elapsed().as_secs_f64(),
                    me.requests.load(Ordering::Relaxed),
                    acked,
                    acked - last
                );
                last = acked;
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_interface_fields_and_derived_rate() {
        let mut stats = Stats::new(2);
        stats.ok(1, 100, 10, Duration::from_millis(4));
        stats.failed("503", 100, Some(Duration::from_millis(2)));
        let s = Summary::new("logs", "http/json", &stats, Duration::from_secs(2));
        let v = serde_json::to_value(&s).expect("serialises");
        for key in [
            "signal",
            "protocol",
            "elapsed_s",
            "requests_sent",
            "requests_ok",
            "requests_failed",
            "records_sent",
            "records_acked",
            "records_rejected",
            "rate_records_per_s",
            "errors",
            "latency_ms",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
        assert_eq!(v["rate_records_per_s"], 45.0);
        assert_eq!(v["errors"]["503"], 1);
        assert_eq!(v["records_acked_by_tenant"]["tenant-1"], 90);
        assert_eq!(v["records_acked_by_tenant"]["tenant-0"], 0);
        let text = s.lines("http://x");
        assert!(text.contains("2 sent, 1 ok, 1 failed (503: 1)"), "{text}");
    }
}
