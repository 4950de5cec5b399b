//! The metrics handle: one registry of weir's own counters, gauges and histograms, shared by
//! every component.
//!
//! Names come from one catalogue ([`catalogue`]) so that a component cannot invent a metric the
//! documentation does not list. Series are looked up once per request (not per record) and
//! updated atomically. Rendering ([`render`]) produces the Prometheus text format 0.0.4 or
//! OpenMetrics, with process metrics and build info. Nothing here fails.

use std::collections::BTreeMap;
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
    /// Counter (only goes up), gauge (a current value) or histogram.
    pub kind: MetricKind,
}

/// The Prometheus type of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Monotonic; `_total` names.
    Counter,
    /// A current value that goes up and down.
    Gauge,
    /// Observations in fixed buckets ([`BUCKETS`]), with sum and count.
    Histogram,
}

impl MetricKind {
    fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

pub mod catalogue;
mod histogram;
mod notes;
mod process;
pub mod render;
pub mod tenants;

pub use histogram::{BUCKETS, Histogram};
pub use notes::ExportNote;

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

/// One series' storage.
#[derive(Debug, Clone)]
enum Cell {
    Value(Counter),
    Histogram(Histogram),
}

type Series = BTreeMap<Vec<String>, Cell>;

/// The registry handle; cheap to clone, shared by every component.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    families: Arc<RwLock<BTreeMap<&'static str, (MetricDef, Series)>>>,
    tenants: Arc<tenants::TenantLabels>,
    notes: Arc<parking_lot::Mutex<BTreeMap<String, ExportNote>>>,
}

/// One series' value at the time of a [`Metrics::snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    /// A counter's or gauge's value.
    Value(u64),
    /// A histogram: cumulative bucket counts (for [`BUCKETS`] then +Inf), sum and count.
    Histogram {
        /// Cumulative counts per bucket, the last one being +Inf.
        buckets: Vec<u64>,
        /// Sum of observations.
        sum: f64,
        /// Number of observations.
        count: u64,
    },
}

/// Every series of one metric.
#[derive(Debug, Clone)]
pub struct FamilySnapshot {
    /// The metric.
    pub def: MetricDef,
    /// Label values and sample, per series.
    pub series: Vec<(Vec<String>, Sample)>,
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty registry naming at most `max` tenants in labels (later ones are `other`).
    pub fn with_max_tenants(max: usize) -> Self {
        Self::with_tenant_labels(max, tenants::DEFAULT_IDLE_AFTER)
    }

    /// An empty registry naming at most `max` tenants in labels, where a tenant only claimed
    /// (not proven) gives its name up after `idle_after` without traffic ([`tenants`]).
    pub fn with_tenant_labels(max: usize, idle_after: std::time::Duration) -> Self {
        Self {
            tenants: Arc::new(tenants::TenantLabels::new(max, idle_after)),
            ..Self::default()
        }
    }

    /// The `tenant` label value of `tenant`: its id while it has a name, `other` otherwise.
    pub fn tenant_label(&self, tenant: &crate::TenantId) -> Arc<str> {
        self.label(tenant, false)
    }

    /// Marks `tenant` as proven by a token or a client certificate: preferred for a name in
    /// labels over tenants only claimed by headers or resource attributes.
    pub fn prove_tenant(&self, tenant: &crate::TenantId) -> Arc<str> {
        self.label(tenant, true)
    }

    fn label(&self, tenant: &crate::TenantId, proven: bool) -> Arc<str> {
        let label = self
            .tenants
            .label_at(tenant, proven, std::time::Instant::now());
        if let Some(replaced) = label.replaced {
            self.fold_into_other(&replaced);
        }
        label.value
    }

    /// Moves every series of tenant `name` under `tenant="other"`: counters are added to
    /// `other`'s, gauges and histograms dropped (none is kept per tenant).
    fn fold_into_other(&self, name: &str) {
        let mut families = self.families.write();
        for (def, series) in families.values_mut() {
            let Some(i) = def.labels.iter().position(|l| *l == "tenant") else {
                continue;
            };
            let keys: Vec<Vec<String>> = series
                .keys()
                .filter(|k| k.get(i).is_some_and(|v| v == name))
                .cloned()
                .collect();
            for key in keys {
                let Some(cell) = series.remove(&key) else {
                    continue;
                };
                if let (Cell::Value(c), MetricKind::Counter) = (cell, def.kind) {
                    let mut other = key;
                    other[i] = tenants::OTHER.to_owned();
                    if let Cell::Value(o) = series
                        .entry(other)
                        .or_insert_with(|| Cell::Value(Counter::default()))
                    {
                        o.add(c.get());
                    }
                }
            }
        }
    }

