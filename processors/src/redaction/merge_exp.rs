//! Merging two exponential histogram points of one series: at the lower of their scales (the
//! finer one downscaled: bucket index `>>` the scale difference, which is floor division, so
//! negative indices stay right), and lower still while the merged positive or negative buckets
//! would span more than [`MAX_BUCKETS`] (or more than either point already had). Zero counts,
//! counts and bucket counts add; sum, min and max combine as for histograms; the larger zero
//! threshold is kept (buckets of the other point below it are left where they are: still
//! counted, only not folded into the zero bucket). The time rules are the histograms'.
//!
//! Nothing here fails: indices are computed in `i64`, and the scale never goes below
//! [`MIN_SCALE`], where every `f64` fits in a few buckets.

use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, exponential_histogram_data_point::Buckets,
};

use super::merge::{Summable, add_into, combine};
use super::metrics::{Kind, Merge, Point};

/// Most buckets per side a merged point gets (unless an input had more): the OpenTelemetry
/// SDKs' default `max_size`.
pub const MAX_BUCKETS: usize = 160;
/// The lowest scale the specification defines.
pub const MIN_SCALE: i32 = -10;

impl Point for ExponentialHistogramDataPoint {
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

impl Summable for ExponentialHistogramDataPoint {
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
        let sides = [
            (self.positive.as_ref(), other.positive.as_ref()),
            (self.negative.as_ref(), other.negative.as_ref()),
        ];
        let limit = sides
            .iter()
            .flat_map(|(a, b)| [a, b])
            .map(|b| b.map_or(0, |b| b.bucket_counts.len()))
            .fold(MAX_BUCKETS, usize::max);
        let mut scale = self.scale.min(other.scale).max(MIN_SCALE);
        while scale > MIN_SCALE
            && sides.iter().any(|(a, b)| {
                span(*a, self.scale, *b, other.scale, scale).is_some_and(|(lo, hi)| {
                    usize::try_from(hi - lo + 1).map_or(true, |n| n > limit)
                })
            })
        {
            scale -= 1;
        }
        self.positive = merged(
            self.positive.as_ref(),
            self.scale,
            other.positive.as_ref(),
            other.scale,
            scale,
        );
        self.negative = merged(
            self.negative.as_ref(),
            self.scale,
            other.negative.as_ref(),
            other.scale,
            scale,
        );
        self.scale = scale;
        self.zero_count = self.zero_count.saturating_add(other.zero_count);
        self.zero_threshold = self.zero_threshold.max(other.zero_threshold);
        let (a, b) = (self.count, other.count);
        self.sum = combine(self.sum, a, other.sum, b, |x, y| x + y);
        self.min = combine(self.min, a, other.min, b, f64::min);
        self.max = combine(self.max, a, other.max, b, f64::max);
        self.count = a.saturating_add(b);
    }
}

/// How far a bucket index at scale `from` moves right to be at scale `to` (`to <= from`).
fn shift(from: i32, to: i32) -> u32 {
    u32::try_from(i64::from(from) - i64::from(to))
        .unwrap_or(0)
        .min(63)
}

/// The first and last bucket index of `b` (at scale `from`) at scale `to`; `None` when empty.
fn range(b: Option<&Buckets>, from: i32, to: i32) -> Option<(i64, i64)> {
    let b = b.filter(|b| !b.bucket_counts.is_empty())?;
    let s = shift(from, to);
    let first = i64::from(b.offset);
    let last = first + i64::try_from(b.bucket_counts.len()).ok()? - 1;
    Some((first >> s, last >> s))
}

/// The index span both sides cover together at scale `to`.
fn span(a: Option<&Buckets>, sa: i32, b: Option<&Buckets>, sb: i32, to: i32) -> Option<(i64, i64)> {
    match (range(a, sa, to), range(b, sb, to)) {
        (Some((l1, h1)), Some((l2, h2))) => Some((l1.min(l2), h1.max(h2))),
        (one, other) => one.or(other),
    }
}

/// Both sides' buckets at scale `to`, added up; `None` when neither side had any.
fn merged(a: Option<&Buckets>, sa: i32, b: Option<&Buckets>, sb: i32, to: i32) -> Option<Buckets> {
    let Some((lo, hi)) = span(a, sa, b, sb, to) else {
        return a.or(b).map(|_| Buckets::default());
    };
    let len = usize::try_from(hi - lo + 1).unwrap_or(0);
    let mut counts = vec![0u64; len];
    for (side, from) in [(a, sa), (b, sb)] {
        let Some(side) = side else { continue };
        let s = shift(from, to);
        for (i, c) in (i64::from(side.offset)..).zip(&side.bucket_counts) {
            if let Some(slot) = usize::try_from((i >> s) - lo)
                .ok()
                .and_then(|k| counts.get_mut(k))
            {
                *slot = slot.saturating_add(*c);
            }
        }
    }
    Some(Buckets {
        offset: i32::try_from(lo).unwrap_or(i32::MIN),
        bucket_counts: counts,
    })
}
