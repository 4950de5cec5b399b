//! Explicit and exponential histograms as `le` buckets.

use weir_pipeline::otlp::metrics::v1::ExponentialHistogramDataPoint;
use weir_pipeline::otlp::metrics::v1::exponential_histogram_data_point::Buckets;

use crate::shared::prom::buckets::{Histogram, MAX_SCALE, explicit, from_exponential};

fn cumulative(h: &Histogram<'_>) -> Vec<(f64, u64)> {
    h.cumulative().collect()
}

#[test]
fn explicit_buckets_become_cumulative_with_inf_equal_to_count() {
    let h = explicit(&[1.0, 5.0], &[2, 3, 4], Some(20.0), 9);
    assert_eq!(cumulative(&h), [(1.0, 2), (5.0, 5), (f64::INFINITY, 9)]);
    assert_eq!(h.bucket_of(0.5), 0);
    assert_eq!(h.bucket_of(1.0), 0, "le is inclusive");
    assert_eq!(h.bucket_of(6.0), 2, "past the last bound: +Inf");
}

#[test]
fn empty_histograms_have_only_the_inf_bucket() {
    let h = explicit(&[], &[], None, 0);
    assert_eq!(cumulative(&h), [(f64::INFINITY, 0)]);
    let bounds_no_counts = explicit(&[1.0, 2.0], &[], Some(3.0), 2);
    assert_eq!(cumulative(&bounds_no_counts), [(f64::INFINITY, 2)]);
}

#[test]
fn huge_bucket_counts_saturate_instead_of_overflowing() {
    let h = explicit(&[1.0, 2.0], &[u64::MAX, u64::MAX, 5], None, u64::MAX);
    assert_eq!(
        cumulative(&h),
        [(1.0, u64::MAX), (2.0, u64::MAX), (f64::INFINITY, u64::MAX)]
    );
    let mut total = h.clone().into_owned();
    assert!(total.add(&h));
    assert_eq!(total.count, u64::MAX);
}

#[test]
fn cumulative_counts_never_exceed_count() {
    // Malformed: buckets sum to 10 but count says 4.
    let h = explicit(&[1.0], &[6, 4], None, 4);
    assert_eq!(cumulative(&h), [(1.0, 4), (f64::INFINITY, 4)]);
}

#[test]
fn malformed_bounds_are_sorted_merged_and_padded() {
    let h = explicit(&[5.0, 1.0, 5.0, f64::NAN], &[1, 2, 3], None, 6);
    assert_eq!(h.bounds.as_ref(), [1.0, 5.0]);
    assert_eq!(h.counts.as_ref(), [2, 4, 0]);
    assert_eq!(cumulative(&h), [(1.0, 2), (5.0, 6), (f64::INFINITY, 6)]);
}

#[test]
fn histograms_with_other_bounds_do_not_add() {
    let mut a = explicit(&[1.0], &[1, 1], Some(2.0), 2).into_owned();
    let b = explicit(&[2.0], &[1, 1], Some(2.0), 2);
    assert!(!a.add(&b));
    let c = explicit(&[1.0], &[3, 0], None, 3);
    assert!(a.add(&c));
    assert_eq!((a.count, a.sum), (5, None), "an unknown sum stays unknown");
}

fn exp(scale: i32, offset: i32, counts: Vec<u64>, zero: u64) -> ExponentialHistogramDataPoint {
    let count = counts.iter().sum::<u64>() + zero;
    ExponentialHistogramDataPoint {
        scale,
        count,
        sum: Some(1.0),
        zero_count: zero,
        positive: Some(Buckets {
            offset,
            bucket_counts: counts,
        }),
        ..Default::default()
    }
}

#[test]
fn exponential_scale_zero_bounds_are_powers_of_two() {
    // Scale 0: bucket i covers (2^i, 2^(i+1)].
    let h = from_exponential(&exp(0, 0, vec![1, 2, 3], 0)).expect("valid scale");
    assert_eq!(
        cumulative(&h),
        [(2.0, 1), (4.0, 3), (8.0, 6), (f64::INFINITY, 6)]
    );
    assert_eq!(h.sum, Some(1.0));
}

#[test]
fn exponential_zero_and_negative_buckets_come_first() {
    let mut dp = exp(0, 1, vec![4], 2);
    dp.zero_threshold = 0.5;
    dp.negative = Some(Buckets {
        offset: 0,
        bucket_counts: vec![1, 1],
    });
    dp.count = 8;
    let h = from_exponential(&dp).expect("valid");
    // Negative buckets 1 and 0: [-4, -2) and [-2, -1); then zero (<= 0.5); then (2, 4].
    assert_eq!(
        cumulative(&h),
        [(-2.0, 1), (-1.0, 2), (0.5, 4), (4.0, 8), (f64::INFINITY, 8)]
    );
}

#[test]
fn exponential_high_scales_merge_down() {
    // Scale 5 → MAX_SCALE (3): every 4 buckets become one.
    let h = from_exponential(&exp(5, 0, vec![1; 8], 0)).expect("valid");
    assert_eq!(h.bounds.len(), 2);
    assert_eq!(h.counts.as_ref(), [4, 4, 0]);
    let base = 2f64.powf(1.0 / f64::from(1 << MAX_SCALE));
    assert!((h.bounds[0] - base).abs() < 1e-12, "{:?}", h.bounds);
    // The SDK lowering its scale keeps the remaining bounds identical (no new `le` strings).
    let lower = from_exponential(&exp(2, 0, vec![1], 0)).expect("valid");
    assert_eq!(lower.bounds[0], h.bounds[1]);
}

#[test]
fn exponential_invalid_scales_and_overflowing_bounds() {
    assert!(from_exponential(&exp(21, 0, vec![1], 0)).is_none());
    assert!(from_exponential(&exp(-11, 0, vec![1], 0)).is_none());
    // Scale -10: bucket -1 is (2^-1024, 1]; bucket 0's bound, 2^1024, is past f64: +Inf.
    let h = from_exponential(&exp(-10, -1, vec![1, 1], 0)).expect("valid");
    assert_eq!(cumulative(&h), [(1.0, 1), (f64::INFINITY, 2)]);
    assert_eq!(h.counts.as_ref(), [1, 1]);
}

#[test]
fn empty_exponential_histogram() {
    let dp = ExponentialHistogramDataPoint {
        scale: 3,
        ..Default::default()
    };
    let h = from_exponential(&dp).expect("valid");
    assert_eq!(cumulative(&h), [(f64::INFINITY, 0)]);
}