    fn key(def: &MetricDef, values: &[&str]) -> Vec<String> {
        (0..def.labels.len())
            .map(|i| values.get(i).copied().unwrap_or_default().to_owned())
            .collect()
    }

    fn cell(&self, def: MetricDef, values: &[&str], make: fn() -> Cell) -> Cell {
        let key = Self::key(&def, values);
        if let Some((_, series)) = self.families.read().get(def.name)
            && let Some(c) = series.get(&key)
        {
            return c.clone();
        }
        let mut families = self.families.write();
        let (_, series) = families
            .entry(def.name)
            .or_insert_with(|| (def, Series::new()));
        series.entry(key).or_insert_with(make).clone()
    }

    /// The counter or gauge of `def` with `values` for its labels, created at zero when new.
    /// Extra or missing values are padded or cut to the definition's labels.
    pub fn counter(&self, def: MetricDef, values: &[&str]) -> Counter {
        match self.cell(def, values, || Cell::Value(Counter::default())) {
            Cell::Value(c) => c,
            // A histogram definition asked for as a counter: a detached counter, never shown.
            Cell::Histogram(_) => Counter::default(),
        }
    }

    /// The histogram of `def` with `values` for its labels.
    pub fn histogram(&self, def: MetricDef, values: &[&str]) -> Histogram {
        match self.cell(def, values, || Cell::Histogram(Histogram::default())) {
            Cell::Histogram(h) => h,
            Cell::Value(_) => Histogram::default(),
        }
    }

    /// The value of one counter or gauge series, `None` when it was never created.
    pub fn value(&self, def: MetricDef, values: &[&str]) -> Option<u64> {
        let families = self.families.read();
        let (_, series) = families.get(def.name)?;
        let key: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        match series.get(&key)? {
            Cell::Value(c) => Some(c.get()),
            Cell::Histogram(h) => Some(h.count()),
        }
    }

    /// Every series of every metric, as they are now.
    pub fn snapshot(&self) -> Vec<FamilySnapshot> {
        self.families
            .read()
            .values()
            .map(|(def, series)| FamilySnapshot {
                def: *def,
                series: series
                    .iter()
                    .map(|(k, cell)| {
                        let sample = match cell {
                            Cell::Value(c) => Sample::Value(c.get()),
                            Cell::Histogram(h) => h.sample(),
                        };
                        (k.clone(), sample)
                    })
                    .collect(),
            })
            .collect()
    }

    /// Notes the outcome of one send by `exporter`: success, or the error's message.
    pub fn note_export(&self, exporter: &str, error: Option<&str>) {
        notes::record(&mut self.notes.lock(), exporter, error);
    }

    /// Notes why `exporter`'s disk queue refuses batches (`None`: it takes them again); says
    /// whether that changed.
    pub fn note_storage(&self, exporter: &str, problem: Option<&str>) -> bool {
        notes::storage(&mut self.notes.lock(), exporter, problem)
    }

    /// The last outcomes of every exporter that has sent.
    pub fn export_notes(&self) -> BTreeMap<String, ExportNote> {
        self.notes.lock().clone()
    }

    /// Every series in the Prometheus text format 0.0.4 (no process metrics).
    pub fn render_prometheus(&self) -> String {
        render::text(&self.snapshot(), render::Format::Prometheus)
    }
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
    fn a_tenant_that_loses_its_name_is_folded_into_other_and_totals_stay() {
        let m = Metrics::with_max_tenants(1);
        let junk = crate::TenantId::new("junk").expect("tenant");
        let label = m.tenant_label(&junk);
        m.counter(
            catalogue::RECEIVER_ACCEPTED_RECORDS,
            &["traces", "otlp", &label],
        )
        .add(7);
        m.counter(
            catalogue::RECEIVER_ACCEPTED_RECORDS,
            &["traces", "otlp", "other"],
        )
        .add(1);
        let team = crate::TenantId::new("team-a").expect("tenant");
        assert_eq!(&*m.prove_tenant(&team), "team-a");
        let value = |t: &str| m.value(catalogue::RECEIVER_ACCEPTED_RECORDS, &["traces", "otlp", t]);
        assert_eq!(value("junk"), None);
        assert_eq!(value("other"), Some(8));
        assert_eq!(&*m.tenant_label(&junk), "other");
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
