//! Histograms and exponential histograms whose series collide after redaction: merged bucket by
//! bucket (re-bucketed onto shared bounds, or downscaled to a common scale), with the time rules
//! of their temporality.

use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Histogram, HistogramDataPoint, Metric,
    exponential_histogram_data_point::Buckets, metric::Data,
};

use super::metrics::{batch, metrics_of};
use super::*;
use crate::redaction::merge::rebucket;

fn user(u: &str) -> Vec<KeyValue> {
    vec![kv("user.id", s(u))]
}

/// A histogram point of series `u` over `start..time` with these bounds and counts.
fn hist(u: &str, (start, time): (u64, u64), bounds: &[f64], counts: &[u64]) -> HistogramDataPoint {
    let count = counts.iter().sum();
    HistogramDataPoint {
        attributes: user(u),
        start_time_unix_nano: start,
        time_unix_nano: time,
        count,
        sum: Some(count as f64 * 2.0),
        bucket_counts: counts.to_vec(),
        explicit_bounds: bounds.to_vec(),
        min: Some(count as f64),
        max: Some(count as f64 * 10.0),
        ..Default::default()
    }
}

/// The histogram's points after the default redaction, temporality 1 (delta) or 2.
fn process_hist(
    points: Vec<HistogramDataPoint>,
    temporality: i32,
) -> (Vec<HistogramDataPoint>, Metrics) {
    let (p, m) = build("{}");
    let metric = Metric {
        name: "latency".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: temporality,
        })),
        ..Default::default()
    };
    let mut b = batch(vec![], vec![metric]);
    pass(&p, &mut b);
    let Some(Data::Histogram(h)) = &metrics_of(&b)[0].data else {
        panic!("histogram expected")
    };
    (h.data_points.clone(), m)
}

#[test]
fn cumulative_histograms_add_bucket_by_bucket_under_the_earliest_start() {
    let b = [1.0, 5.0];
    let (out, m) = process_hist(
        vec![
            hist("u1", (20, 100), &b, &[1, 2, 0]),
            hist("u2", (10, 90), &b, &[0, 1, 4]),
        ],
        2,
    );
    assert_eq!(out.len(), 1);
    let h = &out[0];
    assert_eq!((h.start_time_unix_nano, h.time_unix_nano), (10, 100));
    assert_eq!(h.bucket_counts, vec![1, 3, 4]);
    assert_eq!(h.explicit_bounds, b.to_vec());
    assert_eq!((h.count, h.sum), (8, Some(16.0)));
    assert_eq!((h.min, h.max), (Some(3.0), Some(50.0)));
    assert_eq!(counted(&m, "series_merged"), 1);
}

#[test]
fn delta_histograms_add_when_they_end_together_and_stay_apart_otherwise() {
    let b = [1.0];
    let (out, m) = process_hist(
        vec![
            hist("u1", (10, 20), &b, &[1, 0]),
            hist("u2", (15, 20), &b, &[0, 2]),
            hist("u3", (20, 30), &b, &[4, 0]),
        ],
        1,
    );
    let got: Vec<_> = out
        .iter()
        .map(|h| {
            (
                h.start_time_unix_nano,
                h.time_unix_nano,
                h.bucket_counts.clone(),
            )
        })
        .collect();
    assert_eq!(got, vec![(10, 20, vec![1, 2]), (20, 30, vec![4, 0])]);
    assert_eq!(counted(&m, "series_merged"), 1);
    assert_eq!(counted(&m, "series_dropped"), 0);
}

#[test]
fn histograms_with_other_bounds_meet_on_the_bounds_they_share() {
    // u1: (..1] 1, (1..2] 2, (2..5] 3, (5..) 4; u2: (..2] 10, (2..10] 20, (10..) 30.
    let (out, _) = process_hist(
        vec![
            hist("u1", (1, 2), &[1.0, 2.0, 5.0], &[1, 2, 3, 4]),
            hist("u2", (1, 2), &[2.0, 10.0], &[10, 20, 30]),
        ],
        2,
    );
    assert_eq!(out.len(), 1);
    let h = &out[0];
    assert_eq!(h.explicit_bounds, vec![2.0]);
    assert_eq!(h.bucket_counts, vec![3 + 10, 7 + 50]);
    assert_eq!(h.count, 70, "every observation counted");
    assert_eq!(h.bucket_counts.iter().sum::<u64>(), h.count);
}

#[test]
fn rebucketing_moves_each_bucket_into_the_coarser_one_that_holds_it() {
    let bounds = [0.5, 1.0, 2.5, 5.0];
    let counts = [1, 2, 3, 4, 5];
    assert_eq!(rebucket(&bounds, &counts, &[1.0, 5.0]), vec![3, 7, 5]);
    assert_eq!(rebucket(&bounds, &counts, &[]), vec![15]);
    assert_eq!(rebucket(&bounds, &counts, &bounds), counts.to_vec());
}

