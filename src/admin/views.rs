//! The JSON views of the admin listener: `/metrics?format=json` (the same figures as
//! `/metrics`, grouped for a person: receivers, exporters, tenants, HTTP routes, with totals and
//! current rates) and `/health` (each subsystem's status and figures).
//!
//! Rates are per second over the window since the previous snapshot kept (at least 5 s old);
//! the first request has only one sample, so its rates (and `rate_window_seconds`) are null
//! rather than a guess. Series that differ only in a label a view does not show (the tenant, under a
//! receiver) are summed. Exporter messages are cleaned of credentials ([`Scrubber`]). Nothing
//! here fails; a missing figure is absent or zero.
//!
//! [`Scrubber`]: super::ops::Scrubber

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tokio::time::Instant;
use weir_pipeline::metrics::{FamilySnapshot, Sample};
use weir_processors::tenant_limit::StoreHealth;

use super::AdminState;

/// Totals by (metric name, label values).
pub type Totals = BTreeMap<(String, Vec<String>), u64>;

/// How old the kept snapshot must be before it is replaced.
const WINDOW: Duration = Duration::from_secs(5);

/// Each series' value (a histogram's count) by name and label values.
pub(super) fn totals(families: &[FamilySnapshot]) -> Totals {
    let mut out = Totals::new();
    for f in families {
        for (labels, sample) in &f.series {
            let v = match sample {
                Sample::Value(v) => *v,
                Sample::Histogram { count, .. } => *count,
            };
            out.insert((f.def.name.to_owned(), labels.clone()), v);
        }
    }
    out
}

/// `/metrics?format=json`.
pub fn metrics_json(state: &AdminState) -> Value {
    let now = Instant::now();
    let current = totals(&state.metrics.snapshot());
    let kept = {
        let mut prev = state.previous.lock();
        let kept = prev.clone();
        if kept
            .as_ref()
            .is_none_or(|(at, _)| now.duration_since(*at) >= WINDOW)
        {
            *prev = Some((now, current.clone()));
        }
        kept
    };
    let window = kept
        .as_ref()
        .map(|(since, _)| now.duration_since(*since).as_secs_f64().max(1e-3));
    let figure = |name: &str, labels: &Vec<String>, v: u64| -> Value {
        let rate = kept.as_ref().zip(window).map(|((_, previous), window)| {
            let before = previous
                .get(&(name.to_owned(), labels.clone()))
                .copied()
                .unwrap_or(0);
            let rate = v.saturating_sub(before) as f64 / window;
            (rate * 1000.0).round() / 1000.0
        });
        json!({ "total": v, "rate_per_second": rate })
    };
    let mut receivers = Map::new();
    let mut exporters = Map::new();
    let mut tenant_sums: BTreeMap<(String, &str), (u64, Option<f64>)> = BTreeMap::new();
    let mut sum = |tenant: String, key: &'static str, v: u64, fig: &Value| {
        let e = tenant_sums
            .entry((tenant, key))
            .or_insert((0, window.map(|_| 0.0)));
        e.0 += v;
        e.1 =
            e.1.map(|r| r + fig["rate_per_second"].as_f64().unwrap_or(0.0));
    };
    let mut http = Map::new();
    let mut auth = Map::new();
    for ((name, labels), v) in &current {
        let l = |i: usize| labels.get(i).cloned().unwrap_or_default();
        let fig = figure(name, labels, *v);
        match name.as_str() {
            "weir_receiver_accepted_records_total" | "weir_receiver_accepted_bytes_total" => {
                let key = if name.contains("bytes") {
                    "accepted_bytes"
                } else {
                    "accepted_records"
                };
                add_figure(&mut receivers, &[&l(1), &l(0), key], &fig);
                if key == "accepted_records" {
                    sum(l(2), "accepted_records", *v, &fig);
                }
            }
            "weir_receiver_refused_records_total" => {
                add_figure(
                    &mut receivers,
                    &[&l(1), &l(0), "refused_records", &l(3)],
                    &fig,
                );
                sum(l(2), "refused_records", *v, &fig);
            }
            "weir_exporter_sent_records_total" => {
                add_figure(&mut exporters, &[&l(1), "sent_records", &l(0)], &fig)
            }
            "weir_exporter_failed_records_total" => {
                add_figure(&mut exporters, &[&l(1), "failed_records", &l(2)], &fig)
            }
            "weir_exporter_retries_total" => add_figure(&mut exporters, &[&l(0), "retries"], &fig),
            "weir_exporter_queue_records" => {
                add(&mut exporters, &[&l(0), "queue_records"], json!(v))
            }
            "weir_exporter_queue_capacity_records" => {
                add(&mut exporters, &[&l(0), "queue_capacity"], json!(v))
            }
            "weir_records_dropped_total" => {
                add_figure(&mut exporters, &[&l(1), "dropped_records", &l(3)], &fig);
                sum(l(2), "dropped_records", *v, &fig);
            }
            "weir_http_requests_total" => add_figure(&mut http, &[&l(0), &l(1)], &fig),
            "weir_auth_failures_total" => add_figure(&mut auth, &[&l(0)], &fig),
            _ => {}
        }
    }
    let mut tenants = Map::new();
    for ((tenant, key), (total, rate)) in tenant_sums {
        add(
            &mut tenants,
            &[&tenant, key],
            json!({ "total": total, "rate_per_second": rate.map(|r| (r * 1000.0).round() / 1000.0) }),
        );
    }
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.started.elapsed().as_secs(),
        "rate_window_seconds": window.map(|w| (w * 1000.0).round() / 1000.0),
        "receivers": receivers,
        "exporters": exporters,
        "tenants": tenants,
        "http": http,
        "auth_failures": auth,
        "pipelines": state.info.read().pipelines,
    })
}

