//! How two points of one series are merged, per point type (the rules are in `metrics.rs`):
//! numbers add (int + int stays an int, saturating; otherwise a double) or, in gauges, the
//! newest wins; explicit-bucket histograms add bucket by bucket, re-bucketed first onto the
//! bounds they share when their bounds differ; summaries are never merged. Exponential
//! histograms are in `merge_exp.rs`.
//!
//! Nothing here fails. A histogram whose buckets are malformed (not one count more than bounds,
//! or bounds not increasing) merges without buckets: its count, sum, min and max still add up.

use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::metrics::v1::{
    Exemplar, HistogramDataPoint, NumberDataPoint, SummaryDataPoint, number_data_point,
};

use super::metrics::{Kind, Merge, Point, keep_exemplars, merged_flags, no_value};

/// A point whose values can be added: a sum's number, a histogram.
pub(super) trait Summable {
    /// (start_time_unix_nano, time_unix_nano).
    fn window(&self) -> (u64, u64);
    /// Sets (start_time_unix_nano, time_unix_nano).
    fn set_window(&mut self, window: (u64, u64));
    /// Its flags.
    fn flags_mut(&mut self) -> &mut u32;
    /// Its exemplars.
    fn exemplars_mut(&mut self) -> &mut Vec<Exemplar>;
    /// Adds `other`'s values into `self`; both have recorded values.
    fn add(&mut self, other: &Self);
}

/// Adds `b` into `a` when `kind`'s time rules allow: the merged window, values (a point with
/// no recorded value adds nothing), flags and exemplars.
pub(super) fn add_into<P: Summable>(a: &mut P, b: &mut P, kind: Kind) -> Merge {
    let Some(window) = kind.window(a.window(), b.window()) else {
        return Merge::Apart;
    };
    if no_value(*a.flags_mut()) && !no_value(*b.flags_mut()) {
        std::mem::swap(a, b);
    }
    if !no_value(*b.flags_mut()) {
        a.add(b);
    }
    a.set_window(window);
    let flags = merged_flags(*a.flags_mut(), *b.flags_mut());
    *a.flags_mut() = flags;
    keep_exemplars(a.exemplars_mut(), b.exemplars_mut());
    Merge::Merged
}

/// `a` and `b` combined with `f`, where a side that counted nothing has nothing to say.
pub(super) fn combine(
    a: Option<f64>,
    a_count: u64,
    b: Option<f64>,
    b_count: u64,
    f: fn(f64, f64) -> f64,
) -> Option<f64> {
    match (a_count, b_count) {
        (_, 0) => a,
        (0, _) => b,
        _ => a.zip(b).map(|(x, y)| f(x, y)),
    }
}

impl Point for NumberDataPoint {
    fn parts(&mut self) -> (&mut Vec<KeyValue>, &mut [Exemplar]) {
        (&mut self.attributes, &mut self.exemplars)
    }
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
    fn merge(&mut self, other: &mut Self, kind: Kind) -> Merge {
        if kind != Kind::Gauge {
            return add_into(self, other, kind);
        }
        if other.time_unix_nano > self.time_unix_nano {
            std::mem::swap(self, other);
        }
        keep_exemplars(&mut self.exemplars, &mut other.exemplars);
        Merge::Merged
    }
}

impl Summable for NumberDataPoint {
    fn window(&self) -> (u64, u64) {
        (self.start_time_unix_nano, self.time_unix_nano)
    }
    fn set_window(&mut self, (start, time): (u64, u64)) {
        (self.start_time_unix_nano, self.time_unix_nano) = (start, time);
    }
    fn flags_mut(&mut self) -> &mut u32 {
        &mut self.flags
    }
    fn exemplars_mut(&mut self) -> &mut Vec<Exemplar> {
        &mut self.exemplars
    }
    fn add(&mut self, other: &Self) {
        use number_data_point::Value::{AsDouble, AsInt};
        self.value = match (self.value, other.value) {
            (Some(AsInt(a)), Some(AsInt(b))) => Some(AsInt(a.saturating_add(b))),
            (Some(AsDouble(a)), Some(AsDouble(b))) => Some(AsDouble(a + b)),
            (Some(AsInt(a)), Some(AsDouble(b))) | (Some(AsDouble(b)), Some(AsInt(a))) => {
                Some(AsDouble(a as f64 + b))
            }
            (a, None) => a,
            (None, b) => b,
        };
    }
}

