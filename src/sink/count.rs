//! What `weir sink` counts: records per signal and tenant, requests, bytes, leaked secrets and
//! records whose resource has no `service.name`, served as the `/counts` JSON.
//!
//! The tenant of a resource's records is the request's `X-Scope-OrgID` when present, else the
//! resource's `service.namespace`, else `"unknown"`. Metrics count data points. Nothing here
//! fails.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, metric};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use parking_lot::Mutex;
use serde_json::json;

use super::canary;
use crate::loadgen::args::SignalArg;

/// The tenant header.
pub const TENANT_HEADER: &str = "x-scope-orgid";
/// The tenant of records that name none.
pub const UNKNOWN_TENANT: &str = "unknown";

/// What one request held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records per tenant, in the order the resources came.
    pub records: Vec<(String, u64)>,
    /// Values and bodies that still hold a planted secret.
    pub leaked: u64,
    /// Records whose resource has no `service.name`.
    pub without_resource: u64,
}

fn string_attr<'a>(resource: Option<&'a Resource>, key: &str) -> Option<&'a str> {
    resource?
        .attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
}

impl Tally {
    fn add_resource(&mut self, header: Option<&str>, resource: Option<&Resource>, records: u64) {
        let tenant = header
            .or_else(|| string_attr(resource, "service.namespace"))
            .unwrap_or(UNKNOWN_TENANT);
        if string_attr(resource, "service.name").is_none() {
            self.without_resource += records;
        }
        match self.records.iter_mut().find(|(t, _)| t == tenant) {
            Some((_, n)) => *n += records,
            None => self.records.push((tenant.to_owned(), records)),
        }
    }

    /// Spans of a traces request.
    pub fn traces(header: Option<&str>, resources: &[ResourceSpans]) -> Tally {
        let mut t = Tally {
            leaked: canary::in_traces(resources),
            ..Tally::default()
        };
        for rs in resources {
            let n = rs.scope_spans.iter().map(|s| s.spans.len() as u64).sum();
            t.add_resource(header, rs.resource.as_ref(), n);
        }
        t
    }

    /// Log records of a logs request.
    pub fn logs(header: Option<&str>, resources: &[ResourceLogs]) -> Tally {
        let mut t = Tally {
            leaked: canary::in_logs(resources),
            ..Tally::default()
        };
        for rl in resources {
            let n = rl
                .scope_logs
                .iter()
                .map(|s| s.log_records.len() as u64)
                .sum();
            t.add_resource(header, rl.resource.as_ref(), n);
        }
        t
    }

    /// Data points of a metrics request.
    pub fn metrics(header: Option<&str>, resources: &[ResourceMetrics]) -> Tally {
        let mut t = Tally {
            leaked: canary::in_metrics(resources),
            ..Tally::default()
        };
        for rm in resources {
            let n = rm
                .scope_metrics
                .iter()
                .flat_map(|s| &s.metrics)
                .filter_map(|m| m.data.as_ref())
                .map(points)
                .sum();
            t.add_resource(header, rm.resource.as_ref(), n);
        }
        t
    }
}

/// The data points of one metric.
pub fn points(data: &metric::Data) -> u64 {
    (match data {
        metric::Data::Gauge(g) => g.data_points.len(),
        metric::Data::Sum(s) => s.data_points.len(),
        metric::Data::Histogram(h) => h.data_points.len(),
        metric::Data::ExponentialHistogram(h) => h.data_points.len(),
        metric::Data::Summary(s) => s.data_points.len(),
    }) as u64
}

#[derive(Debug, Default)]
struct State {
    traces: BTreeMap<String, u64>,
    logs: BTreeMap<String, u64>,
    metrics: BTreeMap<String, u64>,
    requests: u64,
    bytes: u64,
    leaked: u64,
    without_resource: u64,
}

/// Everything counted since start or the last reset.
#[derive(Debug, Default)]
pub struct Counts {
    state: Mutex<State>,
}

impl Counts {
    /// Adds one request of `signal`, `bytes` long, that held `tally`.
    pub fn add(&self, signal: SignalArg, bytes: u64, tally: Tally) {
        let mut s = self.state.lock();
        s.requests += 1;
        s.bytes += bytes;
        s.leaked += tally.leaked;
        s.without_resource += tally.without_resource;
        let map = match signal {
            SignalArg::Traces => &mut s.traces,
            SignalArg::Logs => &mut s.logs,
            SignalArg::Metrics => &mut s.metrics,
        };
        for (tenant, n) in tally.records {
            *map.entry(tenant).or_default() += n;
        }
    }

    /// Zeroes everything.
    pub fn reset(&self) {
        *self.state.lock() = State::default();
    }

    /// The `/counts` document.
    pub fn json(&self) -> serde_json::Value {
        let s = self.state.lock();
        json!({
            "records": { "traces": s.traces, "logs": s.logs, "metrics": s.metrics },
            "requests": s.requests,
            "bytes": s.bytes,
            "leaked_values": s.leaked,
            "records_without_resource": s.without_resource,
        })
    }
}

#[cfg(test)]
#[path = "count_tests.rs"]
mod tests;