/// Adds figure `fig` (`{total, rate_per_second}`) to the one at `path` inside `root`, or puts
/// it there.
fn add_figure(root: &mut Map<String, Value>, path: &[&str], fig: &Value) {
    let mut sum = fig.clone();
    if let Some(old) = get(root, path) {
        let total = old["total"].as_u64().unwrap_or(0) + fig["total"].as_u64().unwrap_or(0);
        // Null (one sample only) stays null.
        let rate = old["rate_per_second"]
            .as_f64()
            .zip(fig["rate_per_second"].as_f64())
            .map(|(a, b)| ((a + b) * 1000.0).round() / 1000.0);
        sum = json!({ "total": total, "rate_per_second": rate });
    }
    add(root, path, sum);
}

/// The value at `path` inside `root`.
fn get<'a>(root: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter().try_fold(root.get(*first)?, |v, p| v.get(*p))
}

/// Puts `v` at `path` inside `root`, creating objects on the way.
fn add(root: &mut Map<String, Value>, path: &[&str], v: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = root;
    for p in parents {
        let entry = node.entry((*p).to_owned()).or_insert_with(|| json!({}));
        if !entry.is_object() {
            *entry = json!({});
        }
        let Some(obj) = entry.as_object_mut() else {
            return;
        };
        node = obj;
    }
    node.insert((*last).to_owned(), v);
}

fn rfc3339(t: SystemTime) -> Value {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    json!(secs)
}

/// The `limits` check: each `tenant_limit`'s shared store, `fallback` while it cannot be
/// reached (its fallback decides); true when any is.
fn limits_check(stores: &[(String, StoreHealth)]) -> (bool, Value) {
    let mut any_down = false;
    let mut each = Map::new();
    for (id, health) in stores {
        let s = health.status();
        any_down |= s.on_fallback;
        each.insert(
            id.clone(),
            json!({
                "status": if s.on_fallback { "fallback" } else { "healthy" },
                "store": "redis",
                "endpoint": s.endpoint,
                "fallback": s.fallback.as_str(),
                "retry_interval_ms": s.retry_interval.as_millis() as u64,
                "fallback_requests": s.fallback_requests,
                "failures": s.failures,
                "down_since_unix": s.down_since.map(rfc3339),
                "last_success_unix": s.last_success.map(rfc3339),
                "last_error": s.last_error.map(|(at, message)| json!({ "at_unix": rfc3339(at), "message": message })),
            }),
        );
    }
    let status = if any_down { "degraded" } else { "healthy" };
    (any_down, json!({ "status": status, "stores": each }))
}

/// The `memory` check: the `memory_limiter`'s figures, `limited` while receivers refuse.
fn memory_check(memory: Option<crate::memory::MemoryStatus>) -> Value {
    match memory {
        None => json!({ "status": "healthy", "limit": null }),
        Some(m) => json!({
            "status": if m.refusing { "limited" } else { "healthy" },
            "usage_bytes": m.usage_bytes,
            "limit_bytes": m.limit_bytes,
            "soft_limit_bytes": m.soft_limit_bytes,
            "refusing": m.refusing,
        }),
    }
}

/// One exporter queue's gauges; all `None` when the exporter sends inline (no queue).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct QueueFigures {
    /// Records queued.
    pub records: Option<u64>,
    /// Room in use, in the sizer's unit.
    pub size: Option<u64>,
    /// Capacity, in the sizer's unit.
    pub capacity: Option<u64>,
    /// The sizer's unit: `requests`, `items` or `bytes`.
    pub sizer: Option<String>,
    /// Bytes held against `max_bytes`.
    pub bytes: Option<u64>,
    /// `sending_queue.max_bytes`.
    pub max_bytes: Option<u64>,
    /// Bytes of the disk queue's files (`sending_queue.storage`); `None` without one.
    pub disk_bytes: Option<u64>,
    /// Age in seconds of the oldest request the disk queue holds.
    pub disk_oldest_age: Option<u64>,
}

