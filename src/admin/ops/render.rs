//! The ops page's HTML, rendered from the overview ([`super::overview`]) into the template
//! `page.html` with the script `page.js`: one self-contained document (inline CSS, script and
//! SVG charts, no external asset) that works offline and without JavaScript.
//!
//! Every value from the overview goes through [`esc`] (tenant ids come from clients, messages
//! from backends); class names and widths come only from fixed words and computed numbers.
//! Nothing here fails: a missing figure renders as `–` or 0.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;

use super::charts;
use super::format::{bytes, count, esc, rate, span, utc, when};

/// The page template: `{{refresh_ms}}`, `{{refresh_s}}`, `{{title}}`, `{{main}}` and
/// `{{script}}` are filled in.
const TEMPLATE: &str = include_str!("page.html");
/// The page's only script; its SHA-256 goes into the `Content-Security-Policy`.
pub const SCRIPT: &str = include_str!("page.js");

/// The whole page for overview `o`.
pub fn page(o: &Value, refresh: Duration) -> String {
    let status = word(&o["health"]["status"]);
    TEMPLATE
        .replace("{{refresh_ms}}", &refresh.as_millis().to_string())
        .replace("{{refresh_s}}", &refresh.as_secs().max(1).to_string())
        .replace("{{title}}", &format!("weir ops: {status}"))
        .replace("{{script}}", SCRIPT)
        .replace("{{main}}", &main(o))
}

/// One of the status words the page styles, or `unknown`: never text from elsewhere.
fn word(v: &Value) -> &'static str {
    const WORDS: [&str; 8] = [
        "healthy",
        "degraded",
        "unhealthy",
        "ready",
        "starting",
        "draining",
        "listening",
        "stopping",
    ];
    let s = v.as_str().unwrap_or("");
    WORDS
        .iter()
        .find(|w| **w == s)
        .copied()
        .unwrap_or("unknown")
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => esc(s),
        Value::Null => "–".into(),
        other => esc(&other.to_string()),
    }
}

fn badge(status: &'static str) -> String {
    format!("<span class=\"badge st-{status}\">{status}</span>")
}

/// A table with `id`, headings `heads` (a leading `#` marks a numeric column) and `rows`, or
/// `empty` in its place when there are none.
fn table(out: &mut String, id: &str, heads: &[&str], rows: &[String], empty: &str) {
    if rows.is_empty() {
        let _ = write!(out, "<p class=\"empty\" id=\"{id}\">{empty}</p>");
        return;
    }
    let _ = write!(out, "<table id=\"{id}\"><thead><tr>");
    for h in heads {
        match h.strip_prefix('#') {
            Some(h) => {
                let _ = write!(out, "<th class=\"num\">{h}</th>");
            }
            None => {
                let _ = write!(out, "<th>{h}</th>");
            }
        }
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str(r);
    }
    out.push_str("</tbody></table>");
}

/// A `<tr>` whose `data-row` is `key` and whose cells are `cells` (already HTML); a cell
/// starting with `#` is numeric.
fn tr(key: &[&str], cells: &[String]) -> String {
    let key: Vec<String> = key.iter().map(|k| esc(k)).collect();
    let mut out = format!("<tr data-row=\"{}\">", key.join(" "));
    for c in cells {
        match c.strip_prefix('#') {
            Some(c) => {
                let _ = write!(out, "<td class=\"num\">{c}</td>");
            }
            None => {
                let _ = write!(out, "<td>{c}</td>");
            }
        }
    }
    out.push_str("</tr>");
    out
}

