//! The metrics handle: one registry of weir's own counters, shared by every component.
//!
//! Names come from one catalogue ([`catalogue`]) so that a component cannot invent a metric the
//! documentation does not list. Counters are looked up once per request (not per record) and
//! incremented atomically. Rendering produces the Prometheus text format 0.0.4. Nothing here
//! fails; an unknown name is a programming error caught by the tests of [`catalogue`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

/// A metric weir exposes about itself.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    /// Prometheus name.
    pub name: &'static str,
    /// `# HELP` text.
    pub help: &'static str,
    /// Label names, in order.
    pub labels: &'static [&'static str],
    /// Counter (only goes up) or gauge (a current value).
    pub kind: MetricKind,
}

/// The Prometheus type of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Monotonic; `_total` names.
    Counter,
    /// A current value that goes up and down.
    Gauge,
}

impl MetricKind {
    fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
        }
    }
}

/// Every counter weir exposes.
pub mod catalogue {
    use super::{MetricDef, MetricKind::Counter, MetricKind::Gauge};

    /// Records taken by a receiver.
    pub const RECEIVER_ACCEPTED_RECORDS: MetricDef = MetricDef {
        name: "weir_receiver_accepted_records_total",
        help: "Records (spans, data points, log records) a receiver accepted.",
        labels: &["signal", "receiver", "tenant"],
        kind: Counter,
    };
    /// Records a receiver refused, by reason.
    pub const RECEIVER_REFUSED_RECORDS: MetricDef = MetricDef {
        name: "weir_receiver_refused_records_total",
        help: "Records a receiver refused, by reason.",
        labels: &["signal", "receiver", "tenant", "reason"],
        kind: Counter,
    };
    /// Bytes (after decompression) of accepted requests.
    pub const RECEIVER_ACCEPTED_BYTES: MetricDef = MetricDef {
        name: "weir_receiver_accepted_bytes_total",
        help: "Bytes of accepted requests, measured after decompression.",
        labels: &["signal", "receiver", "tenant"],
        kind: Counter,
    };
    /// Records an exporter sent.
    pub const EXPORTER_SENT_RECORDS: MetricDef = MetricDef {
        name: "weir_exporter_sent_records_total",
        help: "Records an exporter delivered.",
        labels: &["signal", "exporter"],
        kind: Counter,
    };
    /// Records an exporter failed to send.
    pub const EXPORTER_FAILED_RECORDS: MetricDef = MetricDef {
        name: "weir_exporter_failed_records_total",
        help: "Records an exporter failed to deliver, by reason.",
        labels: &["signal", "exporter", "reason"],
        kind: Counter,
    };

    /// Send attempts that were retried.
    pub const EXPORTER_RETRIES: MetricDef = MetricDef {
        name: "weir_exporter_retries_total",
        help: "Send attempts an exporter retried after a retryable failure.",
        labels: &["exporter"],
        kind: Counter,
    };
    /// Records in an exporter's queue now.
    pub const EXPORTER_QUEUE_RECORDS: MetricDef = MetricDef {
        name: "weir_exporter_queue_records",
        help: "Records waiting in an exporter's queue.",
        labels: &["exporter"],
        kind: Gauge,
    };
    /// An exporter's queue capacity, in its sizer's unit.
    pub const EXPORTER_QUEUE_CAPACITY: MetricDef = MetricDef {
        name: "weir_exporter_queue_capacity_records",
        help: "Capacity of an exporter's queue, counted by its sizer (requests, items or bytes).",
        labels: &["exporter"],
        kind: Gauge,
    };
    /// The loss ledger: every record lost after it was accepted, by reason.
    pub const RECORDS_DROPPED: MetricDef = MetricDef {
        name: "weir_records_dropped_total",
        help: "Records accepted by weir and then lost, by exporter, tenant and reason.",
        labels: &["signal", "exporter", "tenant", "reason"],
        kind: Counter,
    };

    /// Values a redaction processor masked, hashed or dropped, by reason.
    pub const REDACTED_VALUES: MetricDef = MetricDef {
        name: "weir_redacted_values_total",
        help: "Values a redaction processor masked, hashed or dropped, by reason.",
        labels: &["processor", "reason"],
        kind: Counter,
    };
    /// Trace or span ids the enrich processor found invalid and left alone, by source.
    pub const ENRICH_INVALID_IDS: MetricDef = MetricDef {
        name: "weir_enrich_invalid_ids_total",
        help: "Trace or span ids the enrich processor found invalid and left alone, by source.",
        labels: &["processor", "source"],
        kind: Counter,
    };