impl Point for HistogramDataPoint {
    fn parts(&mut self) -> (&mut Vec<KeyValue>, &mut [Exemplar]) {
        (&mut self.attributes, &mut self.exemplars)
    }
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
    fn merge(&mut self, other: &mut Self, kind: Kind) -> Merge {
        add_into(self, other, kind)
    }
}

impl Summable for HistogramDataPoint {
    fn window(&self) -> (u64, u64) {
        (self.start_time_unix_nano, self.time_unix_nano)
    }
    fn set_window(&mut self, (start, time): (u64, u64)) {
        (self.start_time_unix_nano, self.time_unix_nano) = (start, time);
    }
    fn flags_mut(&mut self) -> &mut u32 {
        &mut self.flags
    }
    fn exemplars_mut(&mut self) -> &mut Vec<Exemplar> {
        &mut self.exemplars
    }
    fn add(&mut self, other: &Self) {
        if !well_formed(self) || !well_formed(other) {
            self.explicit_bounds.clear();
            self.bucket_counts.clear();
        } else if self.explicit_bounds == other.explicit_bounds {
            add_counts(&mut self.bucket_counts, &other.bucket_counts);
        } else {
            let shared: Vec<f64> = self
                .explicit_bounds
                .iter()
                .copied()
                .filter(|b| other.explicit_bounds.contains(b))
                .collect();
            let mut counts = rebucket(&self.explicit_bounds, &self.bucket_counts, &shared);
            let theirs = rebucket(&other.explicit_bounds, &other.bucket_counts, &shared);
            add_counts(&mut counts, &theirs);
            (self.explicit_bounds, self.bucket_counts) = (shared, counts);
        }
        let (a, b) = (self.count, other.count);
        self.sum = combine(self.sum, a, other.sum, b, |x, y| x + y);
        self.min = combine(self.min, a, other.min, b, f64::min);
        self.max = combine(self.max, a, other.max, b, f64::max);
        self.count = a.saturating_add(b);
    }
}

/// True when `p` has one bucket count more than bounds, and strictly increasing bounds.
fn well_formed(p: &HistogramDataPoint) -> bool {
    p.bucket_counts.len() == p.explicit_bounds.len() + 1
        && p.explicit_bounds.windows(2).all(|w| w[0] < w[1])
}

/// Adds `b` into `a`, element by element (equal lengths).
pub(super) fn add_counts(a: &mut [u64], b: &[u64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x = x.saturating_add(*y);
    }
}

/// The bucket counts of (`bounds`, `counts`) on `onto`, a subset of `bounds`: each bucket lies
/// wholly inside the first coarser bucket whose upper bound is at or above its own.
pub(super) fn rebucket(bounds: &[f64], counts: &[u64], onto: &[f64]) -> Vec<u64> {
    let mut out = vec![0u64; onto.len() + 1];
    for (i, c) in counts.iter().enumerate() {
        let j = match bounds.get(i) {
            Some(upper) => onto.partition_point(|o| o < upper),
            None => onto.len(), // the +Inf bucket
        };
        out[j] = out[j].saturating_add(*c);
    }
    out
}

impl Point for SummaryDataPoint {
    fn parts(&mut self) -> (&mut Vec<KeyValue>, &mut [Exemplar]) {
        (&mut self.attributes, &mut [])
    }
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
    fn merge(&mut self, _: &mut Self, _: Kind) -> Merge {
        Merge::Dropped // quantiles cannot be added
    }
}
