//! The metrics view against prost, as `tests.rs` does for traces: every kind of data point,
//! exemplars and packed repeated values indexed as prost decodes them, damaged requests refused
//! as prost refuses them, and edited points and names decoding to the structs with the same
//! edits.

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;

use super::tests::{attrs, check_damaged, id, redacted, text};
use super::*;
use crate::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
use crate::otlp::common::v1::KeyValue;
use crate::otlp::metrics::v1::exponential_histogram_data_point::Buckets;
use crate::otlp::metrics::v1::summary_data_point::ValueAtQuantile;
use crate::otlp::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, metric, number_data_point,
};

fn exemplars() -> impl Strategy<Value = Vec<Exemplar>> {
    prop::collection::vec(
        (attrs(), id(8), id(16), any::<i64>()).prop_map(|(filtered_attributes, s, t, v)| {
            Exemplar {
                filtered_attributes,
                span_id: s,
                trace_id: t,
                value: Some(exemplar::Value::AsInt(v)),
                ..Default::default()
            }
        }),
        0..2,
    )
}

fn numbers() -> impl Strategy<Value = Vec<NumberDataPoint>> {
    let number = (attrs(), exemplars(), any::<f64>()).prop_map(|(attributes, exemplars, v)| {
        NumberDataPoint {
            attributes,
            exemplars,
            value: Some(number_data_point::Value::AsDouble(v)),
            ..Default::default()
        }
    });
    prop::collection::vec(number, 0..3)
}

fn data() -> impl Strategy<Value = Option<metric::Data>> {
    let histogram = (
        attrs(),
        exemplars(),
        prop::collection::vec(any::<u64>(), 0..4),
        prop::collection::vec(any::<f64>(), 0..3),
        prop::option::of(any::<f64>()),
    )
        .prop_map(
            |(attributes, exemplars, bucket_counts, explicit_bounds, sum)| HistogramDataPoint {
                attributes,
                exemplars,
                bucket_counts,
                explicit_bounds,
                sum,
                ..Default::default()
            },
        );
    let exponential = (
        attrs(),
        -10..10i32,
        prop::collection::vec(any::<u64>(), 0..4),
    )
        .prop_map(
            |(attributes, scale, bucket_counts)| ExponentialHistogramDataPoint {
                attributes,
                scale,
                positive: Some(Buckets {
                    offset: -scale,
                    bucket_counts,
                }),
                ..Default::default()
            },
        );
    let summary = (attrs(), any::<f64>()).prop_map(|(attributes, q)| SummaryDataPoint {
        attributes,
        quantile_values: vec![ValueAtQuantile {
            quantile: q,
            value: q,
        }],
        ..Default::default()
    });
    prop::option::weighted(
        0.9,
        prop_oneof![
            numbers().prop_map(|data_points| metric::Data::Gauge(Gauge { data_points })),
            numbers().prop_map(|data_points| metric::Data::Sum(Sum {
                data_points,
                aggregation_temporality: 2,
                is_monotonic: true,
            })),
            prop::collection::vec(histogram, 0..3).prop_map(|data_points| {
                metric::Data::Histogram(Histogram {
                    data_points,
                    aggregation_temporality: 1,
                })
            }),
            prop::collection::vec(exponential, 0..3).prop_map(|data_points| {
                metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points,
                    aggregation_temporality: 1,
                })
            }),
            prop::collection::vec(summary, 0..3)
                .prop_map(|data_points| metric::Data::Summary(Summary { data_points })),
        ],
    )
}

pub(crate) fn request() -> impl Strategy<Value = ExportMetricsServiceRequest> {
    let metric =
        (text(), text(), text(), data()).prop_map(|(name, description, unit, data)| Metric {
            name,
            description,
            unit,
            data,
            ..Default::default()
        });
    let scope = prop::collection::vec(metric, 0..4).prop_map(|metrics| ScopeMetrics {
        metrics,
        ..Default::default()
    });
    prop::collection::vec(prop::collection::vec(scope, 0..3), 0..3).prop_map(|resources| {
        ExportMetricsServiceRequest {
            resource_metrics: resources
                .into_iter()
                .map(|scope_metrics| ResourceMetrics {
                    scope_metrics,
                    ..Default::default()
                })
                .collect(),
        }
    })
}

/// Each data point's attributes and exemplars' filtered attributes, in order.
fn points(m: &Metric) -> Vec<(Vec<KeyValue>, Vec<Vec<KeyValue>>)> {
    let ex = |e: &[Exemplar]| e.iter().map(|e| e.filtered_attributes.clone()).collect();
    match &m.data {
        None => Vec::new(),
        Some(metric::Data::Gauge(g)) => g
            .data_points
            .iter()
            .map(|p| (p.attributes.clone(), ex(&p.exemplars)))
            .collect(),
        Some(metric::Data::Sum(g)) => g
            .data_points
            .iter()
            .map(|p| (p.attributes.clone(), ex(&p.exemplars)))
            .collect(),
        Some(metric::Data::Histogram(h)) => h
            .data_points
            .iter()
            .map(|p| (p.attributes.clone(), ex(&p.exemplars)))
            .collect(),
        Some(metric::Data::ExponentialHistogram(h)) => h
            .data_points
            .iter()
            .map(|p| (p.attributes.clone(), ex(&p.exemplars)))
            .collect(),
        Some(metric::Data::Summary(s)) => s
            .data_points
            .iter()
            .map(|p| (p.attributes.clone(), Vec::new()))
            .collect(),
    }
}

fn metrics(req: &ExportMetricsServiceRequest) -> Vec<&Metric> {
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .collect()
}

