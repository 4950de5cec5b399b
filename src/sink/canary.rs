//! The leak check of `weir sink`: how many attribute values and log bodies, at any depth of
//! maps and arrays, still contain one of the secrets `weir loadgen` plants
//! ([`crate::loadgen::secrets`]). A value is counted once however many secrets it holds.
//!
//! Nothing here fails.

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, metric};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use crate::loadgen::secrets::contains_secret;

/// Leaked values in one value, counting every string (or UTF-8 bytes) leaf that holds a secret.
pub fn in_value(value: &AnyValue) -> u64 {
    match &value.value {
        Some(Value::StringValue(s)) => u64::from(contains_secret(s)),
        Some(Value::BytesValue(b)) => u64::from(std::str::from_utf8(b).is_ok_and(contains_secret)),
        Some(Value::ArrayValue(a)) => a.values.iter().map(in_value).sum(),
        Some(Value::KvlistValue(kv)) => in_attributes(&kv.values),
        _ => 0,
    }
}

/// Leaked values in a list of attributes.
pub fn in_attributes(attributes: &[KeyValue]) -> u64 {
    attributes
        .iter()
        .filter_map(|kv| kv.value.as_ref())
        .map(in_value)
        .sum()
}

fn in_resource(resource: Option<&Resource>) -> u64 {
    resource.map_or(0, |r| in_attributes(&r.attributes))
}

fn in_scope(scope: Option<&InstrumentationScope>) -> u64 {
    scope.map_or(0, |s| in_attributes(&s.attributes))
}

/// Leaked values in spans: resource, scope, span, event and link attributes.
pub fn in_traces(resources: &[ResourceSpans]) -> u64 {
    resources
        .iter()
        .map(|rs| {
            in_resource(rs.resource.as_ref())
                + rs.scope_spans
                    .iter()
                    .map(|ss| {
                        in_scope(ss.scope.as_ref())
                            + ss.spans
                                .iter()
                                .map(|span| {
                                    in_attributes(&span.attributes)
                                        + span
                                            .events
                                            .iter()
                                            .map(|e| in_attributes(&e.attributes))
                                            .sum::<u64>()
                                        + span
                                            .links
                                            .iter()
                                            .map(|l| in_attributes(&l.attributes))
                                            .sum::<u64>()
                                })
                                .sum::<u64>()
                    })
                    .sum::<u64>()
        })
        .sum()
}

/// Leaked values in logs: resource, scope and record attributes, and bodies.
pub fn in_logs(resources: &[ResourceLogs]) -> u64 {
    resources
        .iter()
        .map(|rl| {
            in_resource(rl.resource.as_ref())
                + rl.scope_logs
                    .iter()
                    .map(|sl| {
                        in_scope(sl.scope.as_ref())
                            + sl.log_records
                                .iter()
                                .map(|r| {
                                    in_attributes(&r.attributes)
                                        + r.body.as_ref().map_or(0, in_value)
                                })
                                .sum::<u64>()
                    })
                    .sum::<u64>()
        })
        .sum()
}

/// Leaked values in metrics: resource, scope, metadata, data point and exemplar attributes.
pub fn in_metrics(resources: &[ResourceMetrics]) -> u64 {
    resources
        .iter()
        .map(|rm| {
            in_resource(rm.resource.as_ref())
                + rm.scope_metrics
                    .iter()
                    .map(|sm| {
                        in_scope(sm.scope.as_ref())
                            + sm.metrics
                                .iter()
                                .map(|m| {
                                    in_attributes(&m.metadata)
                                        + m.data.as_ref().map_or(0, in_points)
                                })
                                .sum::<u64>()
                    })
                    .sum::<u64>()
        })
        .sum()
}

fn in_points(data: &metric::Data) -> u64 {
    use opentelemetry_proto::tonic::metrics::v1::Exemplar;
    let exemplars = |e: &[Exemplar]| -> u64 {
        e.iter()
            .map(|x| in_attributes(&x.filtered_attributes))
            .sum()
    };
    match data {
        metric::Data::Gauge(g) => g
            .data_points
            .iter()
            .map(|p| in_attributes(&p.attributes) + exemplars(&p.exemplars))
            .sum(),
        metric::Data::Sum(s) => s
            .data_points
            .iter()
            .map(|p| in_attributes(&p.attributes) + exemplars(&p.exemplars))
            .sum(),
        metric::Data::Histogram(h) => h
            .data_points
            .iter()
            .map(|p| in_attributes(&p.attributes) + exemplars(&p.exemplars))
            .sum(),
        metric::Data::ExponentialHistogram(h) => h
            .data_points
            .iter()
            .map(|p| in_attributes(&p.attributes) + exemplars(&p.exemplars))
            .sum(),
        metric::Data::Summary(s) => s
            .data_points
            .iter()
            .map(|p| in_attributes(&p.attributes))
            .sum(),
    }
}
