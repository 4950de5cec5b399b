//! Property tests of merging series that collide after redaction: for random points whose
//! `user.id` (removed by the default allowlist) varies and whose `http.route` (kept) takes a few
//! values, nothing is lost. A cumulative sum keeps its total per route under the earliest start
//! and the latest time; delta sums keep their total and no two points of a route end together;
//! histograms keep their count, bucket by bucket, on bounds every input had; exponential
//! histograms keep their count at a scale no finer than any input's. Nothing is rejected.

use std::collections::BTreeMap;

use proptest::prelude::*;
use weir_pipeline::otlp::common::v1::{KeyValue, any_value::Value};
use weir_pipeline::otlp::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, exponential_histogram_data_point::Buckets,
    metric::Data, number_data_point,
};
use weir_pipeline::test_util::kv;
use weir_pipeline::{Batch, Metrics, Outcome, Processor, RequestContext, Signal};

use super::{Redaction, RedactionConfig};

const ROUTES: &[&str] = &["/a", "/b", "/c"];
const BOUNDS: &[f64] = &[0.1, 0.5, 1.0, 2.5, 10.0];

/// (route index, user, start, time).
fn series() -> impl Strategy<Value = (usize, u8, u64, u64)> {
    (
        0..ROUTES.len(),
        0u8..6,
        1u64..50,
        prop::sample::select(vec![100u64, 200, 300]),
    )
}

fn attrs(route: usize, user: u8) -> Vec<KeyValue> {
    vec![
        kv("http.route", ROUTES[route]),
        kv("user.id", &format!("u{user}")),
    ]
}

fn route_of(attrs: &[KeyValue]) -> String {
    assert_eq!(attrs.len(), 1, "only http.route stays: {attrs:?}");
    match attrs[0].value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        other => panic!("route is a string: {other:?}"),
    }
}

/// The metric after the default redaction; panics unless nothing was rejected.
fn process(data: Data) -> Data {
    let p = Redaction::new("redaction", &RedactionConfig::default(), Metrics::new())
        .expect("defaults are valid");
    let metric = Metric {
        name: "m".into(),
        data: Some(data),
        ..Default::default()
    };
    let mut batch = Batch::new(
        RequestContext::for_tests(),
        Signal::Metrics(vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![metric],
                ..Default::default()
            }],
            ..Default::default()
        }]),
    );
    let Outcome::Pass { rejected, .. } = p.process(&mut batch) else {
        panic!("pass expected")
    };
    assert_eq!(rejected, 0);
    let (_, Signal::Metrics(mut rm)) = batch.into_parts() else {
        unreachable!()
    };
    rm.remove(0)
        .scope_metrics
        .remove(0)
        .metrics
        .remove(0)
        .data
        .expect("data")
}

fn int(p: &NumberDataPoint) -> i64 {
    match p.value {
        Some(number_data_point::Value::AsInt(v)) => v,
        other => panic!("int expected: {other:?}"),
    }
}

fn sums(
    points: &[(usize, u8, u64, u64)],
    values: &[i64],
    temporality: i32,
) -> Vec<NumberDataPoint> {
    let data = Data::Sum(Sum {
        data_points: points
            .iter()
            .zip(values)
            .map(|(&(r, u, start, time), &v)| NumberDataPoint {
                attributes: attrs(r, u),
                start_time_unix_nano: start,
                time_unix_nano: time,
                value: Some(number_data_point::Value::AsInt(v)),
                ..Default::default()
            })
            .collect(),
        aggregation_temporality: temporality,
        is_monotonic: true,
    });
    let Data::Sum(out) = process(data) else {
        panic!("sum expected")
    };
    out.data_points
}