fn agrees(view: &MetricView, req: &ExportMetricsServiceRequest) {
    let kv = |a: &Attr| KeyValue::decode(view.at(&a.field.value)).expect("a KeyValue");
    let want = metrics(req);
    assert_eq!(view.records.len(), want.len());
    for (m, metric) in view.records.iter().zip(want) {
        assert_eq!(view.text(&m.name), metric.name);
        assert_eq!(view.text(&m.description), metric.description);
        assert_eq!(view.text(&m.unit), metric.unit);
        let got: Vec<(Vec<KeyValue>, Vec<Vec<KeyValue>>)> = m
            .points
            .iter()
            .map(|p| {
                let attrs = view.parts.part_attrs[p.attrs.clone()]
                    .iter()
                    .map(kv)
                    .collect();
                let ex = view.parts.events[p.exemplars.clone()]
                    .iter()
                    .map(|e| {
                        view.parts.part_attrs[e.attrs.clone()]
                            .iter()
                            .map(kv)
                            .collect()
                    })
                    .collect();
                (attrs, ex)
            })
            .collect();
        assert_eq!(got, points(metric));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_metrics_view_indexes_what_prost_decodes(req in request()) {
        let bytes = req.encode_to_vec();
        let view = MetricView::parse(Bytes::from(bytes.clone())).expect("prost's own encoding");
        agrees(&view, &req);
        prop_assert_eq!(Edits::new().apply(&view.bytes), bytes);
    }

    #[test]
    fn damaged_metrics_are_refused_as_prost_refuses_them(
        req in request(),
        cuts in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        check_damaged(req.encode_to_vec(), cuts, None, agrees)?;
    }

    #[test]
    fn masked_point_attributes_decode_as_the_structs(req in request()) {
        let view = MetricView::parse(Bytes::from(req.encode_to_vec())).expect("valid");
        let mut edits = Edits::new();
        let masked = redacted();
        let field = |number| len_field(number, &masked.encode_to_vec());
        for r in 0..view.records.len() {
            let m = &view.records[r];
            let (Some(data), number) = (&m.data, match m.kind {
                DataKind::Histogram => 9,
                DataKind::ExponentialHistogram => 1,
                _ => 7,
            }) else {
                continue;
            };
            let [resource, scope, metric] = view.record_path(r);
            for p in &m.points {
                let path = [resource.clone(), scope.clone(), metric.clone(), data.clone(), p.field.clone()];
                for a in &view.parts.part_attrs[p.attrs.clone()] {
                    edits.replace(&path, a.field.whole(), field(number));
                }
            }
        }
        let got = ExportMetricsServiceRequest::decode(edits.apply(&view.bytes).as_slice())
            .expect("decodes");
        let mut want = req;
        let mask = |a: &mut Vec<KeyValue>| a.iter_mut().for_each(|kv| *kv = redacted());
        for rm in &mut want.resource_metrics {
            for sm in &mut rm.scope_metrics {
                for m in &mut sm.metrics {
                    match &mut m.data {
                        Some(metric::Data::Gauge(g)) => g.data_points.iter_mut().for_each(|p| mask(&mut p.attributes)),
                        Some(metric::Data::Sum(g)) => g.data_points.iter_mut().for_each(|p| mask(&mut p.attributes)),
                        Some(metric::Data::Histogram(h)) => h.data_points.iter_mut().for_each(|p| mask(&mut p.attributes)),
                        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.iter_mut().for_each(|p| mask(&mut p.attributes)),
                        Some(metric::Data::Summary(s)) => s.data_points.iter_mut().for_each(|p| mask(&mut p.attributes)),
                        None => {}
                    }
                }
            }
        }
        prop_assert_eq!(got, want);
    }
}

#[test]
fn packed_and_unpacked_bucket_counts_are_both_read_and_a_partial_value_refused() {
    let point = HistogramDataPoint {
        bucket_counts: vec![1, 2, 3],
        ..Default::default()
    };
    let metric = Metric {
        name: "h".into(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: vec![point],
            aggregation_temporality: 1,
        })),
        ..Default::default()
    };
    let req = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![metric],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let packed = req.encode_to_vec();
    let view = MetricView::parse(Bytes::from(packed.clone())).expect("packed");
    let m = &view.records[0];
    let [resource, scope, metric] = view.record_path(0);
    let (Some(data), [point]) = (&m.data, m.points.as_slice()) else {
        panic!("one histogram point");
    };
    let path = [resource, scope, metric, data.clone(), point.field.clone()];
    // The packed run: key 0x32 (field 6, length-delimited), length 24.
    let run = packed[point.field.value.clone()]
        .windows(2)
        .position(|w| w == [0x32, 24])
        .expect("the packed run")
        + point.field.value.start;
    let rewrite = |with: Vec<u8>| {
        let mut edits = Edits::new();
        edits.replace(&path, run..run + 2 + 24, with);
        edits.apply(&packed)
    };
    // The same values written one field per value (key 0x31: field 6, fixed64).
    let mut fields = Vec::new();
    for v in [1u64, 2, 3] {
        fields.push(0x31);
        fields.extend_from_slice(&v.to_le_bytes());
    }
    let unpacked = rewrite(fields);
    let decoded = ExportMetricsServiceRequest::decode(unpacked.as_slice()).expect("prost reads it");
    assert_eq!(decoded, req);
    MetricView::parse(Bytes::from(unpacked)).expect("unpacked");
    // A packed run of 23 bytes is not whole 8-byte values.
    let mut short = vec![0x32, 23];
    short.extend_from_slice(&[7; 23]);
    let cut = rewrite(short);
    assert!(ExportMetricsServiceRequest::decode(cut.as_slice()).is_err());
    assert!(MetricView::parse(Bytes::from(cut)).is_err());
}
