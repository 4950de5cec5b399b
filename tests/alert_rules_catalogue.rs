//! The Prometheus files in `examples/prometheus/` against weir's metric catalogue
//! (`weir_pipeline::metrics::catalogue::ALL`): every `weir_*` name an alert expression or a rule
//! test's input series uses exists (a histogram as `_bucket`, `_sum` or `_count`), and every
//! label a selector matches, or an expression groups by, is one the metric has (or `job` and
//! `instance`, which the scrape adds). A renamed metric or label breaks this test, not the
//! alerts in production, silently.

use std::collections::BTreeSet;
use std::path::PathBuf;

use weir_pipeline::metrics::catalogue::ALL;
use weir_pipeline::metrics::{MetricDef, MetricKind};

/// Labels every scraped series has, whatever weir writes.
const TARGET_LABELS: [&str; 2] = ["job", "instance"];

/// Grouping keywords followed by a parenthesised label list.
const GROUPINGS: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// A metric name as Prometheus sees it: its catalogue entry, and the extra labels the name adds
/// (`le` on a histogram's buckets).
struct Resolved {
    def: &'static MetricDef,
    extra: &'static [&'static str],
}

/// The catalogue entry behind `name`, when weir writes a series of that name.
fn resolve(name: &str) -> Option<Resolved> {
    ALL.iter().find_map(|def| {
        if def.name == name {
            return Some(Resolved { def, extra: &[] });
        }
        if def.kind != MetricKind::Histogram {
            return None;
        }
        match name.strip_prefix(def.name)? {
            "_bucket" => Some(Resolved {
                def,
                extra: &["le"],
            }),
            "_sum" | "_count" => Some(Resolved { def, extra: &[] }),
            _ => None,
        }
    })
}

/// What [`check`] found wrong in one expression, one line each.
type Problems = Vec<String>;

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Reads a quoted string starting at `chars[*i]` (`"` or `'`), moving past it.
fn string(chars: &[char], i: &mut usize) -> String {
    let quote = chars[*i];
    *i += 1;
    let mut out = String::new();
    while *i < chars.len() && chars[*i] != quote {
        if chars[*i] == '\\' && *i + 1 < chars.len() {
            *i += 1;
        }
        out.push(chars[*i]);
        *i += 1;
    }
    *i += 1;
    out
}

fn skip_space(chars: &[char], i: &mut usize) {
    while *i < chars.len() && chars[*i].is_whitespace() {
        *i += 1;
    }
}

fn ident(chars: &[char], i: &mut usize) -> String {
    let start = *i;
    while *i < chars.len() && is_ident(chars[*i]) {
        *i += 1;
    }
    chars[start..*i].iter().collect()
}

/// The matchers of a selector body starting after `{`, as (label, operator, value), moving past
/// the closing `}`.
fn matchers(chars: &[char], i: &mut usize) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    loop {
        skip_space(chars, i);
        if *i >= chars.len() || chars[*i] == '}' {
            *i += 1;
            return out;
        }
        if chars[*i] == ',' {
            *i += 1;
            continue;
        }
        let label = ident(chars, i);
        skip_space(chars, i);
        let op_start = *i;
        while *i < chars.len() && "=!~".contains(chars[*i]) {
            *i += 1;
        }
        let op: String = chars[op_start..*i].iter().collect();
        skip_space(chars, i);
        let value = if *i < chars.len() && (chars[*i] == '"' || chars[*i] == '\'') {
            string(chars, i)
        } else {
            String::new()
        };
        if label.is_empty() || op.is_empty() {
            *i += 1; // not a matcher: step on, the checks below report what is missing
        }
        out.push((label, op, value));
    }
}