    /// The whole catalogue.
    pub const ALL: &[MetricDef] = &[
        RECEIVER_ACCEPTED_RECORDS,
        RECEIVER_REFUSED_RECORDS,
        RECEIVER_ACCEPTED_BYTES,
        EXPORTER_SENT_RECORDS,
        EXPORTER_FAILED_RECORDS,
        EXPORTER_RETRIES,
        EXPORTER_QUEUE_RECORDS,
        EXPORTER_QUEUE_CAPACITY,
        RECORDS_DROPPED,
        REDACTED_VALUES,
        ENRICH_INVALID_IDS,
    ];
}

/// A counter, or a gauge (which may also be set and lowered).
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Subtracts `n`, stopping at zero (gauges only).
    pub fn sub(&self, n: u64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            });
    }

    /// Sets the value (gauges only).
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

type Series = BTreeMap<Vec<String>, Counter>;

/// The registry handle; cheap to clone, shared by every component.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    families: Arc<RwLock<BTreeMap<&'static str, (MetricDef, Series)>>>,
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counter of `def` with `values` for its labels, created at zero when new. Extra or
    /// missing values are padded or cut to the definition's labels.
    pub fn counter(&self, def: MetricDef, values: &[&str]) -> Counter {
        let key: Vec<String> = (0..def.labels.len())
            .map(|i| values.get(i).copied().unwrap_or_default().to_owned())
            .collect();
        if let Some((_, series)) = self.families.read().get(def.name)
            && let Some(c) = series.get(&key)
        {
            return c.clone();
        }
        let mut families = self.families.write();
        let (_, series) = families
            .entry(def.name)
            .or_insert_with(|| (def, Series::new()));
        series.entry(key).or_default().clone()
    }

    /// The value of one series, `None` when it was never created.
    pub fn value(&self, def: MetricDef, values: &[&str]) -> Option<u64> {
        let families = self.families.read();
        let (_, series) = families.get(def.name)?;
        let key: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        series.get(&key).map(Counter::get)
    }

    /// Every series in the Prometheus text format 0.0.4.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        for (def, series) in self.families.read().values() {
            let _ = writeln!(out, "# HELP {} {}", def.name, def.help);
            let _ = writeln!(out, "# TYPE {} {}", def.name, def.kind.as_str());
            for (values, counter) in series {
                out.push_str(def.name);
                if !values.is_empty() {
                    out.push('{');
                    for (i, (name, value)) in def.labels.iter().zip(values).enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let _ = write!(out, "{name}=\"{}\"", escape_label(value));
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {}", counter.get());
            }
        }
        out
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders_with_escaped_labels() {
        let m = Metrics::new();
        let c = m.counter(
            catalogue::RECEIVER_ACCEPTED_RECORDS,
            &["traces", "otlp", "a\"b"],
        );
        c.add(3);
        m.counter(
            catalogue::RECEIVER_ACCEPTED_RECORDS,
            &["traces", "otlp", "a\"b"],
        )
        .add(2);
        assert_eq!(
            m.value(
                catalogue::RECEIVER_ACCEPTED_RECORDS,
                &["traces", "otlp", "a\"b"]
            ),
            Some(5)
        );
        let text = m.render_prometheus();
        assert!(text.contains("# TYPE weir_receiver_accepted_records_total counter"));
        assert!(text.contains(
            "weir_receiver_accepted_records_total{signal=\"traces\",receiver=\"otlp\",tenant=\"a\\\"b\"} 5"
        ));
    }

    #[test]
    fn catalogue_names_are_unique_and_prometheus_safe() {
        let mut names: Vec<&str> = catalogue::ALL.iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), catalogue::ALL.len());
        for d in catalogue::ALL {
            assert!(d.name.starts_with("weir_"));
            assert_eq!(
                d.name.ends_with("_total"),
                d.kind == MetricKind::Counter,
                "{}",
                d.name
            );
            assert!(d.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }
}
