//! Walking OTLP metrics and handing each data point, translated, to an exporter.
//!
//! [`Translator::translate`] visits every data point of a batch's resources once and calls the
//! sink with a [`Point`]: its family (Prometheus name, type, help), its sorted label set, its
//! value (a number, an explicit-bucket [`Histogram`](super::buckets::Histogram), or a
//! [`Summary`]), its times, whether it is a delta, and whether it is a staleness marker (OTLP's
//! no-recorded-value flag). After a resource's points comes its `target_info` point, when that
//! resource has attributes other than the ones `job` and `instance` are made of.
//!
//! What cannot be translated is skipped and counted in [`Skipped`] by reason: a name with
//! nothing valid left, a sum or histogram without temporality, a non-monotonic delta sum (its
//! absolute value is unknowable from a share of the deltas: the Collector drops them too), a
//! number point without a value, an exponential histogram of a scale OTLP forbids.

use std::borrow::Cow;
use std::sync::Arc;

use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::metrics::v1::{
    AggregationTemporality, Exemplar, NumberDataPoint, ResourceMetrics, metric::Data,
    number_data_point,
};

use super::Translator;
use super::buckets;
use super::labels::{self, Label, LabelInputs};
use super::model::{Family, MetricType, Point, Skipped, Summary, Value};
use super::names::NameKind;

/// OTLP's `DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK`.
const NO_RECORDED_VALUE: u32 = 1;
/// Resource attributes `job` and `instance` are made of.
const SERVICE_ATTRIBUTES: [&str; 3] = ["service.name", "service.namespace", "service.instance.id"];

/// True for a label name that belongs to the samples of a `kind` family (`__name__`, `le` of
/// histograms, `quantile` of summaries): an attribute of that name is dropped, as the page
/// could not be parsed with it and remote write would send it twice.
fn sample_label(name: &str, kind: MetricType) -> bool {
    name == "__name__"
        || (name == "le" && kind == MetricType::Histogram)
        || (name == "quantile" && kind == MetricType::Summary)
}

/// Nanoseconds since the epoch as milliseconds; `or` when 0 (unset).
fn ms(nanos: u64, or: i64) -> i64 {
    if nanos == 0 {
        or
    } else {
        i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
    }
}

/// Labels shared by every point of one resource and scope.
struct Scope<'a> {
    owned: Vec<Label>,
    promoted: &'a [KeyValue],
}

impl Translator {
    /// Translates `resources` (one batch of `tenant`), calling `sink` once per point. `now_ms`
    /// stands in for missing timestamps. Skipped points are added to `skipped`.
    pub fn translate<F>(
        &self,
        tenant: &str,
        resources: &[ResourceMetrics],
        now_ms: i64,
        skipped: &mut Skipped,
        sink: &mut F,
    ) where
        F: FnMut(&Point<'_>),
    {
        for rm in resources {
            let attrs = rm.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
            let owned = self.resource_labels(tenant, attrs);
            let r2t = self.settings.resource_to_telemetry;
            let promoted: Cow<'_, [KeyValue]> = match (r2t.enabled, r2t.exclude_service_attributes)
            {
                (false, _) => Cow::Borrowed(&[]),
                (true, false) => Cow::Borrowed(attrs),
                (true, true) => Cow::Owned(
                    attrs
                        .iter()
                        .filter(|kv| !SERVICE_ATTRIBUTES.contains(&kv.key.as_str()))
                        .cloned()
                        .collect(),
                ),
            };
            let mut latest: Option<i64> = None;
            for sm in &rm.scope_metrics {
                let scope = Scope {
                    owned: self.scope_labels(&owned, sm),
                    promoted: &promoted,
                };
                for metric in &sm.metrics {
                    let mut seen = |p: &Point<'_>| {
                        if !p.stale {
                            latest = Some(latest.map_or(p.time_ms, |t| t.max(p.time_ms)));
                        }
                        sink(p);
                    };
                    self.metric(metric, &scope, now_ms, skipped, &mut seen);
                }
            }
            if let Some(time_ms) = latest {
                self.target_info(attrs, &owned, time_ms, sink);
            }
        }
    }

