//! The figures of the ops page, as `/admin/ops/overview.json` serves them and the HTML page
//! renders them: reshaped from `/metrics?format=json` and `/health` (the functions of
//! [`views`](super::super::views), never recomputed here) into rows an operator reads, plus the
//! recent incidents and the charts' points ([`History`](super::history::History)).
//!
//! Everything in it is an aggregate: counters and rates by component, signal, tenant and
//! reason, queue gauges, exporters' cleaned last errors. No attribute value, header, endpoint
//! URL or token is ever read into it. Nothing here fails; a figure not yet counted is absent
//! or zero.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::super::{AdminState, views};

/// The overview, sampling incidents first so that the log is as current as the figures.
pub fn build(state: &AdminState) -> Value {
    let now = SystemTime::now();
    state.ops.sample(&state.metrics, now);
    let metrics = views::metrics_json(state);
    let (_, health) = views::health_json(state);
    let generated = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);

    let mut listeners = arr(&health["checks"]["receivers"]["listeners"]);
    listeners.push(json!({
        "listener": "admin",
        "address": state.ops.admin_addr.to_string(),
        "status": "listening",
    }));
    let mut exporters = Vec::new();
    let mut queues = Vec::new();
    for (id, e) in obj(&health["checks"]["exporters"]["exporters"]) {
        exporters.push(json!({
            "exporter": id,
            "status": e["status"],
            "last_success_unix": e["last_success_unix"],
            "last_error": e["last_error"],
        }));
        queues.push(json!({
            "exporter": id,
            "status": e["status"],
            "sizer": e["queue_sizer"],
            "size": e["queue_size"],
            "capacity": e["queue_capacity"],
            "fill": e["queue_fill"],
            "bytes": e["queue_bytes"],
            "max_bytes": e["queue_max_bytes"],
            "bytes_fill": e["queue_bytes_fill"],
            "records": e["queue_records"],
        }));
    }

    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for (receiver, signals) in obj(&metrics["receivers"]) {
        for (signal, f) in obj(signals) {
            accepted.push(json!({
                "receiver": receiver,
                "signal": signal,
                "records": figure(&f["accepted_records"]),
                "bytes": figure(&f["accepted_bytes"]),
            }));
            for (reason, fig) in obj(&f["refused_records"]) {
                refused.push(row(
                    &[
                        ("receiver", receiver),
                        ("signal", signal),
                        ("reason", reason),
                    ],
                    fig,
                ));
            }
        }
    }
    let (mut sent, mut failed, mut dropped, mut retries) = (vec![], vec![], vec![], vec![]);
    for (exporter, f) in obj(&metrics["exporters"]) {
        for (signal, fig) in obj(&f["sent_records"]) {
            sent.push(row(&[("exporter", exporter), ("signal", signal)], fig));
        }
        for (reason, fig) in obj(&f["failed_records"]) {
            failed.push(row(&[("exporter", exporter), ("reason", reason)], fig));
        }
        for (reason, fig) in obj(&f["dropped_records"]) {
            dropped.push(row(&[("exporter", exporter), ("reason", reason)], fig));
        }
        if f["retries"].is_object() {
            retries.push(row(&[("exporter", exporter)], &f["retries"]));
        }
    }
    let tenants: Vec<Value> = obj(&metrics["tenants"])
        .map(|(tenant, f)| {
            json!({
                "tenant": tenant,
                "accepted": figure(&f["accepted_records"]),
                "refused": figure(&f["refused_records"]),
                "dropped": figure(&f["dropped_records"]),
            })
        })
        .collect();
    let auth: Vec<Value> = obj(&metrics["auth_failures"])
        .map(|(reason, fig)| row(&[("reason", reason)], fig))
        .collect();
    let totals = json!({
        "accepted": sum(accepted.iter().map(|r| &r["records"])),
        "sent": sum(sent.iter()),
        "refused": sum(refused.iter()),
        "failed": sum(failed.iter()),
        "dropped": sum(dropped.iter()),
        "retries": sum(retries.iter()),
        "auth_failures": sum(auth.iter()),
    });

    json!({
        "generated_at_unix": (generated * 1000.0).round() / 1000.0,
        "version": metrics["version"],
        "uptime_seconds": metrics["uptime_seconds"],
        "rate_window_seconds": metrics["rate_window_seconds"],
        "refresh_seconds": state.ops.refresh.as_secs_f64(),
        "health": {
            "status": health["status"],
            "state": health["state"],
            "reason": health["reason"],
            "listeners": listeners,
            "exporters": exporters,
        },
        "queues": queues,
        "throughput": { "accepted": accepted, "sent": sent, "tenants": tenants },
        "errors": {
            "totals": totals,
            "refused": refused,
            "failed": failed,
            "dropped": dropped,
            "retries": retries,
        },
        "auth_failures": auth,
        "incidents": state.ops.incidents.recent(),
        "history": state.ops.history.to_json(),
    })
}

fn obj(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flat_map(Map::iter)
}

fn arr(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// A `{total, rate_per_second}` figure, zero when absent.
fn figure(v: &Value) -> Value {
    json!({
        "total": v["total"].as_u64().unwrap_or(0),
        "rate_per_second": v["rate_per_second"].as_f64().unwrap_or(0.0),
    })
}

/// A row: the named labels, then the figure's total and rate.
fn row(labels: &[(&str, &String)], fig: &Value) -> Value {
    let mut out = Map::new();
    for (k, v) in labels {
        out.insert((*k).to_owned(), json!(v));
    }
    if let Value::Object(f) = figure(fig) {
        out.extend(f);
    }
    Value::Object(out)
}

/// The sum of figures (or rows holding `total` and `rate_per_second`).
fn sum<'a>(figures: impl Iterator<Item = &'a Value>) -> Value {
    let (total, rate) = figures.fold((0u64, 0.0f64), |(t, r), f| {
        (
            t + f["total"].as_u64().unwrap_or(0),
            r + f["rate_per_second"].as_f64().unwrap_or(0.0),
        )
    });
    json!({ "total": total, "rate_per_second": (rate * 1000.0).round() / 1000.0 })
}