impl QueueFigures {
    /// Exporter `id`'s queue gauges in `totals`.
    pub fn of(totals: &Totals, id: &str) -> Self {
        let get = |name: &str| totals.get(&(name.to_owned(), vec![id.to_owned()])).copied();
        let info = "weir_exporter_queue_sizer_info";
        let sizer = totals
            .range((info.to_owned(), vec![id.to_owned()])..)
            .next()
            .and_then(|((name, labels), _)| match labels.as_slice() {
                [exporter, sizer] if name == info && exporter == id => Some(sizer.clone()),
                _ => None,
            });
        Self {
            records: get("weir_exporter_queue_records"),
            size: get("weir_exporter_queue_size"),
            capacity: get("weir_exporter_queue_capacity_records"),
            sizer,
            bytes: get("weir_exporter_queue_bytes"),
            max_bytes: get("weir_exporter_queue_max_bytes"),
            disk_bytes: get("weir_exporter_queue_disk_bytes"),
            disk_oldest_age: get("weir_exporter_queue_oldest_record_age_seconds"),
        }
    }

    /// The fuller of the two bounds (the sizer's and `max_bytes`), 0–1 and more; `None`
    /// without a queue.
    pub fn fill(&self) -> Option<f64> {
        let by_size = ratio(self.size, self.capacity);
        let by_bytes = ratio(self.bytes, self.max_bytes);
        match (by_size, by_bytes) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// `part / whole`, when both are known and `whole` is not 0.
fn ratio(part: Option<u64>, whole: Option<u64>) -> Option<f64> {
    match (part, whole) {
        (Some(p), Some(w)) if w > 0 => Some(p as f64 / w as f64),
        _ => None,
    }
}

/// `v` rounded to three decimals.
fn milli(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// `/health`: overall status and each subsystem's.
pub fn health_json(state: &AdminState) -> (bool, Value) {
    let snapshot = totals(&state.metrics.snapshot());
    let notes = state.metrics.export_notes();
    let not_ready = state.readiness.not_ready_reason();
    let mut exporters = Map::new();
    let mut degraded = false;
    let info = state.info.read().clone();
    for id in &info.exporters {
        let queue = QueueFigures::of(&snapshot, id);
        let note = notes.get(id).cloned().unwrap_or_default();
        let failing = match (&note.last_error, note.last_success) {
            (Some((err_at, _)), Some(ok_at)) => *err_at > ok_at,
            (Some(_), None) => true,
            _ => false,
        };
        let storage = queue.disk_bytes.map(|bytes| match &note.storage_problem {
            Some((since, message)) => json!({
                "status": "refusing",
                "disk_bytes": bytes,
                "oldest_record_age_secs": queue.disk_oldest_age,
                "since_unix": rfc3339(*since),
                "message": format!("receivers answer with the retryable status: {message}"),
            }),
            None => json!({
                "status": "healthy",
                "disk_bytes": bytes,
                "oldest_record_age_secs": queue.disk_oldest_age,
            }),
        });
        let status =
            if failing || note.storage_problem.is_some() || queue.fill().is_some_and(|f| f > 0.9) {
                "degraded"
            } else {
                "healthy"
            };
        degraded |= status != "healthy";
        exporters.insert(
            id.clone(),
            json!({
                "status": status,
                "queue_records": queue.records,
                "queue_size": queue.size,
                "queue_capacity": queue.capacity,
                "queue_sizer": queue.sizer,
                "queue_fill": ratio(queue.size, queue.capacity).map(milli),
                "queue_bytes": queue.bytes,
                "queue_max_bytes": queue.max_bytes,
                "queue_bytes_fill": ratio(queue.bytes, queue.max_bytes).map(milli),
                "last_success_unix": note.last_success.map(rfc3339),
                "last_error": note.last_error.map(|(at, message)| json!({ "at_unix": rfc3339(at), "message": state.ops.scrubber.scrub(&message) })),
                "storage": storage,
            }),
        );
    }
    let receivers: Vec<Value> = info
        .listeners
        .iter()
        .map(|(name, addr)| json!({ "listener": name, "address": addr.to_string(), "status": "listening" }))
        .collect();
    let memory = info.memory.status();
    let limited = memory.is_some_and(|m| m.refusing);
    let (stores_down, limits) = limits_check(&info.limit_stores);
    let status = match (not_ready, degraded || limited || stores_down) {
        (Some(_), _) => "unhealthy",
        (None, true) => "degraded",
        (None, false) => "healthy",
    };
    let body = json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": state.started.elapsed().as_secs(),
        "ready": not_ready.is_none(),
        "state": state.readiness.state(),
        "reason": not_ready,
        "checks": {
            "receivers": { "status": if not_ready.is_some() { "stopping" } else { "healthy" }, "listeners": receivers },
            "pipelines": { "status": "healthy", "pipelines": info.pipelines },
            "exporters": { "status": if degraded { "degraded" } else { "healthy" }, "exporters": exporters },
            "memory": memory_check(memory),
            "limits": limits,
        },
    });
    (not_ready.is_none(), body)
}