    /// `job`, `instance` and the tenant label of a resource, sorted.
    fn resource_labels(&self, tenant: &str, attrs: &[KeyValue]) -> Vec<Label> {
        let get = |key| labels::attribute(attrs, key).map(labels::value_string);
        let mut out = Vec::with_capacity(3);
        if let Some(name) = get("service.name") {
            let job = match get("service.namespace") {
                Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
                _ => name,
            };
            out.push(Label::new("job", job));
        }
        if let Some(instance) = get("service.instance.id") {
            out.push(Label::new("instance", instance));
        }
        if let Some(name) = &self.tenant_label {
            out.push(Label::new(Arc::clone(name), tenant));
        }
        labels::normalized(out)
    }

    /// The resource's labels with `otel_scope_*` added (unless disabled), sorted.
    fn scope_labels(
        &self,
        resource: &[Label],
        sm: &weir_pipeline::otlp::metrics::v1::ScopeMetrics,
    ) -> Vec<Label> {
        let mut out = resource.to_vec();
        if self.settings.scope_labels {
            if let Some(scope) = &sm.scope {
                out.push(Label::new("otel_scope_name", scope.name.as_str()));
                out.push(Label::new("otel_scope_version", scope.version.as_str()));
                for kv in &scope.attributes {
                    let name = self.names.label(&format!("otel_scope_{}", kv.key));
                    if let (Some(name), Some(v)) = (name, &kv.value) {
                        out.push(Label::new(name, labels::value_string(v)));
                    }
                }
            }
            out.push(Label::new("otel_scope_schema_url", sm.schema_url.as_str()));
        }
        labels::normalized(out)
    }

