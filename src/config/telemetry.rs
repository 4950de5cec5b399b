//! `service.telemetry.metrics` and `service.telemetry.resource`, in the Collector's shapes.
//!
//! - `metrics`: where weir serves its own `/metrics` besides the admin listener: a `pull`
//!   reader's `prometheus: { host, port }`, or the older `address: host:port`; `level: none`
//!   serves none. A `periodic` (push) reader is refused: weir's metrics are scraped.
//! - `resource`: attributes describing this weir (`service.instance.id`, `k8s.pod.name`), put on
//!   its own spans and shown as `target_info` on its `/metrics` pages.
//!
//! Reading pushes `(path, message)` for each problem; nothing here touches the system.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_yaml_ng::Value;

use super::collect::{Unchecked, join, read};

/// `service.telemetry.metrics`, resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsTelemetry {
    /// `host:port` of the extra `/metrics` listener; `None`: only the admin listener serves it.
    pub endpoint: Option<String>,
}

/// The Collector's metrics levels; only `none` changes anything in weir (no extra listener):
/// weir's catalogue is one fixed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Level {
    None,
    Basic,
    Normal,
    Detailed,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    #[serde(default)]
    level: Option<Level>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    readers: Vec<RawReader>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReader {
    #[serde(default)]
    pull: Option<RawPull>,
    #[serde(default)]
    periodic: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPull {
    exporter: RawPullExporter,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPullExporter {
    prometheus: RawPrometheus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrometheus {
    #[serde(default)]
    host: Option<String>,
    port: u16,
}

/// Reads `service.telemetry.metrics`.
pub fn metrics(
    value: Value,
    unchecked: &BTreeSet<String>,
    errors: &mut Vec<(String, String)>,
) -> MetricsTelemetry {
    const PATH: &str = "service.telemetry.metrics";
    let (raw, problems) = read::<RawMetrics>(value, Unchecked::new(unchecked, PATH)).partial();
    errors.extend(problems.into_iter().map(|(p, m)| (join(PATH, &p), m)));
    let Some(raw) = raw else {
        return MetricsTelemetry::default();
    };
    let mut endpoints: Vec<String> = raw.address.into_iter().collect();
    for (i, r) in raw.readers.into_iter().enumerate() {
        if r.periodic.is_some() {
            errors.push((
                format!("{PATH}.readers[{i}].periodic"),
                "not supported by weir: periodic readers (weir's metrics are scraped: use \
                 pull: { exporter: { prometheus: { host, port } } })"
                    .into(),
            ));
        }
        if let Some(p) = r.pull {
            let host = p
                .exporter
                .prometheus
                .host
                .unwrap_or_else(|| "localhost".into());
            let host = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host
            };
            endpoints.push(format!("{host}:{}", p.exporter.prometheus.port));
        }
    }
    if endpoints.len() > 1 {
        errors.push((
            PATH.into(),
            "weir serves its metrics on one extra listener: give one pull reader or address".into(),
        ));
    }
    if raw.level == Some(Level::None) {
        return MetricsTelemetry::default();
    }
    MetricsTelemetry {
        endpoint: endpoints.into_iter().next(),
    }
}

/// Reads `service.telemetry.resource`: attribute names to string values (a null value is
/// left out, as the Collector removes it).
pub fn resource(
    value: Value,
    unchecked: &BTreeSet<String>,
    errors: &mut Vec<(String, String)>,
) -> BTreeMap<String, String> {
    const PATH: &str = "service.telemetry.resource";
    let (raw, problems) =
        read::<BTreeMap<String, Option<String>>>(value, Unchecked::new(unchecked, PATH)).partial();
    errors.extend(problems.into_iter().map(|(p, m)| (join(PATH, &p), m)));
    raw.unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics_of(yaml: &str) -> (MetricsTelemetry, Vec<(String, String)>) {
        let mut errors = Vec::new();
        let v: Value = serde_yaml_ng::from_str(yaml).expect("yaml");
        (metrics(v, &BTreeSet::new(), &mut errors), errors)
    }

    #[test]
    fn a_pull_reader_or_an_address_places_the_listener() {
        let (m, e) = metrics_of(
            "readers: [{ pull: { exporter: { prometheus: { host: 0.0.0.0, port: 8888 } } } }]",
        );
        assert_eq!(m.endpoint.as_deref(), Some("0.0.0.0:8888"), "{e:?}");
        let (m, e) = metrics_of("address: 127.0.0.1:9999\nlevel: detailed");
        assert_eq!(m.endpoint.as_deref(), Some("127.0.0.1:9999"), "{e:?}");
        let (m, _) = metrics_of(
            "readers: [{ pull: { exporter: { prometheus: { host: '::', port: 1 } } } }]",
        );
        assert_eq!(m.endpoint.as_deref(), Some("[::]:1"));
    }

    #[test]
    fn level_none_serves_nothing_and_push_readers_are_refused() {
        let (m, e) = metrics_of("level: none\naddress: 127.0.0.1:9999");
        assert_eq!(m, MetricsTelemetry::default());
        assert!(e.is_empty());
        let (_, e) = metrics_of("readers: [{ periodic: { exporter: { otlp: {} } } }]");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "service.telemetry.metrics.readers[0].periodic");
        let (_, e) = metrics_of(
            "address: a:1\nreaders: [{ pull: { exporter: { prometheus: { port: 2 } } } }]",
        );
        assert_eq!(e.len(), 1, "two listeners: {e:?}");
    }

    #[test]
    fn resource_keeps_string_values_and_drops_nulls() {
        let mut errors = Vec::new();
        let v: Value =
            serde_yaml_ng::from_str("service.instance.id: pod-1\nk8s.pod.name: ~").expect("yaml");
        let r = resource(v, &BTreeSet::new(), &mut errors);
        assert!(errors.is_empty());
        assert_eq!(
            r.into_iter().collect::<Vec<_>>(),
            [("service.instance.id".to_owned(), "pod-1".to_owned())]
        );
    }
}