/// (total, earliest start, latest time) per route of the input.
fn expected(points: &[(usize, u8, u64, u64)], values: &[u64]) -> BTreeMap<String, (u64, u64, u64)> {
    let mut want: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for (&(r, _, start, time), &v) in points.iter().zip(values) {
        let e = want.entry(ROUTES[r].to_owned()).or_insert((0, u64::MAX, 0));
        *e = (e.0 + v, e.1.min(start), e.2.max(time));
    }
    want
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_cumulative_sum_keeps_its_total(
        (points, values) in prop::collection::vec(series(), 1..24)
            .prop_flat_map(|p| { let n = p.len(); (Just(p), prop::collection::vec(0i64..1000, n)) })
    ) {
        let out = sums(&points, &values, 2);
        let mut got = BTreeMap::new();
        for p in &out {
            let prev = got.insert(route_of(&p.attributes), (int(p) as u64, p.start_time_unix_nano, p.time_unix_nano));
            prop_assert!(prev.is_none(), "one point per route");
        }
        let values: Vec<u64> = values.iter().map(|&v| v as u64).collect();
        prop_assert_eq!(got, expected(&points, &values));
    }

    #[test]
    fn delta_sums_keep_their_total_and_no_two_points_of_a_route_end_together(
        (points, values) in prop::collection::vec(series(), 1..24)
            .prop_flat_map(|p| { let n = p.len(); (Just(p), prop::collection::vec(0i64..1000, n)) })
    ) {
        let out = sums(&points, &values, 1);
        let mut totals: BTreeMap<String, u64> = BTreeMap::new();
        let mut ends = std::collections::BTreeSet::new();
        for p in &out {
            let route = route_of(&p.attributes);
            prop_assert!(ends.insert((route.clone(), p.time_unix_nano)), "{route} twice at one time");
            *totals.entry(route).or_default() += int(p) as u64;
        }
        let values: Vec<u64> = values.iter().map(|&v| v as u64).collect();
        let want: BTreeMap<String, u64> =
            expected(&points, &values).into_iter().map(|(r, (t, _, _))| (r, t)).collect();
        prop_assert_eq!(totals, want);
    }

    #[test]
    fn histograms_keep_their_count_on_bounds_every_input_had(
        points in prop::collection::vec(
            (series(), prop::sample::subsequence(BOUNDS.to_vec(), 0..=BOUNDS.len()), 1u64..4),
            1..16,
        ),
        temporality in 1i32..3,
    ) {
        let input: Vec<HistogramDataPoint> = points
            .iter()
            .map(|&((r, u, start, time), ref bounds, per)| {
                let counts = vec![per; bounds.len() + 1];
                HistogramDataPoint {
                    attributes: attrs(r, u),
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    count: counts.iter().sum(),
                    bucket_counts: counts,
                    explicit_bounds: bounds.clone(),
                    ..Default::default()
                }
            })
            .collect();
        let Data::Histogram(h) = process(Data::Histogram(Histogram {
            data_points: input.clone(),
            aggregation_temporality: temporality,
        })) else {
            panic!("histogram expected")
        };
        let mut totals: BTreeMap<String, u64> = BTreeMap::new();
        for p in &h.data_points {
            prop_assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
            prop_assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
            let route = route_of(&p.attributes);
            // Every bound kept was a bound of every input point of the route it absorbed.
            for b in &p.explicit_bounds {
                prop_assert!(input.iter().any(|i| i.explicit_bounds.contains(b)));
            }
            *totals.entry(route).or_default() += p.count;
        }
        let counts: Vec<u64> = input.iter().map(|p| p.count).collect();
        let want: BTreeMap<String, u64> =
            expected(&points.iter().map(|p| p.0).collect::<Vec<_>>(), &counts)
                .into_iter().map(|(r, (t, _, _))| (r, t)).collect();
        prop_assert_eq!(totals, want);
        if temporality == 2 {
            prop_assert!(h.data_points.len() <= ROUTES.len(), "cumulative: one point per route");
        }
    }

    #[test]
    fn exponential_histograms_keep_their_count_at_a_coarser_scale(
        points in prop::collection::vec(
            (series(), -2i32..5, -60i32..60, prop::collection::vec(0u64..5, 0..12), 0u64..3),
            1..12,
        )
    ) {
        let input: Vec<ExponentialHistogramDataPoint> = points
            .iter()
            .map(|&((r, u, start, time), scale, offset, ref counts, zero)| ExponentialHistogramDataPoint {
                attributes: attrs(r, u),
                start_time_unix_nano: start,
                time_unix_nano: time,
                scale,
                zero_count: zero,
                count: zero + 2 * counts.iter().sum::<u64>(),
                positive: Some(Buckets { offset, bucket_counts: counts.clone() }),
                negative: Some(Buckets { offset: -offset, bucket_counts: counts.clone() }),
                ..Default::default()
            })
            .collect();
        let Data::ExponentialHistogram(h) = process(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: input.clone(),
            aggregation_temporality: 2,
        })) else {
            panic!("exponential histogram expected")
        };
        prop_assert!(h.data_points.len() <= ROUTES.len());
        let mut min_scale: BTreeMap<String, i32> = BTreeMap::new();
        for p in &input {
            let route = route_of(&p.attributes[..1]);
            let e = min_scale.entry(route).or_insert(p.scale);
            *e = (*e).min(p.scale);
        }
        let mut totals: BTreeMap<String, u64> = BTreeMap::new();
        for p in &h.data_points {
            prop_assert!(p.scale <= min_scale[&route_of(&p.attributes)], "finer than an input");
            let in_buckets: u64 = [&p.positive, &p.negative]
                .iter()
                .filter_map(|b| b.as_ref())
                .flat_map(|b| b.bucket_counts.iter())
                .sum();
            prop_assert_eq!(in_buckets + p.zero_count, p.count);
            for b in [&p.positive, &p.negative].into_iter().flatten() {
                prop_assert!(b.bucket_counts.len() <= 160);
            }
            *totals.entry(route_of(&p.attributes)).or_default() += p.count;
        }
        let counts: Vec<u64> = input.iter().map(|p| p.count).collect();
        let want: BTreeMap<String, u64> =
            expected(&points.iter().map(|p| p.0).collect::<Vec<_>>(), &counts)
                .into_iter().map(|(r, (t, _, _))| (r, t)).collect();
        prop_assert_eq!(totals, want);
    }
}
