//! The ops page's charts of the last minutes, from the overview's `history`
//! ([`super::history`]): records accepted, refused (and requests refused unread) and dropped per
//! second, and each exporter queue's fill. Each is an inline SVG drawn on the server, so the
//! page needs no asset, no script and no data block to show them, and the refresh that swaps
//! the page's `<main>` redraws them.
//!
//! Time runs left to right over the window, now at the right edge; rates are scaled to a round
//! maximum, fill to 0–100%, written above the chart with the newest value. A missing point breaks the line. Exporter
//! ids go through [`esc`]; everything else is a fixed word or a computed number. Nothing here
//! fails: without points a chart says it is collecting.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::format::{esc, rate};

/// The charts' drawing box: one unit per second of a 15-minute window, and this height.
const HEIGHT: f64 = 60.0;

/// One line of a chart: its class (its colour), its legend (HTML), and its points.
struct Line {
    class: String,
    label: String,
    points: Vec<Option<f64>>,
}

/// A chart of rates: its id, its title, and its series as (overview key, legend).
type RateChart = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Where points go: their times, and the window (seconds) ending at `now`.
struct Frame {
    at: Vec<f64>,
    now: f64,
    window: f64,
}

/// The charts section for overview `o`, generated at Unix time `now`.
pub fn section(o: &Value, now: f64) -> String {
    let h = &o["history"];
    let frame = Frame {
        at: floats(&h["at_unix"]).into_iter().flatten().collect(),
        now,
        window: h["window_seconds"].as_f64().unwrap_or(900.0).max(1.0),
    };
    let minutes = (frame.window / 60.0).round();
    let mut out =
        format!("<section id=\"charts\"><h2>Last {minutes} minutes</h2><div class=\"charts\">");
    let rates: [RateChart; 3] = [
        (
            "accepted",
            "accepted records/s",
            &[("accepted_per_second", "records")],
        ),
        (
            "refused",
            "refused/s",
            &[
                ("refused_per_second", "records"),
                ("refused_requests_per_second", "requests refused unread"),
            ],
        ),
        (
            "dropped",
            "dropped records/s",
            &[("dropped_per_second", "records")],
        ),
    ];
    for (id, title, series) in rates {
        let lines: Vec<Line> = series
            .iter()
            .enumerate()
            .map(|(i, (key, label))| Line {
                class: format!("s{i}"),
                label: (*label).to_owned(),
                points: floats(&h[*key]),
            })
            .collect();
        let top = nice(max(&lines));
        let now = lines.first().and_then(last).unwrap_or(0.0);
        let scale = format!("now {} · 0–{}", rate(&json!(now)), rate(&json!(top)));
        chart(&mut out, (id, title, &scale), top, &lines, &frame);
    }
    // Exporters without a queue (sent inline) have no point: no line, no legend.
    let fills: Vec<Line> = h["queue_fill"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(exporter, series)| (exporter, floats(series)))
        .filter(|(_, points)| points.iter().any(Option::is_some))
        .enumerate()
        .map(|(i, (exporter, points))| Line {
            class: format!("s{}", i % 6),
            label: esc(exporter),
            points: points
                .into_iter()
                .map(|f| f.map(|f| (f * 100.0).clamp(0.0, 100.0)))
                .collect(),
        })
        .collect();
    let scale = match fills.as_slice() {
        [one] => format!("now {:.1}% · 0–100%", last(one).unwrap_or(0.0)),
        _ => "0–100%".to_owned(),
    };
    chart(
        &mut out,
        ("fill", "queue fill %", &scale),
        100.0,
        &fills,
        &frame,
    );
    out.push_str("</div></section>");
    out
}

