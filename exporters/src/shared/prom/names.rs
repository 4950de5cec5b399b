//! Metric and label names, following Prometheus' OTLP translation (`otlptranslator`, which the
//! Collector uses too), and [`Names`], which caches them so a name is worked out once per
//! metric, not once per data point.
//!
//! - Metric names (escaping strategies): the name is split into tokens at every character other
//!   than `[a-zA-Z0-9:]` (so runs of `_` collapse), the unit's suffix is added unless a token
//!   already is it (`s` → `seconds`, `By` → `bytes`, `By/s` → `bytes_per_second`; units in
//!   braces such as `{request}` add nothing), `total` moves to the end of monotonic counters,
//!   `ratio` is added to gauges of unit `1`, the namespace goes first, and a name starting with a
//!   digit gets a leading `_`.
//! - Label names: characters other than `[a-zA-Z0-9_]` become `_`; a leading digit gets `key_`,
//!   a single leading `_` gets `key` (`__reserved` stays).
//!
//! A name that would come out empty or only underscores is `None`: the caller skips the metric
//! or the attribute. Nothing here fails otherwise.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::config::TranslationStrategy;
use super::model::MetricType;

/// Entries kept per cache before it is emptied and starts again (bounds memory when names are
/// unbounded, e.g. an attribute key per user).
const MAX_CACHED: usize = 16_384;

/// What a metric is, as far as its name is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    /// A gauge (gets `_ratio` with unit `1`).
    Gauge,
    /// A monotonic sum: a counter (gets `_total`).
    MonotonicCounter,
    /// A non-monotonic sum, exposed as a gauge (no `_total`, no `_ratio`).
    NonMonotonicCounter,
    /// An explicit or exponential histogram.
    Histogram,
    /// A summary.
    Summary,
}

/// The Prometheus unit word of an OTLP (UCUM) unit; unknown units pass through.
fn main_unit(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tebibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

/// The word after `per_` of the denominator of an OTLP unit.
fn per_unit(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

/// `(main, per)` suffixes of `unit` before any escaping: `By/s` → `("bytes", "per_second")`.
fn unit_suffixes(unit: &str) -> (String, String) {
    let (main, per) = match unit.split_once('/') {
        Some((m, p)) => (m.trim(), Some(p.trim())),
        None => (unit.trim(), None),
    };
    let braced = |u: &str| u.contains(['{', '}']);
    let main = if main.is_empty() || braced(main) {
        String::new()
    } else {
        main_unit(main).to_owned()
    };
    let per = match per {
        Some(p) if !p.is_empty() && !braced(p) => format!("per_{}", per_unit(p)),
        _ => String::new(),
    };
    (main, per)
}

fn is_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// A unit suffix escaped: invalid characters to `_`, runs of `_` collapsed, no leading `_`.
fn clean_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if is_metric_char(c) { c } else { '_' };
        if !(c == '_' && (out.is_empty() || out.ends_with('_'))) {
            out.push(c);
        }
    }
    out
}

/// The unit word(s) a name built from OTLP `unit` ends with, as OpenMetrics' `# UNIT` line
/// names them: `seconds`, `bytes_per_second`, `ratio` for gauges of unit `1`; empty when the
/// unit adds no suffix (`{request}`, `1` on other types, no unit). The same words
/// [`normalize_name`] appends; whether a given name really ends with them is the caller's check.
pub fn unit_suffix(unit: &str, kind: MetricType) -> String {
    if unit == "1" {
        return if kind == MetricType::Gauge {
            "ratio".into()
        } else {
            String::new()
        };
    }
    let (main, per) = unit_suffixes(unit);
    let (main, per) = (clean_unit(&main), clean_unit(&per));
    [main.trim_end_matches('_'), per.trim_end_matches('_')]
        .into_iter()
        .filter(|p| !p.is_empty() && *p != "per")
        .collect::<Vec<_>>()
        .join("_")
}

/// The escaped name with suffixes (`otlptranslator`'s `normalizeName`).
fn normalize_name(name: &str, unit: &str, kind: NameKind, namespace: &str) -> String {
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_metric_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let (main, per) = unit_suffixes(unit);
    let (main, per) = (clean_unit(&main), clean_unit(&per));
    let main = main.trim_end_matches('_');
    let per = per.trim_end_matches('_');
    for suffix in [main, per] {
        if !suffix.is_empty() && suffix != "per" && !tokens.iter().any(|t| t == suffix) {
            tokens.push(suffix.to_owned());
        }
    }
    if kind == NameKind::MonotonicCounter {
        tokens.retain(|t| t != "total");
        tokens.push("total".into());
    }
    if unit == "1" && kind == NameKind::Gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".into());
    }
    if !namespace.is_empty() {
        tokens.insert(0, namespace.to_owned());
    }
    let mut out = tokens.join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Escaped, no suffixes: invalid characters split tokens that are joined with `_`.
fn escape_without_suffixes(name: &str, namespace: &str) -> String {
    let join = |s: &str| {
        s.split(|c: char| !(is_metric_char(c) || c == '_'))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("_")
    };
    let metric = join(name);
    if !namespace.is_empty() {
        return format!("{}_{metric}", join(namespace));
    }
    if metric.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("_{metric}");
    }
    metric
}

