//! What a record is routed by: the `load_balancing` exporter's `routing_key`, and the stable
//! hash of that key for one record.
//!
//! Reading a key name ([`KeyName`]) fails with the list of names weir has; hashing never fails: a record
//! without the attribute a key names hashes as an empty value (all such records go together),
//! except a log record without a trace id under `traceID`, which goes with its request.

use prost::Message;

use super::ring::StableHasher;
use crate::otlp::common::v1::{InstrumentationScope, KeyValue};
use crate::otlp::resource::v1::Resource;
use crate::{RequestContext, SignalKind};

/// The routing keys, by their Collector names (and weir's `tenant`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutingKey {
    /// `traceID`: every span (or log record) of one trace to one endpoint.
    TraceId,
    /// `service`: by the resource's `service.name`.
    Service,
    /// `resource`: by every resource attribute.
    Resource,
    /// `metric`: by resource and metric name.
    Metric,
    /// `streamID`: by resource, scope, metric name and data point attributes.
    StreamId,
    /// `attributes`: by the values of `routing_attributes`, each looked up on the resource,
    /// then the scope, then the record.
    Attributes(Vec<String>),
    /// weir's `tenant`: by the batch's tenant.
    Tenant,
}

/// The `routing_key` names weir accepts.
pub const KEY_NAMES: &[&str] = &[
    "traceID",
    "service",
    "resource",
    "metric",
    "streamID",
    "attributes",
    "tenant",
];

/// A `routing_key` as written, read from config: the key without `routing_attributes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyName {
    /// `traceID`.
    TraceId,
    /// `service`.
    Service,
    /// `resource`.
    Resource,
    /// `metric`.
    Metric,
    /// `streamID`.
    StreamId,
    /// `attributes`.
    Attributes,
    /// `tenant`.
    Tenant,
}

/// A `routing_key` weir does not have; the message lists the ones it has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown routing_key {0:?}; weir has: {names}", names = KEY_NAMES.join(", "))]
pub struct UnknownKey(pub String);

impl std::str::FromStr for KeyName {
    type Err = UnknownKey;

    /// Names are case-sensitive, as the Collector's.
    fn from_str(name: &str) -> Result<Self, UnknownKey> {
        Ok(match name {
            "traceID" => Self::TraceId,
            "service" => Self::Service,
            "resource" => Self::Resource,
            "metric" => Self::Metric,
            "streamID" => Self::StreamId,
            "attributes" => Self::Attributes,
            "tenant" => Self::Tenant,
            other => return Err(UnknownKey(other.to_owned())),
        })
    }
}

impl<'de> serde::Deserialize<'de> for KeyName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl RoutingKey {
    /// The key `name` names; `attributes` takes `routing_attributes`.
    pub fn new(name: KeyName, attributes: &[String]) -> Self {
        match name {
            KeyName::TraceId => Self::TraceId,
            KeyName::Service => Self::Service,
            KeyName::Resource => Self::Resource,
            KeyName::Metric => Self::Metric,
            KeyName::StreamId => Self::StreamId,
            KeyName::Attributes => Self::Attributes(attributes.to_vec()),
            KeyName::Tenant => Self::Tenant,
        }
    }

    /// The Collector's default for a signal: `traceID` for traces, `service` otherwise.
    pub fn default_for(signal: SignalKind) -> Self {
        match signal {
            SignalKind::Traces => Self::TraceId,
            SignalKind::Metrics | SignalKind::Logs => Self::Service,
        }
    }

    /// Signals a key can route; the config check refuses the others.
    pub fn signals(&self) -> &'static [SignalKind] {
        match self {
            Self::TraceId => &[SignalKind::Traces, SignalKind::Logs],
            Self::Metric | Self::StreamId => &[SignalKind::Metrics],
            Self::Service | Self::Resource | Self::Attributes(_) | Self::Tenant => &SignalKind::ALL,
        }
    }
}

/// The hash of one record's key, fed in the order resource, scope, record.
pub(crate) struct KeyOf<'a> {
    pub key: &'a RoutingKey,
    pub ctx: &'a RequestContext,
}

impl KeyOf<'_> {
    /// The part of the key that every record of `resource` shares: all of it for
    /// `service`, `resource` and `tenant`, else [`KeyOf::record`] or [`KeyOf::metric`] finishes it.
    pub fn resource(&self, resource: Option<&Resource>) -> StableHasher {
        let mut h = StableHasher::default();
        let attrs = resource
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        match self.key {
            RoutingKey::Service => value_of(&mut h, find(attrs, "service.name")),
            RoutingKey::Resource | RoutingKey::Metric | RoutingKey::StreamId => {
                sorted_attributes(&mut h, attrs)
            }
            RoutingKey::Tenant => h.field(self.ctx.tenant.as_str().as_bytes()),
            RoutingKey::TraceId | RoutingKey::Attributes(_) => {}
        }
        h
    }

    /// The key of a span or log record: its trace id, or the routing attributes.
    pub fn record(
        &self,
        at_resource: StableHasher,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
        trace_id: &[u8],
        attrs: &[KeyValue],
    ) -> u64 {
        let mut h = at_resource;
        match self.key {
            RoutingKey::TraceId if trace_id.is_empty() => {
                h.field(self.ctx.request_id.as_str().as_bytes())
            }
            RoutingKey::TraceId => h.field(trace_id),
            RoutingKey::Attributes(names) => {
                let levels = [
                    resource
                        .map(|r| r.attributes.as_slice())
                        .unwrap_or_default(),
                    scope.map(|s| s.attributes.as_slice()).unwrap_or_default(),
                    attrs,
                ];
                for name in names {
                    h.field(name.as_bytes());
                    value_of(&mut h, levels.iter().find_map(|l| find(l, name)));
                }
            }
            _ => {}
        }
        h.finish()
    }

    /// The key of a metric (by name), before its data points for `streamID`.
    pub fn metric(
        &self,
        at_resource: StableHasher,
        scope: Option<&InstrumentationScope>,
        name: &str,
    ) -> StableHasher {
        let mut h = at_resource;
        if *self.key == RoutingKey::StreamId
            && let Some(s) = scope
        {
            h.field(s.name.as_bytes());
            h.field(s.version.as_bytes());
        }
        h.field(name.as_bytes());
        h
    }
}

/// Finishes a `streamID` key with a data point's attributes.
pub(crate) fn point_key(at_metric: StableHasher, attrs: &[KeyValue]) -> u64 {
    let mut h = at_metric;
    sorted_attributes(&mut h, attrs);
    h.finish()
}

fn find<'a>(attrs: &'a [KeyValue], name: &str) -> Option<&'a KeyValue> {
    attrs.iter().find(|kv| kv.key == name)
}

/// Feeds an attribute's value (its protobuf encoding), or an empty field when absent.
fn value_of(h: &mut StableHasher, kv: Option<&KeyValue>) {
    match kv.and_then(|kv| kv.value.as_ref()) {
        Some(v) => h.field(&v.encode_to_vec()),
        None => h.field(&[]),
    }
}

/// Feeds every attribute, sorted by key, so that the order a client wrote them in does not
/// change the route.
fn sorted_attributes(h: &mut StableHasher, attrs: &[KeyValue]) {
    let mut sorted: Vec<&KeyValue> = attrs.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    for kv in sorted {
        h.field(kv.key.as_bytes());
        value_of(h, Some(kv));
    }
}
