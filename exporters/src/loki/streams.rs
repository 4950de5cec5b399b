//! From a bundle to Loki streams: each record's label set (default labels, then the configured
//! resource and record attributes), entries grouped by that set in first-seen order, each
//! stream's entries sorted by time, and each entry's structured metadata (trace id, span id,
//! request id, severity, configured attributes) and line.
//!
//! A label set the cardinality guard refuses keeps only the default labels; its configured
//! labels move to the entry's structured metadata (dropped when structured metadata is off),
//! and the entry is counted in [`Built::moved`]. Nothing here fails.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::UNIX_EPOCH;

use weir_pipeline::Bundle;
use weir_pipeline::Signal;
use weir_pipeline::correlation;
use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::logs::v1::LogRecord;

use super::config::{DefaultLabels, LineFormat, LokiConfig};
use super::guard::TenantSets;
use super::line;
use super::names::{attribute, level, write_selector};
use super::wire::{Entry, Stream};

/// The label value of a stream whose records name no service.
pub(crate) const UNKNOWN_SERVICE: &str = "unknown_service";

/// What to take from each record, compiled from the config once.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    resource_labels: Vec<(String, String)>,
    attribute_labels: Vec<(String, String)>,
    defaults: DefaultLabels,
    /// `(attribute, name)` of configured structured metadata; `None` when it is off.
    metadata: Option<Vec<(String, String)>>,
    line: LineFormat,
}

/// The streams of one bundle.
#[derive(Debug, Default)]
pub(crate) struct Built {
    pub streams: Vec<Stream>,
    /// Entries whose configured labels the guard moved to structured metadata.
    pub moved: u64,
    /// The guard refused a label set for the first time this window: warn.
    pub warn: bool,
}

/// One label of a record: its name, value, and whether the config asked for it (only those
/// move when the guard refuses the set).
#[derive(Debug, Clone)]
struct Label<'a> {
    name: &'a str,
    value: Cow<'a, str>,
    configured: bool,
}

/// Where a label set's entries go: a stream, with the labels moved off it.
struct Target {
    stream: usize,
    moved: Vec<(String, String)>,
}

impl Plan {
    pub(crate) fn new(cfg: &LokiConfig) -> Self {
        let sm = &cfg.structured_metadata;
        Self {
            resource_labels: cfg.labels.resource.resolved(),
            attribute_labels: cfg.labels.attributes.resolved(),
            defaults: cfg.default_labels_enabled.clone(),
            metadata: sm.enabled.then(|| sm.attributes.resolved()),
            line: cfg.line_format,
        }
    }

    /// The streams of `bundle`, asking `sets` about every new label set.
    pub(crate) fn build(&self, bundle: &Bundle, sets: &mut TenantSets<'_>) -> Built {
        let mut built = Built::default();
        let mut targets: HashMap<String, Target> = HashMap::new();
        let mut by_selector: HashMap<String, usize> = HashMap::new();
        let mut selector = String::new();
        for part in bundle.parts() {
            let Signal::Logs(resources) = part.signal() else {
                continue;
            };
            let received = part
                .ctx
                .received_wall
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            for rl in resources {
                let resource = rl.resource.as_ref();
                let res_attrs = resource.map_or(&[][..], |r| &r.attributes[..]);
                let base = self.resource_labels(res_attrs);
                for record in rl.scope_logs.iter().flat_map(|s| &s.log_records) {
                    let labels = self.record_labels(&base, record);
                    selector.clear();
                    write_selector(&pairs(&labels), &mut selector);
                    if !targets.contains_key(selector.as_str()) {
                        // Sets of default labels only are the fallback: always taken, not
                        // counted.
                        let configured = labels.iter().any(|l| l.configured);
                        let target = if !configured || sets.admit(&selector) {
                            let stream = stream_for(&mut built, &mut by_selector, &labels);
                            Target {
                                stream,
                                moved: Vec::new(),
                            }
                        } else {
                            built.warn |= sets.first_refusal();
                            let kept: Vec<Label<'_>> =
                                labels.iter().filter(|l| !l.configured).cloned().collect();
                            Target {
                                stream: stream_for(&mut built, &mut by_selector, &kept),
                                moved: owned(labels.iter().filter(|l| l.configured)),
                            }
                        };
                        targets.insert(selector.clone(), target);
                    }
                    let Some(target) = targets.get(selector.as_str()) else {
                        continue; // inserted just above
                    };
                    if !target.moved.is_empty() {
                        built.moved += 1;
                    }
                    let ids = correlation::of_log_in(&part.ctx, resource, record);
                    let entry = Entry {
                        nanos: match (record.time_unix_nano, record.observed_time_unix_nano) {
                            (0, 0) => received,
                            (0, observed) => observed,
                            (t, _) => t,
                        },
                        line: line::render(self.line, record, &ids, self.metadata.is_none()),
                        metadata: self.metadata(record, res_attrs, &ids, &target.moved),
                    };
                    built.streams[target.stream].entries.push(entry);
                }
            }
        }
        for stream in &mut built.streams {
            stream.entries.sort_by_key(|e| e.nanos);
        }
        built
    }

