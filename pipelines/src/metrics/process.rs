//! Process metrics read from `/proc/self` (Linux): CPU seconds, resident and virtual memory,
//! open file descriptors, start time. On other systems, or when `/proc` cannot be read, the
//! affected metrics are left out rather than reported wrong.

use std::fmt::Write as _;

/// Clock ticks per second of `/proc/self/stat` times; 100 on every Linux weir targets.
const TICKS: f64 = 100.0;
/// Page size for `rss` in `/proc/self/stat`.
const PAGE: u64 = 4096;

/// Appends the process metrics in Prometheus text (the same lines are valid OpenMetrics, with
/// `_total` handled by the caller's format).
pub fn render(out: &mut String, open_metrics: bool) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so field N is f[N - 3].
    let num = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let cpu = match (num(14), num(15)) {
        (Some(u), Some(s)) => Some((u + s) as f64 / TICKS),
        _ => None,
    };
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<u64>().ok())
    });
    let start = match (boot, num(22)) {
        (Some(b), Some(t)) => Some(b as f64 + t as f64 / TICKS),
        _ => None,
    };
    let fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count()).ok();
    let counter_suffix = if open_metrics { "" } else { "_total" };
    if let Some(cpu) = cpu {
        let _ = writeln!(
            out,
            "# HELP process_cpu_seconds{counter_suffix} Total user and system CPU time spent in seconds."
        );
        let _ = writeln!(out, "# TYPE process_cpu_seconds{counter_suffix} counter");
        let _ = writeln!(out, "process_cpu_seconds_total {cpu}");
    }
    if let Some(rss) = num(24) {
        gauge(
            out,
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            (rss * PAGE) as f64,
        );
    }
    if let Some(vsize) = num(23) {
        gauge(
            out,
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            vsize as f64,
        );
    }
    if let Some(fds) = fds {
        gauge(
            out,
            "process_open_fds",
            "Number of open file descriptors.",
            fds as f64,
        );
    }
    if let Some(start) = start {
        gauge(
            out,
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            start,
        );
    }
}

fn gauge(out: &mut String, name: &str, help: &str, v: f64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    let _ = writeln!(out, "{name} {v}");
}