fn rows(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn card(out: &mut String, id: &str, label: &str, fig: &Value, alarm: bool) {
    let class = if alarm && fig["rate_per_second"].as_f64().unwrap_or(0.0) > 0.0 {
        "card alarm"
    } else {
        "card"
    };
    let _ = write!(
        out,
        "<div class=\"{class}\" id=\"{id}\"><div class=\"label\">{label}</div>\
         <div class=\"rate\">{}</div><div class=\"total\">{} total</div></div>",
        rate(&fig["rate_per_second"]),
        count(&fig["total"]),
    );
}

fn main(o: &Value) -> String {
    let now = o["generated_at_unix"].as_f64().unwrap_or(0.0);
    let h = &o["health"];
    let status = word(&h["status"]);
    let state = word(&h["state"]);
    let mut out = format!("<main id=\"ops\" data-status=\"{status}\" data-state=\"{state}\">");
    let _ = write!(
        out,
        "<header class=\"top\"><h1>weir ops</h1>{}{}<p class=\"meta\">version {} · up {} · \
         figures of {} · rates over the last {:.1} s</p>",
        badge(status),
        badge(state),
        text(&o["version"]),
        span(o["uptime_seconds"].as_u64().unwrap_or(0)),
        utc(now),
        o["rate_window_seconds"].as_f64().unwrap_or(0.0),
    );
    if let Some(reason) = h["reason"].as_str() {
        let _ = write!(out, "<p class=\"reason\">{}</p>", esc(reason));
    }
    out.push_str("</header>");

    let t = &o["errors"]["totals"];
    out.push_str("<section id=\"summary\" class=\"cards\">");
    card(&mut out, "sum-accepted", "accepted", &t["accepted"], false);
    card(&mut out, "sum-sent", "sent", &t["sent"], false);
    card(&mut out, "sum-refused", "refused", &t["refused"], true);
    card(&mut out, "sum-failed", "failed", &t["failed"], true);
    card(&mut out, "sum-dropped", "dropped", &t["dropped"], true);
    card(
        &mut out,
        "sum-auth",
        "auth failures",
        &t["auth_failures"],
        true,
    );
    out.push_str("</section>");
    out.push_str(&charts::section(o, now));

    out.push_str("<section id=\"health\"><h2>Health</h2>");
    let listeners: Vec<String> = rows(&h["listeners"])
        .iter()
        .map(|l| {
            let st = word(&l["status"]);
            tr(
                &["listener", s(&l["listener"])],
                &[text(&l["listener"]), text(&l["address"]), badge(st)],
            )
        })
        .collect();
    table(
        &mut out,
        "listeners",
        &["listener", "address", "status"],
        &listeners,
        "",
    );
    let exporters: Vec<String> = rows(&h["exporters"])
        .iter()
        .map(|e| {
            let err = &e["last_error"];
            tr(
                &["exporter", s(&e["exporter"])],
                &[
                    text(&e["exporter"]),
                    badge(word(&e["status"])),
                    when(&e["last_success_unix"], now),
                    when(&err["at_unix"], now),
                    format!("<span class=\"msg\">{}</span>", esc(s(&err["message"]))),
                ],
            )
        })
        .collect();
    let heads = [
        "exporter",
        "status",
        "last success",
        "last error",
        "message",
    ];
    table(&mut out, "exporters", &heads, &exporters, "No exporters.");
    out.push_str("</section>");

    out.push_str("<section id=\"queues\"><h2>Queue depth</h2>");
    let queues: Vec<String> = rows(&o["queues"]).iter().map(queue_row).collect();
    let heads = [
        "exporter",
        "#queued (sizer's unit)",
        "#bytes held",
        "#records queued",
        "fill",
    ];
    table(&mut out, "queue-table", &heads, &queues, "No exporters.");
    out.push_str(
        "<p class=\"note\">Queues are per exporter; inside each, tenants share by fair \
         round-robin (per-tenant depth is not a metric).</p></section>",
    );

    out.push_str("<section id=\"throughput\"><h2>Throughput</h2><h3>Accepted</h3>");
    let accepted: Vec<String> = rows(&o["throughput"]["accepted"])
        .iter()
        .map(|a| {
            let (r, b) = (&a["records"], &a["bytes"]);
            tr(
                &["accepted", s(&a["receiver"]), s(&a["signal"])],
                &[
                    text(&a["receiver"]),
                    text(&a["signal"]),
                    format!("#{}", rate(&r["rate_per_second"])),
                    format!("#{}", count(&r["total"])),
                    format!("#{}", bytes(&b["total"])),
                ],
            )
        })
        .collect();
    let heads = ["receiver", "signal", "#records/s", "#records", "#bytes"];
    table(
        &mut out,
        "accepted",
        &heads,
        &accepted,
        "Nothing received yet.",
    );
    out.push_str("<h3>Sent</h3>");
    let sent = figure_rows(&o["throughput"]["sent"], "sent", &["exporter", "signal"]);
    let heads = ["exporter", "signal", "#records/s", "#records"];
    table(&mut out, "sent", &heads, &sent, "Nothing sent yet.");
    out.push_str("<h3>Tenants</h3>");
    let tenants: Vec<String> = rows(&o["throughput"]["tenants"])
        .iter()
        .map(|t| {
            let mut cells = vec![text(&t["tenant"])];
            for k in ["accepted", "refused", "dropped"] {
                cells.push(format!("#{}", rate(&t[k]["rate_per_second"])));
                cells.push(format!("#{}", count(&t[k]["total"])));
            }
            tr(&["tenant", s(&t["tenant"])], &cells)
        })
        .collect();
    let heads = [
        "tenant",
        "#accepted/s",
        "#accepted",
        "#refused/s",
        "#refused",
        "#dropped/s",
        "#dropped",
    ];
    table(&mut out, "tenants", &heads, &tenants, "No tenant seen yet.");
    out.push_str("</section>");

    out.push_str("<section id=\"errors\"><h2>Errors</h2>");
    let e = &o["errors"];
    let sections: [(&str, &str, &[&str], &str); 4] = [
        (
            "refused",
            "Refused by receivers",
            &["receiver", "signal", "reason"],
            "None refused.",
        ),
        (
            "failed",
            "Failed by exporters",
            &["exporter", "reason"],
            "None failed.",
        ),
        (
            "dropped",
            "Dropped after acceptance",
            &["exporter", "reason"],
            "None dropped.",
        ),
        ("retries", "Retries", &["exporter"], "No retries."),
    ];
    for (key, title, labels, empty) in sections {
        let _ = write!(out, "<h3>{title}</h3>");
        let body = figure_rows(&e[key], key, labels);
        let mut heads = labels.to_vec();
        heads.extend(["#per second", "#total"]);
        table(&mut out, key, &heads, &body, empty);
    }
    out.push_str("<h3>Auth failures</h3>");
    let auth = figure_rows(&o["auth_failures"], "auth", &["reason"]);
    let heads = ["reason", "#per second", "#total"];
    table(&mut out, "auth", &heads, &auth, "No auth failures.");
    out.push_str("</section>");

    out.push_str("<section id=\"incidents\"><h2>Recent incidents</h2>");
    let incidents: Vec<String> = rows(&o["incidents"])
        .iter()
        .map(|i| {
            let place = ["component", "signal", "tenant"]
                .iter()
                .filter_map(|k| i[*k].as_str().map(esc))
                .collect::<Vec<_>>()
                .join(" · ");
            tr(
                &["incident", s(&i["kind"])],
                &[
                    when(&i["at_unix"], now),
                    text(&i["kind"]),
                    place,
                    text(&i["reason"]),
                    format!("#{}", count(&i["count"])),
                    format!("<span class=\"msg\">{}</span>", esc(s(&i["message"]))),
                ],
            )
        })
        .collect();
    let heads = ["when", "what", "where", "reason", "#count", "message"];
    table(
        &mut out,
        "incident-table",
        &heads,
        &incidents,
        "No incidents since start.",
    );
    out.push_str("</section></main>");
    out
}

/// A queue's row: what it holds against each bound, `N of M unit (x%)`, records queued, and
/// a bar for the fuller bound.
fn queue_row(q: &Value) -> String {
    let of = |used: String, cap: String, fill: &Value| match fill.as_f64() {
        Some(f) => format!("#{used} of {cap} ({:.1}%)", f * 100.0),
        None => format!("#{used} of {cap}"),
    };
    let (size, capacity) = (&q["size"], &q["capacity"]);
    let queued = match q["sizer"].as_str() {
        Some("bytes") => of(bytes(size), bytes(capacity), &q["fill"]),
        Some(unit @ ("requests" | "items")) => of(
            count(size),
            format!("{} {unit}", count(capacity)),
            &q["fill"],
        ),
        _ => of(count(size), count(capacity), &q["fill"]),
    };
    let held = of(bytes(&q["bytes"]), bytes(&q["max_bytes"]), &q["bytes_fill"]);
    let fill = [&q["fill"], &q["bytes_fill"]]
        .iter()
        .filter_map(|f| f.as_f64())
        .reduce(f64::max);
    let bar = match fill {
        Some(f) => {
            let pct = (f * 100.0).clamp(0.0, 100.0);
            let level = if f > 0.9 {
                "high"
            } else if f > 0.5 {
                "mid"
            } else {
                "low"
            };
            format!(
                "<div class=\"bar {level}\"><span style=\"width:{pct:.1}%\"></span></div> \
                 <span class=\"fill\">{pct:.1}%</span>"
            )
        }
        None => "<span class=\"ago\">no queue (sent inline)</span>".into(),
    };
    let (queued, held) = match fill {
        Some(_) => (queued, held),
        None => ("#–".into(), "#–".into()),
    };
    tr(
        &["queue", s(&q["exporter"])],
        &[
            text(&q["exporter"]),
            queued,
            held,
            format!("#{}", count(&q["records"])),
            bar,
        ],
    )
}

/// Rows of label cells then `rate_per_second` and `total`, keyed `key label…`.
fn figure_rows(v: &Value, key: &str, labels: &[&str]) -> Vec<String> {
    rows(v)
        .iter()
        .map(|r| {
            let mut k = vec![key];
            k.extend(labels.iter().map(|l| s(&r[*l])));
            let mut cells: Vec<String> = labels.iter().map(|l| text(&r[*l])).collect();
            cells.push(format!("#{}", rate(&r["rate_per_second"])));
            cells.push(format!("#{}", count(&r["total"])));
            tr(&k, &cells)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_from_outside_are_escaped_and_status_words_are_fixed() {
        let o = json!({
            "generated_at_unix": 100.0,
            "health": { "status": "<b>", "state": "ready", "exporters": [
                { "exporter": "otlphttp/x", "status": "degraded",
                  "last_error": { "at_unix": 90.0, "message": "<script>alert(1)</script>" } }
            ]},
            "throughput": { "tenants": [ { "tenant": "o'brien(*)" } ] },
        });
        let html = page(&o, Duration::from_secs(5));
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("o&#39;brien(*)"));
        assert!(html.contains("data-status=\"unknown\""));
        assert!(html.contains("(10 s ago)"));
        assert!(!html.contains("{{"), "a placeholder is left");
    }

    #[test]
    fn a_queue_row_gives_each_bound_in_its_own_unit() {
        let dead = json!({ "exporter": "otlp", "sizer": "requests", "size": 1000,
            "capacity": 1000, "fill": 1.0, "bytes": 3_145_728, "max_bytes": 8_388_608,
            "bytes_fill": 0.375, "records": 14250 });
        let row = queue_row(&dead);
        for cell in [
            ">1000 of 1000 requests (100.0%)<",
            ">3.0 MiB of 8.0 MiB (37.5%)<",
            ">14250<",
        ] {
            assert!(row.contains(cell), "{cell} missing: {row}");
        }
        assert!(
            row.contains("bar high") && row.contains(">100.0%</span>"),
            "{row}"
        );
        let by_bytes = json!({ "exporter": "b", "sizer": "bytes", "size": 524_288,
            "capacity": 1_048_576, "fill": 0.5, "bytes": 600_000, "max_bytes": 1_000_000,
            "bytes_fill": 0.6, "records": 3 });
        let row = queue_row(&by_bytes);
        assert!(row.contains(">512.0 KiB of 1.0 MiB (50.0%)<"), "{row}");
        // The bar shows the fuller bound.
        assert!(
            row.contains("bar mid") && row.contains(">60.0%</span>"),
            "{row}"
        );
        let inline = queue_row(&json!({ "exporter": "debug" }));
        assert!(inline.contains("no queue (sent inline)"), "{inline}");
    }
}