/// Checks one PromQL expression (or one rule test's series) against the catalogue.
fn check(expr: &str) -> Problems {
    let chars: Vec<char> = expr.chars().collect();
    let mut problems = Vec::new();
    // Labels of the weir metrics the expression selects, for its `by (...)` clauses.
    let mut selected: BTreeSet<&str> = BTreeSet::new();
    let mut uses_weir = false;
    let mut groupings: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            string(&chars, &mut i);
            continue;
        }
        if c == '{' {
            // A selector without a metric name: `{__name__=~"..."}`.
            i += 1;
            let ms = matchers(&chars, &mut i);
            let by_name: Vec<&(String, String, String)> =
                ms.iter().filter(|m| m.0 == "__name__").collect();
            let [(_, op, pattern)] = by_name.as_slice() else {
                problems.push(format!("a selector without one __name__ matcher: {ms:?}"));
                continue;
            };
            let re = match regex::Regex::new(&format!("^(?:{pattern})$")) {
                Ok(re) => re,
                Err(e) => {
                    problems.push(format!("__name__{op}{pattern:?}: {e}"));
                    continue;
                }
            };
            let defs: Vec<&MetricDef> = if op.starts_with('=') && op.len() == 2 {
                ALL.iter().filter(|d| re.is_match(d.name)).collect()
            } else {
                ALL.iter().filter(|d| d.name == pattern).collect()
            };
            if defs.is_empty() {
                problems.push(format!("__name__{op}{pattern:?} matches no weir metric"));
            }
            uses_weir = true;
            for def in &defs {
                selected.extend(def.labels.iter().copied());
                for (label, _, _) in ms.iter().filter(|m| m.0 != "__name__") {
                    if !def.labels.contains(&label.as_str()) && !TARGET_LABELS.contains(&&**label) {
                        problems.push(format!("{} has no label {label:?}", def.name));
                    }
                }
            }
            continue;
        }
        if !is_ident_start(c) {
            i += 1;
            continue;
        }
        let name = ident(&chars, &mut i);
        let mut j = i;
        skip_space(&chars, &mut j);
        if GROUPINGS.contains(&name.as_str()) && j < chars.len() && chars[j] == '(' {
            let close = chars[j..]
                .iter()
                .position(|&c| c == ')')
                .map_or(chars.len(), |p| j + p);
            let list: String = chars[j + 1..close].iter().collect();
            groupings.extend(
                list.split(',')
                    .map(|l| l.trim().to_owned())
                    .filter(|l| !l.is_empty()),
            );
            i = close + 1;
            continue;
        }
        let followed_by_selector = j < chars.len() && chars[j] == '{';
        if !name.starts_with("weir_") {
            if followed_by_selector {
                i = j + 1;
                matchers(&chars, &mut i); // another metric's selector (`up{job="weir"}`)
            }
            continue;
        }
        uses_weir = true;
        let Some(resolved) = resolve(&name) else {
            problems.push(format!("{name} is not in the metric catalogue"));
            continue;
        };
        selected.extend(resolved.def.labels.iter().copied());
        selected.extend(resolved.extra.iter().copied());
        if followed_by_selector {
            i = j + 1;
            for (label, op, _) in matchers(&chars, &mut i) {
                let known = resolved.def.labels.contains(&label.as_str())
                    || resolved.extra.contains(&label.as_str())
                    || TARGET_LABELS.contains(&label.as_str());
                if !known || !["=", "!=", "=~", "!~"].contains(&op.as_str()) {
                    problems.push(format!(
                        "{name} has no label {label:?} (matcher {label}{op})"
                    ));
                }
            }
        }
    }
    if uses_weir {
        for label in groupings {
            if !selected.contains(label.as_str()) && !TARGET_LABELS.contains(&label.as_str()) {
                problems.push(format!(
                    "grouping by {label:?}, which no selected weir metric has"
                ));
            }
        }
    }
    problems
}

fn examples() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/prometheus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Every `expr` of a rule or an expression test, and every `series` of a rule test's input,
/// anywhere in `value`, with its path.
fn expressions(value: &serde_yaml_ng::Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        serde_yaml_ng::Value::Mapping(map) => {
            for (k, v) in map {
                let key = k.as_str().unwrap_or_default();
                let here = format!("{path}.{key}");
                match (key, v.as_str()) {
                    ("expr" | "series", Some(text)) => out.push((here, text.to_owned())),
                    _ => expressions(v, &here, out),
                }
            }
        }
        serde_yaml_ng::Value::Sequence(items) => {
            for (n, v) in items.iter().enumerate() {
                expressions(v, &format!("{path}[{n}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_weir_metric_and_label_the_alert_rules_use_is_in_the_catalogue() {
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut weir_names = 0;
    for file in examples() {
        let text = std::fs::read_to_string(&file).expect("read rules file");
        let yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut found = Vec::new();
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        expressions(&yaml, name, &mut found);
        for (path, expr) in found {
            checked += 1;
            weir_names += usize::from(expr.contains("weir_"));
            problems.extend(check(&expr).into_iter().map(|p| format!("{path}: {p}")));
        }
    }
    // The files were read: the alerts and their tests hold dozens of expressions.
    assert!(checked >= 20, "only {checked} expressions found");
    assert!(weir_names >= 10, "only {weir_names} name weir metrics");
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_check_catches_unknown_names_and_labels() {
    let ok = "sum by (tenant, reason) (rate(weir_receiver_refused_records_total{signal=\"logs\",job=\"weir\"}[5m])) \
              / on (tenant) group_left sum by (tenant) (rate({__name__=~\"weir_receiver_(accepted|refused)_records_total\"}[5m])) \
              + histogram_quantile(0.9, sum by (le, route) (rate(weir_http_request_duration_seconds_bucket[5m]))) \
              + up{job=\"weir\"}";
    assert_eq!(check(ok), Problems::new());
    for (bad, why) in [
        (
            "rate(weir_receiver_refused_record_total[5m])",
            "not in the metric catalogue",
        ),
        (
            "weir_exporter_queue_records{tenant=\"a\"}",
            "no label \"tenant\"",
        ),
        (
            "weir_exporter_sent_records_total_bucket",
            "not in the metric catalogue",
        ),
        ("weir_ready_count", "not in the metric catalogue"),
        (
            "sum by (tenant) (weir_exporter_sent_records_total)",
            "grouping by \"tenant\"",
        ),
        ("{__name__=~\"weir_nothing_.*\"}", "matches no weir metric"),
        (
            "{__name__=\"weir_ready\", exporter=\"x\"}",
            "no label \"exporter\"",
        ),
    ] {
        let problems = check(bad);
        assert!(
            problems.iter().any(|p| p.contains(why)),
            "{bad}: expected a problem saying {why:?}, got {problems:?}"
        );
    }
}
