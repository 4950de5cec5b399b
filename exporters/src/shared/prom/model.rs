//! The translated forms the exporters consume: a [`Point`] (its [`Family`], labels, [`Value`],
//! times, delta and staleness flags, exemplars) and the [`Skipped`] tally. Plain data; nothing
//! here fails.

use std::borrow::Cow;
use std::sync::Arc;

use weir_pipeline::otlp::metrics::v1::Exemplar;
use weir_pipeline::otlp::metrics::v1::summary_data_point::ValueAtQuantile;

use super::buckets::Histogram;
use super::labels::Label;

/// The Prometheus type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// A monotonic sum.
    Counter,
    /// A gauge, or a non-monotonic sum.
    Gauge,
    /// An explicit or exponential histogram.
    Histogram,
    /// A summary.
    Summary,
}

impl MetricType {
    /// The type's name in the text formats.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
        }
    }
}

/// The metric a point belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Family<'a> {
    /// The Prometheus name (`http_requests_total`; for histograms and summaries the name the
    /// `_bucket`, `_sum` and `_count` suffixes go on).
    pub name: &'a Arc<str>,
    /// The Prometheus type.
    pub kind: MetricType,
    /// The OTLP description.
    pub help: &'a str,
    /// The OTLP unit.
    pub unit: &'a str,
}

/// A summary point.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary<'a> {
    /// Quantiles and their values, as sent.
    pub quantiles: Cow<'a, [ValueAtQuantile]>,
    /// Sum of the observations.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

/// A point's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// A gauge or sum value (NaN and infinities included).
    Number(f64),
    /// A histogram.
    Histogram(Histogram<'a>),
    /// A summary.
    Summary(Summary<'a>),
}

impl Value<'_> {
    /// The value, owning its data.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Number(n) => Value::Number(n),
            Value::Histogram(h) => Value::Histogram(h.into_owned()),
            Value::Summary(s) => Value::Summary(Summary {
                quantiles: Cow::Owned(s.quantiles.into_owned()),
                sum: s.sum,
                count: s.count,
            }),
        }
    }
}

/// One translated data point.
#[derive(Debug, Clone)]
pub struct Point<'a> {
    /// Its metric.
    pub family: Family<'a>,
    /// Its labels, sorted by name (without `__name__`, `le` or `quantile`).
    pub labels: &'a [Label],
    /// Its value.
    pub value: Value<'a>,
    /// Start of the interval (ms since the epoch; 0 when unknown).
    pub start_ms: i64,
    /// When the value was taken (ms since the epoch; the export's time when the SDK sent 0).
    pub time_ms: i64,
    /// A delta (only monotonic sums and histograms are passed as deltas).
    pub delta: bool,
    /// OTLP's no-recorded-value flag: the series ended.
    pub stale: bool,
    /// OTLP exemplars (counters and histograms only).
    pub exemplars: &'a [Exemplar],
}

/// Data points skipped, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    /// The metric name (or, rarely, nothing of it) was not a valid name.
    pub invalid_name: u64,
    /// A sum or histogram without aggregation temporality.
    pub unspecified_temporality: u64,
    /// A non-monotonic sum with delta temporality.
    pub delta_non_monotonic: u64,
    /// A number point without a value.
    pub no_value: u64,
    /// An exponential histogram of a scale outside -10..=20.
    pub invalid_scale: u64,
    /// The OTLP name of the first skipped metric, for a log line.
    pub example: Option<String>,
}

impl Skipped {
    /// Points skipped for any reason.
    pub fn total(&self) -> u64 {
        self.invalid_name
            + self.unspecified_temporality
            + self.delta_non_monotonic
            + self.no_value
            + self.invalid_scale
    }

    /// Logs the skipped points of `exporter` at warn, with the reasons.
    pub fn log(&self, exporter: &str) {
        tracing::warn!(
            exporter,
            example = self.example.as_deref().unwrap_or(""),
            invalid_name = self.invalid_name,
            unspecified_temporality = self.unspecified_temporality,
            delta_non_monotonic = self.delta_non_monotonic,
            no_value = self.no_value,
            invalid_scale = self.invalid_scale,
            "data points that have no Prometheus form were skipped (logged at most once a minute)"
        );
    }

    /// Counts `n` points of `metric` under `reason`.
    pub(super) fn note(&mut self, metric: &str, n: usize, reason: fn(&mut Self) -> &mut u64) {
        *reason(self) += n as u64;
        if n > 0 && self.example.is_none() {
            self.example = Some(metric.to_owned());
        }
    }
}