/// `name` with `_<suffix>` removed from its end, when it is longer than that.
fn trim_suffix<'a>(name: &'a str, suffix: &str) -> &'a str {
    if name.len() > suffix.len() + 1 && name.ends_with(suffix) {
        &name[..name.len() - suffix.len() - 1]
    } else {
        name
    }
}

/// UTF-8 names kept as they are, with suffixes (`otlptranslator`'s `buildMetricName`).
fn utf8_with_suffixes(name: &str, unit: &str, kind: NameKind) -> String {
    let ratio = unit == "1" && kind == NameKind::Gauge;
    let total = kind == NameKind::MonotonicCounter;
    let mut base = name;
    if ratio {
        base = trim_suffix(base, "ratio");
    }
    if total {
        base = trim_suffix(base, "total");
    }
    let (main, per) = unit_suffixes(unit);
    if !per.is_empty() {
        base = trim_suffix(base, &per);
    }
    let mut out = base.to_owned();
    if !main.is_empty() && !out.ends_with(&main) {
        out = format!("{out}_{main}");
    }
    for (on, suffix) in [
        (!per.is_empty(), per.as_str()),
        (total, "total"),
        (ratio, "ratio"),
    ] {
        if on {
            out.push('_');
            out.push_str(suffix);
        }
    }
    out
}

/// The Prometheus name of an OTLP metric, or `None` when nothing valid is left of it.
pub fn metric_name(
    name: &str,
    unit: &str,
    kind: NameKind,
    namespace: &str,
    strategy: TranslationStrategy,
) -> Option<String> {
    let out = match strategy {
        TranslationStrategy::UnderscoreEscapingWithSuffixes => {
            normalize_name(name, unit, kind, namespace)
        }
        TranslationStrategy::UnderscoreEscapingWithoutSuffixes => {
            escape_without_suffixes(name, namespace)
        }
        TranslationStrategy::NoUtf8EscapingWithSuffixes | TranslationStrategy::NoTranslation => {
            let full = if namespace.is_empty() {
                name.to_owned()
            } else {
                format!("{namespace}_{name}")
            };
            if strategy.adds_suffixes() {
                utf8_with_suffixes(&full, unit, kind)
            } else {
                full
            }
        }
    };
    let invalid = out.is_empty() || (out != name && out.bytes().all(|b| b == b'_'));
    (!invalid).then_some(out)
}

/// The Prometheus label name of an attribute key, or `None` when nothing valid is left of it.
pub fn label_name(key: &str, escape: bool) -> Option<String> {
    if key.is_empty() {
        return None;
    }
    if !escape {
        return Some(key.to_owned());
    }
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    } else if out.starts_with('_') && !out.starts_with("__") {
        out.insert_str(0, "key");
    }
    if out != key && out.bytes().all(|b| b == b'_') {
        return None;
    }
    Some(out)
}

/// True for a name every Prometheus version accepts as a metric name:
/// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_legacy_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// True for a name every Prometheus version accepts as a label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_legacy_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Metric names cached by OTLP name (then unit and kind).
type MetricCache = HashMap<String, Vec<(String, NameKind, Option<Arc<str>>)>>;

/// Metric and label names for one exporter's settings, each worked out once and cached.
#[derive(Debug)]
pub struct Names {
    strategy: TranslationStrategy,
    namespace: String,
    metrics: RwLock<MetricCache>,
    labels: RwLock<HashMap<String, Option<Arc<str>>>>,
}

impl Names {
    /// Names for `strategy`, every metric name prefixed with `namespace` (escaped the same way).
    pub fn new(strategy: TranslationStrategy, namespace: &str) -> Self {
        let namespace = if strategy.escapes() {
            escape_without_suffixes(namespace, "")
                .trim_start_matches('_')
                .to_owned()
        } else {
            namespace.to_owned()
        };
        Self {
            strategy,
            namespace,
            metrics: RwLock::new(HashMap::new()),
            labels: RwLock::new(HashMap::new()),
        }
    }

    /// The strategy names are built with.
    pub fn strategy(&self) -> TranslationStrategy {
        self.strategy
    }

    /// The Prometheus name of the OTLP metric `name` of `unit` and `kind`.
    pub fn metric(&self, name: &str, unit: &str, kind: NameKind) -> Option<Arc<str>> {
        if let Some(found) = self.metrics.read().get(name).and_then(|v| {
            v.iter()
                .find(|(u, k, _)| u == unit && *k == kind)
                .map(|(_, _, n)| n.clone())
        }) {
            return found;
        }
        let built: Option<Arc<str>> =
            metric_name(name, unit, kind, &self.namespace, self.strategy).map(Arc::from);
        let mut cache = self.metrics.write();
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache
            .entry(name.to_owned())
            .or_default()
            .push((unit.to_owned(), kind, built.clone()));
        built
    }

    /// The Prometheus label name of the attribute key `key`.
    pub fn label(&self, key: &str) -> Option<Arc<str>> {
        if let Some(found) = self.labels.read().get(key) {
            return found.clone();
        }
        let built: Option<Arc<str>> = label_name(key, self.strategy.escapes()).map(Arc::from);
        let mut cache = self.labels.write();
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(key.to_owned(), built.clone());
        built
    }
}