    /// The labels every record of a resource shares: the default ones, then the configured
    /// resource attributes (a configured label replaces a default one of the same name).
    fn resource_labels<'a>(&'a self, attrs: &'a [KeyValue]) -> Vec<Label<'a>> {
        let mut labels = Vec::new();
        let d = &self.defaults;
        let service = attribute(attrs, "service.name");
        if d.service_name {
            let value = service.clone().unwrap_or(Cow::Borrowed(UNKNOWN_SERVICE));
            set(&mut labels, "service_name", value, false);
        }
        if d.exporter {
            set(&mut labels, "exporter", Cow::Borrowed("OTLP"), false);
        }
        if d.job {
            let job = match (attribute(attrs, "service.namespace"), &service) {
                (Some(ns), Some(s)) => Some(Cow::Owned(format!("{ns}/{s}"))),
                (None, Some(s)) => Some(s.clone()),
                _ => None,
            };
            if let Some(job) = job {
                set(&mut labels, "job", job, false);
            }
        }
        if d.instance
            && let Some(instance) = attribute(attrs, "service.instance.id")
        {
            set(&mut labels, "instance", instance, false);
        }
        for (attr, name) in &self.resource_labels {
            if let Some(value) = attribute(attrs, attr) {
                set(&mut labels, name, value, true);
            }
        }
        labels
    }

    /// A record's labels, sorted by name: the resource's, `level` unless configured otherwise,
    /// then the configured record attributes (which win over the resource's).
    fn record_labels<'a>(&'a self, base: &[Label<'a>], record: &'a LogRecord) -> Vec<Label<'a>> {
        let mut labels = base.to_vec();
        if self.defaults.level
            && !labels.iter().any(|l| l.name == "level")
            && let Some(level) = level(record)
        {
            labels.push(Label {
                name: "level",
                value: Cow::Borrowed(level),
                configured: false,
            });
        }
        for (attr, name) in &self.attribute_labels {
            if let Some(value) = attribute(&record.attributes, attr) {
                set(&mut labels, name, value, true);
            }
        }
        labels.sort_by(|a, b| a.name.cmp(b.name));
        labels
    }

    /// Structured metadata of one entry; empty when it is off.
    fn metadata(
        &self,
        record: &LogRecord,
        res_attrs: &[KeyValue],
        ids: &correlation::Correlation<'_>,
        moved: &[(String, String)],
    ) -> Vec<(String, String)> {
        let Some(configured) = &self.metadata else {
            return Vec::new();
        };
        let mut out: Vec<(String, String)> = Vec::new();
        let push = |out: &mut Vec<(String, String)>, name: &str, value: String| {
            if !value.is_empty() && !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_owned(), value));
            }
        };
        if let Some(t) = ids.trace_id_hex() {
            push(&mut out, "trace_id", t);
        }
        if let Some(s) = ids.span_id_hex() {
            push(&mut out, "span_id", s);
        }
        if let Some(r) = ids.request_id {
            push(&mut out, "request_id", r.to_owned());
        }
        push(&mut out, "severity_text", record.severity_text.clone());
        if record.severity_number > 0 {
            push(
                &mut out,
                "severity_number",
                record.severity_number.to_string(),
            );
        }
        for (attr, name) in configured {
            let value = attribute(&record.attributes, attr).or_else(|| attribute(res_attrs, attr));
            if let Some(value) = value {
                push(&mut out, name, value.into_owned());
            }
        }
        for (name, value) in moved {
            push(&mut out, name, value.clone());
        }
        out
    }
}

/// Sets label `name`, replacing one of the same name.
fn set<'a>(labels: &mut Vec<Label<'a>>, name: &'a str, value: Cow<'a, str>, configured: bool) {
    let label = Label {
        name,
        value,
        configured,
    };
    match labels.iter_mut().find(|l| l.name == name) {
        Some(existing) => *existing = label,
        None => labels.push(label),
    }
}

fn pairs<'a>(labels: &'a [Label<'a>]) -> Vec<(&'a str, &'a str)> {
    labels.iter().map(|l| (l.name, l.value.as_ref())).collect()
}

fn owned<'a>(labels: impl Iterator<Item = &'a Label<'a>>) -> Vec<(String, String)> {
    labels
        .map(|l| (l.name.to_owned(), l.value.clone().into_owned()))
        .collect()
}

/// The index of the stream with exactly `labels` (sorted), created when new. A set with no
/// label at all (Loki refuses those) becomes `{service_name="unknown_service"}`.
fn stream_for(
    built: &mut Built,
    by_selector: &mut HashMap<String, usize>,
    labels: &[Label<'_>],
) -> usize {
    let mut labels = owned(labels.iter());
    if labels.is_empty() {
        labels.push(("service_name".into(), UNKNOWN_SERVICE.into()));
    }
    let mut selector = String::new();
    write_selector(&labels, &mut selector);
    if let Some(i) = by_selector.get(&selector) {
        return *i;
    }
    by_selector.insert(selector.clone(), built.streams.len());
    built.streams.push(Stream {
        labels,
        selector,
        entries: Vec::new(),
    });
    built.streams.len() - 1
}