/// Each element of array `v` as a number, `None` where it is not one.
fn floats(v: &Value) -> Vec<Option<f64>> {
    v.as_array()
        .map(|a| a.iter().map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// The newest point of `line`, when it has one.
fn last(line: &Line) -> Option<f64> {
    line.points.last().copied().flatten()
}

/// The largest point of `lines`, 0 without any.
fn max(lines: &[Line]) -> f64 {
    lines
        .iter()
        .flat_map(|l| l.points.iter().flatten())
        .fold(0.0, |m: f64, v| m.max(*v))
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `v` (1 for 0).
fn nice(v: f64) -> f64 {
    if v.is_nan() || v <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|n| *n >= v)
        .unwrap_or(10.0 * power)
}

/// The SVG path of `points` in `frame`: x is seconds into the window, y the value over `top`
/// (0 at the bottom). `None` points and points outside the window break it. Returns the path
/// and how many points it has.
fn path(points: &[Option<f64>], frame: &Frame, top: f64) -> (String, usize) {
    let (mut d, mut drawn, mut pen_down) = (String::new(), 0, false);
    for (v, t) in points.iter().zip(&frame.at) {
        let x = frame.window - (frame.now - t);
        match v {
            Some(v) if (0.0..=frame.window).contains(&x) => {
                let y = HEIGHT - (v / top).clamp(0.0, 1.0) * (HEIGHT - 2.0);
                let _ = write!(d, "{}{x:.1} {y:.1}", if pen_down { "L" } else { "M" });
                pen_down = true;
                drawn += 1;
            }
            _ => pen_down = false,
        }
    }
    (d, drawn)
}

/// One chart: a `<figure id="chart-{id}">` with `title`, `scale` and a legend above an SVG of
/// `lines` scaled to `top`.
fn chart(
    out: &mut String,
    (id, title, scale): (&str, &str, &str),
    top: f64,
    lines: &[Line],
    frame: &Frame,
) {
    let window = frame.window;
    let _ = write!(
        out,
        "<figure class=\"chart\" id=\"chart-{id}\"><figcaption><b>{title}</b> \
         <span class=\"scale\">{scale}</span>"
    );
    if lines.len() > 1 {
        for l in lines {
            let _ = write!(out, " <span class=\"key {}\">{}</span>", l.class, l.label);
        }
    }
    out.push_str("</figcaption>");
    let drawn: Vec<(String, usize)> = lines.iter().map(|l| path(&l.points, frame, top)).collect();
    if drawn.iter().all(|(_, n)| *n == 0) {
        out.push_str(
            "<p class=\"empty\">Collecting: a point a second, from the second sample.</p>\
             </figure>",
        );
        return;
    }
    let _ = write!(
        out,
        "<svg viewBox=\"0 0 {window} {HEIGHT}\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"{title}, last {:.0} minutes\" data-max=\"{top}\">\
         <path class=\"grid\" d=\"M0 {mid} H{window} M0 {HEIGHT} H{window}\"/>",
        window / 60.0,
        mid = HEIGHT / 2.0,
    );
    for (l, (d, n)) in lines.iter().zip(drawn) {
        if n > 0 {
            let _ = write!(
                out,
                "<path class=\"line {}\" data-series=\"{}\" data-points=\"{n}\" d=\"{d}\"/>",
                l.class, l.label
            );
        }
    }
    out.push_str("</svg></figure>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_round_and_cover_the_largest_point() {
        assert_eq!(
            [0.0, 0.3, 1.0, 1.5, 3.0, 7.2, 10.0, 12.0, 480.0].map(nice),
            [1.0, 0.5, 1.0, 2.0, 5.0, 10.0, 10.0, 20.0, 500.0]
        );
    }

    #[test]
    fn points_are_placed_in_time_and_gaps_break_the_line() {
        let mut frame = Frame {
            at: vec![100.0, 101.0, 102.0, 103.0],
            now: 103.0,
            window: 900.0,
        };
        let points = [Some(0.0), Some(10.0), None, Some(5.0)];
        let (d, n) = path(&points, &frame, 10.0);
        assert_eq!(n, 3);
        assert_eq!(d, "M897.0 60.0L898.0 2.0M900.0 31.0");
        // Points older than the window are left out.
        frame.now += 898.5;
        assert_eq!(path(&points, &frame, 10.0).1, 1);
    }

    #[test]
    fn charts_draw_each_series_and_escape_exporter_ids() {
        let o = json!({ "history": {
            "window_seconds": 900.0,
            "at_unix": [10.0, 11.0],
            "accepted_per_second": [3.0, 7.0],
            "refused_per_second": [0.0, 0.0],
            "refused_requests_per_second": [1.0, 0.0],
            "dropped_per_second": [],
            "queue_fill": { "otlp/<x>": [0.5, 2.0], "debug": [null, null] },
        }});
        let html = section(&o, 11.0);
        let accepted = html
            .split("id=\"chart-accepted\"")
            .nth(1)
            .and_then(|c| c.split("</figure>").next())
            .expect("accepted chart");
        assert!(accepted.contains("data-max=\"10\""), "{accepted}");
        assert!(
            accepted.contains("data-points=\"2\" d=\"M899.0 42.6L900.0 19.4\""),
            "{accepted}"
        );
        assert!(html.contains("<span class=\"key s1\">requests refused unread</span>"));
        assert!(html.contains("data-series=\"otlp/&lt;x&gt;\""), "{html}");
        assert!(html.contains(">now 100.0% · 0–100%<"), "{html}");
        assert!(
            !html.contains("debug"),
            "an exporter without a queue is charted: {html}"
        );
        assert!(accepted.contains(">now 7.00/s · 0–10.0/s<"), "{accepted}");
        // A fill past its bound is drawn at the top.
        assert!(html.contains("d=\"M899.0 31.0L900.0 2.0\""), "{html}");
        let dropped = html.split("id=\"chart-dropped\"").nth(1).expect("dropped");
        assert!(dropped.starts_with("><figcaption><b>dropped records/s</b>"));
        assert!(dropped.contains("Collecting"), "{dropped}");
        assert!(html.starts_with("<section id=\"charts\"><h2>Last 15 minutes</h2>"));
    }
}
