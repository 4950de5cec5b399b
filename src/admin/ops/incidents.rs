//! Recent incidents for the ops page: exporter errors (with their cleaned message), and
//! records refused, failed or dropped, and auth failures, as the metrics counted them.
//!
//! The log is derived from the same registry as `/metrics`: [`Incidents::sample`] compares the
//! counters and each exporter's last error with the previous sample, and every counter that
//! grew becomes one incident (its labels and how much it grew; never an attribute value). The
//! admin listener samples every second and before each page, so a counter-made incident's time
//! is within a second of the event; an exporter error keeps the time of the error itself, and
//! several errors of one exporter within one sample show as the last of them. The log keeps the
//! newest `recent_incidents`. Nothing here fails.

use std::collections::{BTreeMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;
use weir_pipeline::metrics::ExportNote;

use super::super::views::Totals;
use weir_pipeline::scrub::Scrubber;

/// One thing that went wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// When (seconds since the Unix epoch).
    pub at_unix: f64,
    /// `export_error`, `refused`, `failed`, `dropped` or `auth_failure`.
    pub kind: &'static str,
    /// The receiver or exporter concerned (absent for auth failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// The signal, when the metric has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// The tenant label, when the metric has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The reason label (for an exporter error: `error`).
    pub reason: String,
    /// Records (or requests, for auth failures) counted since the previous sample.
    pub count: u64,
    /// The exporter's cleaned error message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where the labels of a counter go in an [`Incident`]: kind, then the index of the component,
/// signal, tenant and reason labels.
struct Shape {
    metric: &'static str,
    kind: &'static str,
    component: Option<usize>,
    signal: Option<usize>,
    tenant: Option<usize>,
    reason: usize,
}

const SHAPES: [Shape; 4] = [
    Shape {
        metric: "weir_receiver_refused_records_total",
        kind: "refused",
        component: Some(1),
        signal: Some(0),
        tenant: Some(2),
        reason: 3,
    },
    Shape {
        metric: "weir_exporter_failed_records_total",
        kind: "failed",
        component: Some(1),
        signal: Some(0),
        tenant: None,
        reason: 2,
    },
    Shape {
        metric: "weir_records_dropped_total",
        kind: "dropped",
        component: Some(1),
        signal: Some(0),
        tenant: Some(2),
        reason: 3,
    },
    Shape {
        metric: "weir_auth_failures_total",
        kind: "auth_failure",
        component: None,
        signal: None,
        tenant: None,
        reason: 0,
    },
];

/// The incident log; see the module docs.
#[derive(Debug)]
pub struct Incidents {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    capacity: usize,
    /// The counters of [`SHAPES`] at the previous sample.
    counters: Totals,
    /// Each exporter's last error time at the previous sample.
    errors_seen: BTreeMap<String, SystemTime>,
    /// Oldest first.
    log: VecDeque<Incident>,
}

fn unix(t: SystemTime) -> f64 {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    (secs * 1000.0).round() / 1000.0
}

impl Incidents {
    /// An empty log keeping the newest `capacity` incidents (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                capacity: capacity.max(1),
                ..Inner::default()
            }),
        }
    }

    /// Records what changed since the previous sample: `totals` is the registry's snapshot,
    /// `notes` each exporter's last outcomes, `now` the time given to counter-made incidents.
    pub fn sample(
        &self,
        totals: &Totals,
        notes: &BTreeMap<String, ExportNote>,
        scrubber: &Scrubber,
        now: SystemTime,
    ) {
        let mut inner = self.inner.lock();
        let mut new = Vec::new();
        for (exporter, note) in notes {
            let Some((at, message)) = &note.last_error else {
                continue;
            };
            if inner.errors_seen.get(exporter) == Some(at) {
                continue;
            }
            inner.errors_seen.insert(exporter.clone(), *at);
            new.push(Incident {
                at_unix: unix(*at),
                kind: "export_error",
                component: Some(exporter.clone()),
                signal: None,
                tenant: None,
                reason: "error".into(),
                count: 1,
                message: Some(scrubber.scrub(message)),
            });
        }
        for shape in &SHAPES {
            let series = totals.range((shape.metric.to_owned(), Vec::new())..);
            for ((name, labels), value) in series.take_while(|((n, _), _)| n == shape.metric) {
                let key = (name.clone(), labels.clone());
                let before = inner.counters.insert(key, *value).unwrap_or(0);
                let grew = value.saturating_sub(before);
                if grew == 0 {
                    continue;
                }
                let label = |i: Option<usize>| i.and_then(|i| labels.get(i).cloned());
                new.push(Incident {
                    at_unix: unix(now),
                    kind: shape.kind,
                    component: label(shape.component),
                    signal: label(shape.signal),
                    tenant: label(shape.tenant),
                    reason: label(Some(shape.reason)).unwrap_or_default(),
                    count: grew,
                    message: None,
                });
            }
        }
        new.sort_by(|a, b| a.at_unix.total_cmp(&b.at_unix));
        for incident in new {
            if inner.log.len() == inner.capacity {
                inner.log.pop_front();
            }
            inner.log.push_back(incident);
        }
    }

    /// The incidents kept, newest first.
    pub fn recent(&self) -> Vec<Incident> {
        self.inner.lock().log.iter().rev().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn counters(entries: &[(&str, &[&str], u64)]) -> Totals {
        entries
            .iter()
            .map(|(n, l, v)| {
                let labels = l.iter().map(|s| (*s).to_owned()).collect();
                (((*n).to_owned(), labels), *v)
            })
            .collect()
    }

    #[test]
    fn counters_that_grew_and_new_exporter_errors_become_incidents() {
        let log = Incidents::new(10);
        let scrub = Scrubber::new(["s3cret-token-value".to_owned()]);
        let refused = "weir_receiver_refused_records_total";
        let first = counters(&[
            (refused, &["logs", "otlp", "team-a", "rate_limited"], 3),
            (
                "weir_receiver_accepted_records_total",
                &["logs", "otlp", "team-a"],
                9,
            ),
            ("weir_auth_failures_total", &["invalid_token"], 2),
        ]);
        let mut notes = BTreeMap::new();
        notes.insert(
            "loki".to_owned(),
            ExportNote {
                last_success: None,
                last_error: Some((at(100), "HTTP 400: s3cret-token-value".into())),
                storage_problem: None,
            },
        );
        log.sample(&first, &notes, &scrub, at(101));
        let got = log.recent();
        assert_eq!(got.len(), 3, "{got:?}");
        let refused_one = got.iter().find(|i| i.kind == "refused").expect("refused");
        assert_eq!(refused_one.tenant.as_deref(), Some("team-a"));
        assert_eq!(refused_one.component.as_deref(), Some("otlp"));
        assert_eq!(
            (refused_one.reason.as_str(), refused_one.count),
            ("rate_limited", 3)
        );
        assert!(got.iter().any(|i| i.kind == "auth_failure" && i.count == 2));
        let error = got
            .iter()
            .find(|i| i.kind == "export_error")
            .expect("error");
        assert_eq!(error.at_unix, 100.0);
        assert_eq!(error.message.as_deref(), Some("HTTP 400: [REDACTED]"));

        // Nothing new: nothing added. Then only the growth is counted.
        log.sample(&first, &notes, &scrub, at(102));
        assert_eq!(log.recent().len(), 3);
        let second = counters(&[(refused, &["logs", "otlp", "team-a", "rate_limited"], 5)]);
        log.sample(&second, &notes, &scrub, at(103));
        let got = log.recent();
        assert_eq!((got.len(), got[0].count, got[0].at_unix), (4, 2, 103.0));
    }

    #[test]
    fn only_the_newest_are_kept() {
        let log = Incidents::new(2);
        let name = "weir_exporter_failed_records_total";
        for i in 1..=5u64 {
            let c = counters(&[(name, &["traces", "otlp", "timeout"], i)]);
            log.sample(&c, &BTreeMap::new(), &Scrubber::default(), at(i));
        }
        let times: Vec<f64> = log.recent().iter().map(|i| i.at_unix).collect();
        assert_eq!(times, [5.0, 4.0]);
    }
}
