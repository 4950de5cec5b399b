//! Writing the page: Prometheus text format 0.0.4, or OpenMetrics 1.0 with exemplars.
//!
//! Families are sorted by name and series by labels, so a page is stable from scrape to scrape.
//! Numbers (values and `le`/`quantile` labels) are written as Prometheus' Go clients write them.
//! A name that is not a classic Prometheus name (only under the UTF-8 translation strategies)
//! is written quoted (`{"http.requests_total",...}`) to a scraper that asked for UTF-8 names,
//! and underscore-escaped to any other. In OpenMetrics a counter's family line drops `_total`
//! and its sample keeps it. Families without help text get no `# HELP` line. OpenMetrics pages
//! name a family's unit (`# UNIT http_server_duration_seconds seconds`) when the family name
//! ends with `_<unit>`, as OpenMetrics 1.0 requires; the text format has no unit line, and a
//! name built without unit suffixes gets none. Nothing fails.

use std::fmt::Write as _;

use crate::shared::prom::names::{is_legacy_label_name, is_legacy_metric_name};
use crate::shared::prom::number::write_float;
use crate::shared::prom::{Label, MetricType, PromExemplar, Value};

use super::state::{DROPPED_METRIC, Family, Series, State};

/// The exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

/// How to write one page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub format: Format,
    /// The scraper accepts UTF-8 names (`escaping=allow-utf-8`).
    pub utf8: bool,
    /// Write each sample's timestamp (`send_timestamps`).
    pub timestamps: bool,
}

/// Writes the whole page of `state` into `out`.
pub(crate) fn render(state: &State, opts: Options, out: &mut String) {
    for (name, family) in state.families() {
        write_family(out, name, family, opts);
    }
    if !state.dropped().is_empty() {
        let help =
            "Data points the prometheus exporter did not put on this page, by metric and reason.";
        header(out, DROPPED_METRIC, MetricType::Counter, help, "", opts);
        for ((metric, reason), n) in state.dropped() {
            let labels = [
                Label::new("metric", metric.as_str()),
                Label::new("reason", *reason),
            ];
            sample(
                out,
                DROPPED_METRIC,
                "",
                &labels,
                None,
                *n as f64,
                None,
                None,
                opts,
            );
        }
    }
    if opts.format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
}

fn write_family(out: &mut String, name: &str, family: &Family, opts: Options) {
    header(out, name, family.kind, &family.help, &family.unit, opts);
    let mut series: Vec<(&Vec<Label>, &Series)> = family.series.iter().collect();
    series.sort_by(|a, b| a.0.cmp(b.0));
    for (labels, s) in series {
        let ts = opts.timestamps.then_some(s.value.time_ms);
        let exemplar = |i: usize| {
            (opts.format == Format::OpenMetrics)
                .then(|| s.exemplars.get(i).and_then(Option::as_ref))
                .flatten()
        };
        match &s.value.value {
            Value::Number(v) => {
                let suffix = counter_suffix(name, family.kind, opts.format);
                sample(out, name, suffix, labels, None, *v, ts, exemplar(0), opts);
            }
            Value::Histogram(h) => {
                let mut le = String::new();
                for (i, (bound, count)) in h.cumulative().enumerate() {
                    le.clear();
                    write_float(&mut le, bound);
                    let extra = Some(("le", le.as_str()));
                    sample(
                        out,
                        name,
                        "_bucket",
                        labels,
                        extra,
                        count as f64,
                        ts,
                        exemplar(i),
                        opts,
                    );
                }
                if let Some(sum) = h.sum {
                    sample(out, name, "_sum", labels, None, sum, ts, None, opts);
                }
                sample(
                    out,
                    name,
                    "_count",
                    labels,
                    None,
                    h.count as f64,
                    ts,
                    None,
                    opts,
                );
            }
            Value::Summary(sm) => {
                let mut q = String::new();
                for vq in sm.quantiles.iter() {
                    q.clear();
                    write_float(&mut q, vq.quantile);
                    let extra = Some(("quantile", q.as_str()));
                    sample(out, name, "", labels, extra, vq.value, ts, None, opts);
                }
                sample(out, name, "_sum", labels, None, sm.sum, ts, None, opts);
                sample(
                    out,
                    name,
                    "_count",
                    labels,
                    None,
                    sm.count as f64,
                    ts,
                    None,
                    opts,
                );
            }
        }
    }
}