#[test]
fn malformed_histograms_merge_without_buckets() {
    let (out, _) = process_hist(
        vec![
            hist("u1", (1, 2), &[1.0], &[1, 2]),
            hist("u2", (1, 2), &[5.0, 1.0], &[1, 1, 1]),
        ],
        2,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].count, 6);
    assert!(out[0].bucket_counts.is_empty() && out[0].explicit_bounds.is_empty());
}

fn buckets(offset: i32, counts: &[u64]) -> Option<Buckets> {
    Some(Buckets {
        offset,
        bucket_counts: counts.to_vec(),
    })
}

/// An exponential histogram point of series `u` at `scale`.
fn exp(
    u: &str,
    window: (u64, u64),
    scale: i32,
    pos: Option<Buckets>,
    neg: Option<Buckets>,
) -> ExponentialHistogramDataPoint {
    let n = |b: &Option<Buckets>| {
        b.as_ref()
            .map_or(0, |b| b.bucket_counts.iter().sum::<u64>())
    };
    let count = n(&pos) + n(&neg) + 1;
    ExponentialHistogramDataPoint {
        attributes: user(u),
        start_time_unix_nano: window.0,
        time_unix_nano: window.1,
        scale,
        count,
        zero_count: 1,
        zero_threshold: f64::from(scale.unsigned_abs()) * 1e-9,
        sum: Some(1.0),
        min: Some(-(count as f64)),
        max: Some(count as f64),
        positive: pos,
        negative: neg,
        ..Default::default()
    }
}

fn process_exp(
    points: Vec<ExponentialHistogramDataPoint>,
    temporality: i32,
) -> Vec<ExponentialHistogramDataPoint> {
    let (p, _) = build("{}");
    let metric = Metric {
        name: "latency".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: points,
            aggregation_temporality: temporality,
        })),
        ..Default::default()
    };
    let mut b = batch(vec![], vec![metric]);
    pass(&p, &mut b);
    let Some(Data::ExponentialHistogram(h)) = &metrics_of(&b)[0].data else {
        panic!("exponential histogram expected")
    };
    h.data_points.clone()
}

#[test]
fn exponential_histograms_merge_at_the_lower_scale() {
    // u1 at scale 2: positive indices 3..=6, negative -3..=-1. u2 at scale 1: positive 1..=2.
    let out = process_exp(
        vec![
            exp(
                "u1",
                (20, 100),
                2,
                buckets(3, &[1, 2, 3, 4]),
                buckets(-3, &[5, 6, 7]),
            ),
            exp("u2", (10, 90), 1, buckets(1, &[10, 20]), None),
        ],
        2,
    );
    assert_eq!(out.len(), 1);
    let h = &out[0];
    assert_eq!(h.scale, 1);
    assert_eq!((h.start_time_unix_nano, h.time_unix_nano), (10, 100));
    // Scale 2 -> 1: index >> 1. 3->1, 4->2, 5->2, 6->3; -3->-2, -2->-1, -1->-1.
    assert_eq!(h.positive, buckets(1, &[1 + 10, 2 + 3 + 20, 4]));
    assert_eq!(h.negative, buckets(-2, &[5, 6 + 7]));
    assert_eq!(h.zero_count, 2);
    assert_eq!(h.zero_threshold, 2e-9, "the larger");
    assert_eq!(h.count, 29 + 31);
    assert_eq!((h.sum, h.min, h.max), (Some(2.0), Some(-31.0), Some(31.0)));
    let in_buckets: u64 = [&h.positive, &h.negative]
        .iter()
        .filter_map(|b| b.as_ref())
        .flat_map(|b| b.bucket_counts.iter())
        .sum();
    assert_eq!(in_buckets + h.zero_count, h.count);
}

#[test]
fn exponential_histograms_far_apart_are_downscaled_until_they_fit() {
    let out = process_exp(
        vec![
            exp("u1", (1, 2), 3, buckets(-400, &[1; 10]), None),
            exp("u2", (1, 2), 3, buckets(400, &[2; 10]), None),
        ],
        2,
    );
    let h = &out[0];
    let pos = h.positive.as_ref().expect("positive buckets");
    assert!(
        pos.bucket_counts.len() <= 160,
        "{}",
        pos.bucket_counts.len()
    );
    assert!(h.scale < 3, "scale {}", h.scale);
    assert_eq!(pos.bucket_counts.iter().sum::<u64>(), 30);
    // The span from -400 to 409 at scale 3 needs a shift of 3 (810 / 8 < 160).
    assert_eq!(h.scale, 0);
    assert_eq!(pos.offset, -400 >> 3);
}

#[test]
fn delta_exponential_histograms_that_end_apart_stay_apart() {
    let out = process_exp(
        vec![
            exp("u1", (10, 20), 0, buckets(0, &[1]), None),
            exp("u2", (20, 30), 0, buckets(0, &[2]), None),
            exp("u3", (12, 20), 0, buckets(0, &[4]), None),
        ],
        1,
    );
    let got: Vec<_> = out
        .iter()
        .map(|h| (h.start_time_unix_nano, h.time_unix_nano, h.count))
        .collect();
    assert_eq!(got, vec![(10, 20, 2 + 5), (20, 30, 3)]);
}
