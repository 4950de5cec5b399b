//! Histograms with explicit buckets, the only kind the text formats and remote write 1.0 carry:
//! OTLP explicit histograms checked and normalised, and exponential histograms converted.
//!
//! - Explicit: bounds must be finite and strictly increasing with one more count than bounds;
//!   otherwise they are sorted, equal bounds merged, and missing counts taken as 0 (the
//!   Collector's reading of such points). Counts past the last bound go to `+Inf`.
//! - Exponential: buckets are first merged down to at most scale [`MAX_SCALE`] (each bucket
//!   at most ~9% wide, and boundaries that stay put when the SDK lowers its scale), then written
//!   as `le` bounds: negative buckets (most negative first, bound `-base^i`), the zero bucket
//!   (bound `zero_threshold`, when it or a negative bucket holds anything), positive buckets
//!   (bound `base^(i+1)`). Scales outside OTLP's -10..=20 are refused (`None`).
//!
//! Cumulative counts saturate at `u64::MAX` and never exceed `count` (the `+Inf` bucket and
//! `_count`), so malformed or huge counts never panic and never make `le` series decrease.

use std::borrow::Cow;

use weir_pipeline::otlp::metrics::v1::ExponentialHistogramDataPoint;
use weir_pipeline::otlp::metrics::v1::exponential_histogram_data_point::Buckets;

/// Scale exponential histograms are merged down to, at most.
pub const MAX_SCALE: i32 = 3;

/// A histogram with explicit buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram<'a> {
    /// Upper bounds (`le`), finite and strictly increasing; `+Inf` is implicit.
    pub bounds: Cow<'a, [f64]>,
    /// Count per bucket (not cumulative): one per bound, then the overflow bucket.
    pub counts: Cow<'a, [u64]>,
    /// Sum of the observations, when known.
    pub sum: Option<f64>,
    /// Number of observations: the `+Inf` bucket and `_count`.
    pub count: u64,
}

impl Histogram<'_> {
    /// The histogram with owned buckets.
    pub fn into_owned(self) -> Histogram<'static> {
        Histogram {
            bounds: Cow::Owned(self.bounds.into_owned()),
            counts: Cow::Owned(self.counts.into_owned()),
            sum: self.sum,
            count: self.count,
        }
    }

    /// `(le, cumulative count)` for every bound, then `(+Inf, count)`.
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let mut running = 0u64;
        self.bounds
            .iter()
            .zip(self.counts.iter())
            .map(move |(le, c)| {
                running = running.saturating_add(*c);
                (*le, running.min(self.count))
            })
            .chain(std::iter::once((f64::INFINITY, self.count)))
    }

    /// Index of the bucket holding `value` (the first whose bound is `>= value`).
    pub fn bucket_of(&self, value: f64) -> usize {
        self.bounds.partition_point(|b| *b < value)
    }

    /// Adds `other`'s observations (same bounds required; returns false otherwise).
    pub fn add(&mut self, other: &Histogram<'_>) -> bool {
        if self.bounds.as_ref() != other.bounds.as_ref() {
            return false;
        }
        for (a, b) in self.counts.to_mut().iter_mut().zip(other.counts.iter()) {
            *a = a.saturating_add(*b);
        }
        self.count = self.count.saturating_add(other.count);
        self.sum = match (self.sum, other.sum) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        true
    }
}

/// An OTLP explicit-bucket histogram point's buckets, normalised.
pub fn explicit<'a>(
    bounds: &'a [f64],
    counts: &'a [u64],
    sum: Option<f64>,
    count: u64,
) -> Histogram<'a> {
    let well_formed = counts.len() == bounds.len() + 1
        && bounds.iter().all(|b| b.is_finite())
        && bounds.windows(2).all(|w| w[0] < w[1]);
    if counts.is_empty() {
        return Histogram {
            bounds: Cow::Borrowed(&[]),
            counts: Cow::Owned(vec![count]),
            sum,
            count,
        };
    }
    if well_formed {
        return Histogram {
            bounds: Cow::Borrowed(bounds),
            counts: Cow::Borrowed(counts),
            sum,
            count,
        };
    }
    let mut pairs: Vec<(f64, u64)> = Vec::with_capacity(bounds.len() + 1);
    let mut overflow = 0u64;
    for (i, b) in bounds.iter().enumerate() {
        let c = counts.get(i).copied().unwrap_or(0);
        if b.is_finite() {
            pairs.push((*b, c));
        } else if *b < 0.0 {
            pairs.push((f64::MIN, c));
        } else {
            overflow = overflow.saturating_add(c); // +Inf or NaN: the overflow bucket
        }
    }
    overflow = counts
        .iter()
        .skip(bounds.len())
        .fold(overflow, |acc, c| acc.saturating_add(*c));
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    from_pairs(pairs, overflow, sum, count)
}

