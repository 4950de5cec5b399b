//! Writing the export request's id onto attribute lists: of spans and log records (or their
//! resources), and of metric exemplars. Never onto metric data points or metric resources:
//! a per-request value there would make a new series per request.
//!
//! The two attributes are built once per batch ([`Stamp::new`]) and cloned onto each list, so
//! the only allocation per record is the attribute added. Nothing here fails.

use weir_pipeline::correlation::WEIR_REQUEST_ID_KEY;
use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};
use weir_pipeline::otlp::metrics::v1::{Exemplar, Metric, metric::Data};
use weir_pipeline::otlp::resource::v1::Resource;

/// The request id of one batch as ready-made attributes.
pub(super) struct Stamp<'a> {
    id: &'a str,
    /// `<key>: <id>`, for lists that have no `<key>` yet.
    own: KeyValue,
    /// `weir.request.id: <id>`, beside an application's `<key>`.
    beside: KeyValue,
}

impl<'a> Stamp<'a> {
    /// The attributes for request `id` under `key`.
    pub(super) fn new(key: &str, id: &'a str) -> Self {
        let value = Some(AnyValue {
            value: Some(Value::StringValue(id.to_owned())),
        });
        Self {
            id,
            own: KeyValue {
                key: key.to_owned(),
                value: value.clone(),
                ..Default::default()
            },
            beside: KeyValue {
                key: WEIR_REQUEST_ID_KEY.to_owned(),
                value,
                ..Default::default()
            },
        }
    }

    /// True when `attrs` hold the key with a value other than this request's id: an id set
    /// upstream (by the application), which records under them inherit.
    pub(super) fn is_taken_in(&self, attrs: &[KeyValue]) -> bool {
        attrs
            .iter()
            .any(|kv| kv.key == self.own.key && !self.is_ours(kv))
    }

    /// Adds the request id to `attrs`: under the key when it is free (and not `inherited` from
    /// the resource), else as `weir.request.id` beside the application's id (replacing an older
    /// `weir.request.id`, e.g. from a weir in front of this one). Does nothing when the id is
    /// already there.
    pub(super) fn apply(&self, attrs: &mut Vec<KeyValue>, inherited: bool) {
        let mut own = None;
        let mut beside = None;
        for (i, kv) in attrs.iter().enumerate() {
            if kv.key == self.own.key {
                own.get_or_insert(i);
            } else if kv.key == WEIR_REQUEST_ID_KEY {
                beside.get_or_insert(i);
            }
        }
        match own {
            None if !inherited => attrs.push(self.own.clone()),
            Some(i) if self.is_ours(&attrs[i]) => {}
            _ => match beside {
                Some(i) if self.is_ours(&attrs[i]) => {}
                Some(i) => attrs[i].value.clone_from(&self.beside.value),
                None => attrs.push(self.beside.clone()),
            },
        }
    }

    /// Adds the request id to a resource (created when absent).
    pub(super) fn apply_to_resource(&self, resource: &mut Option<Resource>) {
        let resource = resource.get_or_insert_with(Resource::default);
        self.apply(&mut resource.attributes, false);
    }

    /// Adds the request id to every exemplar of `metric`; data points themselves are untouched.
    pub(super) fn apply_to_exemplars(&self, metric: &mut Metric) {
        let stamp = |exemplars: &mut Vec<Exemplar>| {
            for e in exemplars {
                self.apply(&mut e.filtered_attributes, false);
            }
        };
        match &mut metric.data {
            Some(Data::Gauge(g)) => g
                .data_points
                .iter_mut()
                .for_each(|p| stamp(&mut p.exemplars)),
            Some(Data::Sum(s)) => s
                .data_points
                .iter_mut()
                .for_each(|p| stamp(&mut p.exemplars)),
            Some(Data::Histogram(h)) => {
                h.data_points
                    .iter_mut()
                    .for_each(|p| stamp(&mut p.exemplars));
            }
            Some(Data::ExponentialHistogram(h)) => {
                h.data_points
                    .iter_mut()
                    .for_each(|p| stamp(&mut p.exemplars));
            }
            Some(Data::Summary(_)) | None => {}
        }
    }

    /// The request id.
    pub(super) fn id(&self) -> &str {
        self.id
    }

    /// The key the id goes under.
    pub(super) fn key(&self) -> &str {
        &self.own.key
    }

    /// `<key>: <id>`.
    pub(super) fn own(&self) -> &KeyValue {
        &self.own
    }

    /// `weir.request.id: <id>`.
    pub(super) fn beside(&self) -> &KeyValue {
        &self.beside
    }

    fn is_ours(&self, kv: &KeyValue) -> bool {
        matches!(
            kv.value.as_ref().and_then(|v| v.value.as_ref()),
            Some(Value::StringValue(s)) if s == self.id
        )
    }
}

/// True when some data point of `metric` has an exemplar.
pub(super) fn has_exemplars(metric: &Metric) -> bool {
    match &metric.data {
        Some(Data::Gauge(g)) => g.data_points.iter().any(|p| !p.exemplars.is_empty()),
        Some(Data::Sum(s)) => s.data_points.iter().any(|p| !p.exemplars.is_empty()),
        Some(Data::Histogram(h)) => h.data_points.iter().any(|p| !p.exemplars.is_empty()),
        Some(Data::ExponentialHistogram(h)) => {
            h.data_points.iter().any(|p| !p.exemplars.is_empty())
        }
        Some(Data::Summary(_)) | None => false,
    }
}