/// The suffix a single-valued sample of family `name` gets: `_total` for OpenMetrics counters
/// whose name lacks it.
fn counter_suffix(name: &str, kind: MetricType, format: Format) -> &'static str {
    if kind == MetricType::Counter && format == Format::OpenMetrics && !name.ends_with("_total") {
        "_total"
    } else {
        ""
    }
}

/// `# HELP` (when there is help), `# TYPE` and, in OpenMetrics, `# UNIT` (when the family name
/// ends with `_<unit>`) lines.
fn header(out: &mut String, name: &str, kind: MetricType, help: &str, unit: &str, opts: Options) {
    let family = match (opts.format, kind) {
        (Format::OpenMetrics, MetricType::Counter) => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    if !help.is_empty() {
        out.push_str("# HELP ");
        write_bare_name(out, family, opts.utf8);
        out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '"' if opts.format == Format::OpenMetrics => out.push_str("\\\""),
                c => out.push(c),
            }
        }
        out.push('\n');
    }
    out.push_str("# TYPE ");
    write_bare_name(out, family, opts.utf8);
    out.push(' ');
    out.push_str(kind.as_str());
    out.push('\n');
    let named = family
        .strip_suffix(unit)
        .is_some_and(|rest| rest.len() > 1 && rest.ends_with('_'));
    if opts.format == Format::OpenMetrics && !unit.is_empty() && named {
        out.push_str("# UNIT ");
        write_bare_name(out, family, opts.utf8);
        out.push(' ');
        out.push_str(unit);
        out.push('\n');
    }
}

/// A name outside braces: as is, quoted (UTF-8 scrapers) or escaped.
fn write_bare_name(out: &mut String, name: &str, utf8: bool) {
    if is_legacy_metric_name(name) {
        out.push_str(name);
    } else if utf8 {
        write_quoted(out, name);
    } else {
        write_escaped(out, name, true);
    }
}

/// Characters outside `[a-zA-Z0-9_]` (and `:` in metric names) as `_`; a leading digit gets `_`.
fn write_escaped(out: &mut String, name: &str, metric: bool) {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    for c in name.chars() {
        let ok = c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':');
        out.push(if ok { c } else { '_' });
    }
}

/// `"text"` with `\`, `"` and newlines escaped.
fn write_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_label(out: &mut String, name: &str, value: &str, utf8: bool) {
    if is_legacy_label_name(name) {
        out.push_str(name);
    } else if utf8 {
        write_quoted(out, name);
    } else {
        write_escaped(out, name, false);
    }
    out.push('=');
    write_quoted(out, value);
}

/// One sample line: `name{labels,extra} value [timestamp] [# exemplar]`.
#[allow(clippy::too_many_arguments)]
fn sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[Label],
    extra: Option<(&str, &str)>,
    value: f64,
    ts: Option<i64>,
    exemplar: Option<&PromExemplar>,
    opts: Options,
) {
    let full_legacy = is_legacy_metric_name(name);
    let quoted = !full_legacy && opts.utf8;
    let mut first = true;
    let mut open = |out: &mut String| {
        out.push(if first { '{' } else { ',' });
        first = false;
    };
    if quoted {
        open(out);
        let mut full = String::with_capacity(name.len() + suffix.len());
        full.push_str(name);
        full.push_str(suffix);
        write_quoted(out, &full);
    } else {
        if full_legacy {
            out.push_str(name);
        } else {
            write_escaped(out, name, true);
        }
        out.push_str(suffix);
    }
    for l in labels {
        open(out);
        write_label(out, &l.name, &l.value, opts.utf8);
    }
    if let Some((n, v)) = extra {
        open(out);
        write_label(out, n, v, opts.utf8);
    }
    if !first {
        out.push('}');
    }
    out.push(' ');
    write_float(out, value);
    if let Some(ms) = ts {
        write_timestamp(out, ms, opts.format);
    }
    if let Some(e) = exemplar {
        out.push_str(" # {");
        for (i, (n, v)) in e.labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_label(out, n, v, false);
        }
        out.push_str("} ");
        write_float(out, e.value);
        if let Some(ms) = e.time_ms {
            write_timestamp(out, ms, Format::OpenMetrics);
        }
    }
    out.push('\n');
}

/// ` <timestamp>`: milliseconds in the text format, seconds in OpenMetrics.
fn write_timestamp(out: &mut String, ms: i64, format: Format) {
    let _ = match format {
        Format::Text => write!(out, " {ms}"),
        Format::OpenMetrics => write!(out, " {}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000)),
    };
}