/// A histogram from ascending `(bound, count)` pairs (equal bounds merged) and the overflow.
fn from_pairs(
    pairs: Vec<(f64, u64)>,
    overflow: u64,
    sum: Option<f64>,
    count: u64,
) -> Histogram<'static> {
    let mut bounds: Vec<f64> = Vec::with_capacity(pairs.len());
    let mut counts: Vec<u64> = Vec::with_capacity(pairs.len() + 1);
    for (b, c) in pairs {
        match (bounds.last(), counts.last_mut()) {
            (Some(last), Some(lc)) if *last >= b => *lc = lc.saturating_add(c),
            _ => {
                bounds.push(b);
                counts.push(c);
            }
        }
    }
    counts.push(overflow);
    Histogram {
        bounds: Cow::Owned(bounds),
        counts: Cow::Owned(counts),
        sum,
        count,
    }
}

/// The upper boundary of exponential bucket `index` at `scale`: `2^((index + 1) * 2^-scale)`.
fn upper_bound(index: i64, scale: i32) -> f64 {
    let exponent = (index + 1) as f64 / f64::from(scale).exp2();
    exponent.exp2()
}

/// Counts of `buckets` merged down by `shift` scales, keyed by the new index (ascending).
fn merged(offset: i32, counts: &[u64], shift: u32) -> Vec<(i64, u64)> {
    let mut out: Vec<(i64, u64)> = Vec::with_capacity(counts.len());
    for (i, c) in counts.iter().enumerate() {
        let index = (i64::from(offset) + i as i64) >> shift;
        match out.last_mut() {
            Some((last, lc)) if *last == index => *lc = lc.saturating_add(*c),
            _ => out.push((index, *c)),
        }
    }
    out
}

/// An exponential histogram point as explicit buckets, or `None` for a scale OTLP forbids.
pub fn from_exponential(dp: &ExponentialHistogramDataPoint) -> Option<Histogram<'static>> {
    if !(-10..=20).contains(&dp.scale) {
        return None;
    }
    let scale = dp.scale.min(MAX_SCALE);
    let shift = (dp.scale - scale).unsigned_abs();
    let bucket = |b: Option<&Buckets>| {
        b.map_or_else(Vec::new, |b| merged(b.offset, &b.bucket_counts, shift))
    };
    let negative = bucket(dp.negative.as_ref());
    let positive = bucket(dp.positive.as_ref());
    let mut pairs: Vec<(f64, u64)> = Vec::with_capacity(negative.len() + positive.len() + 1);
    // Negative bucket i holds values in [-base^(i+1), -base^i): most negative first.
    for (index, c) in negative.iter().rev() {
        pairs.push((-upper_bound(index - 1, scale), *c));
    }
    if dp.zero_count > 0 || !negative.is_empty() {
        pairs.push((dp.zero_threshold.max(0.0), dp.zero_count));
    }
    for (index, c) in &positive {
        pairs.push((upper_bound(*index, scale), *c));
    }
    // Bounds that overflowed to infinity belong to the +Inf bucket.
    let mut overflow = 0u64;
    pairs.retain(|(b, c)| {
        let finite = b.is_finite();
        if !finite && *b > 0.0 {
            overflow = overflow.saturating_add(*c);
        }
        finite || *b < 0.0
    });
    for p in pairs.iter_mut().filter(|p| !p.0.is_finite()) {
        p.0 = f64::MIN;
    }
    Some(from_pairs(pairs, overflow, dp.sum, dp.count))
}