    fn metric<F>(
        &self,
        metric: &weir_pipeline::otlp::metrics::v1::Metric,
        scope: &Scope<'_>,
        now_ms: i64,
        skipped: &mut Skipped,
        sink: &mut F,
    ) where
        F: FnMut(&Point<'_>),
    {
        let Some(data) = &metric.data else { return };
        let n = weir_pipeline::batch::data_point_count(Some(data));
        let (kind, name_kind, temporality) = match data {
            Data::Gauge(_) => (MetricType::Gauge, NameKind::Gauge, None),
            Data::Sum(s) if s.is_monotonic => (
                MetricType::Counter,
                NameKind::MonotonicCounter,
                Some(s.aggregation_temporality),
            ),
            Data::Sum(s) => (
                MetricType::Gauge,
                NameKind::NonMonotonicCounter,
                Some(s.aggregation_temporality),
            ),
            Data::Histogram(h) => (
                MetricType::Histogram,
                NameKind::Histogram,
                Some(h.aggregation_temporality),
            ),
            Data::ExponentialHistogram(h) => (
                MetricType::Histogram,
                NameKind::Histogram,
                Some(h.aggregation_temporality),
            ),
            Data::Summary(_) => (MetricType::Summary, NameKind::Summary, None),
        };
        let delta = temporality == Some(AggregationTemporality::Delta as i32);
        if temporality == Some(AggregationTemporality::Unspecified as i32) {
            return skipped.note(&metric.name, n, |k| &mut k.unspecified_temporality);
        }
        if delta && name_kind == NameKind::NonMonotonicCounter {
            return skipped.note(&metric.name, n, |k| &mut k.delta_non_monotonic);
        }
        let Some(name) = self.names.metric(&metric.name, &metric.unit, name_kind) else {
            return skipped.note(&metric.name, n, |k| &mut k.invalid_name);
        };
        let family = Family {
            name: &name,
            kind,
            help: &metric.description,
            unit: &metric.unit,
        };
        let mut labels = Vec::new();
        let mut emit = |attributes: &[KeyValue],
                        value: Value<'_>,
                        (start, time, flags): (u64, u64, u32),
                        exemplars: &[Exemplar]| {
            labels::build(
                &self.names,
                LabelInputs {
                    attributes,
                    promoted: scope.promoted,
                    owned: &scope.owned,
                    defaults: &self.defaults,
                },
                &mut labels,
            );
            labels.retain(|l| !sample_label(&l.name, kind));
            let with_exemplars = matches!(kind, MetricType::Counter | MetricType::Histogram);
            sink(&Point {
                family,
                labels: &labels,
                value,
                start_ms: ms(start, 0),
                time_ms: ms(time, now_ms),
                delta,
                stale: flags & NO_RECORDED_VALUE != 0,
                exemplars: if with_exemplars { exemplars } else { &[] },
            });
        };
        let number = |dp: &NumberDataPoint| match dp.value {
            Some(number_data_point::Value::AsDouble(d)) => Some(d),
            Some(number_data_point::Value::AsInt(i)) => Some(i as f64),
            None if dp.flags & NO_RECORDED_VALUE != 0 => Some(f64::NAN),
            None => None,
        };
        match data {
            Data::Gauge(g) => {
                for dp in &g.data_points {
                    let Some(v) = number(dp) else {
                        skipped.note(&metric.name, 1, |k| &mut k.no_value);
                        continue;
                    };
                    let t = (dp.start_time_unix_nano, dp.time_unix_nano, dp.flags);
                    emit(&dp.attributes, Value::Number(v), t, &dp.exemplars);
                }
            }
            Data::Sum(s) => {
                for dp in &s.data_points {
                    let Some(v) = number(dp) else {
                        skipped.note(&metric.name, 1, |k| &mut k.no_value);
                        continue;
                    };
                    let t = (dp.start_time_unix_nano, dp.time_unix_nano, dp.flags);
                    emit(&dp.attributes, Value::Number(v), t, &dp.exemplars);
                }
            }
            Data::Histogram(h) => {
                for dp in &h.data_points {
                    let hist =
                        buckets::explicit(&dp.explicit_bounds, &dp.bucket_counts, dp.sum, dp.count);
                    let t = (dp.start_time_unix_nano, dp.time_unix_nano, dp.flags);
                    emit(&dp.attributes, Value::Histogram(hist), t, &dp.exemplars);
                }
            }
            Data::ExponentialHistogram(h) => {
                for dp in &h.data_points {
                    let Some(hist) = buckets::from_exponential(dp) else {
                        skipped.note(&metric.name, 1, |k| &mut k.invalid_scale);
                        continue;
                    };
                    let t = (dp.start_time_unix_nano, dp.time_unix_nano, dp.flags);
                    emit(&dp.attributes, Value::Histogram(hist), t, &dp.exemplars);
                }
            }
            Data::Summary(s) => {
                for dp in &s.data_points {
                    let summary = Summary {
                        quantiles: Cow::Borrowed(&dp.quantile_values),
                        sum: dp.sum,
                        count: dp.count,
                    };
                    let t = (dp.start_time_unix_nano, dp.time_unix_nano, dp.flags);
                    emit(&dp.attributes, Value::Summary(summary), t, &[]);
                }
            }
        }
    }

    /// `target_info` of a resource: its attributes other than the service ones, with `job`,
    /// `instance` and the tenant label; nothing when it has no other attribute.
    fn target_info<F>(&self, attrs: &[KeyValue], owned: &[Label], time_ms: i64, sink: &mut F)
    where
        F: FnMut(&Point<'_>),
    {
        if !self.settings.target_info
            || attrs
                .iter()
                .all(|kv| SERVICE_ATTRIBUTES.contains(&kv.key.as_str()))
        {
            return;
        }
        let rest: Vec<KeyValue> = attrs
            .iter()
            .filter(|kv| !SERVICE_ATTRIBUTES.contains(&kv.key.as_str()))
            .cloned()
            .collect();
        let mut out = Vec::new();
        let inputs = LabelInputs {
            attributes: &rest,
            promoted: &[],
            owned,
            defaults: &self.defaults,
        };
        labels::build(&self.names, inputs, &mut out);
        out.retain(|l| !sample_label(&l.name, MetricType::Gauge));
        sink(&Point {
            family: Family {
                name: &self.target_info_name,
                kind: MetricType::Gauge,
                help: "Target metadata",
                unit: "",
            },
            labels: &out,
            value: Value::Number(1.0),
            start_ms: 0,
            time_ms,
            delta: false,
            stale: false,
            exemplars: &[],
        });
    }
}
