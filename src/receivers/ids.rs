//! Trace and span ids checked on arrival, before any processor or exporter sees them: a
//! malformed id forwarded in a batch makes a backend that checks ids (the Collector, Tempo)
//! refuse the whole export, good records with it.
//!
//! - A span needs a 16-byte trace id and an 8-byte span id, neither all zeros, and a parent
//!   span id that is empty or 8 bytes; its links need the same trace and span ids. A span that
//!   breaks a rule is removed and reported as rejected (OTLP `partial_success`), with a message
//!   naming the first one by its indexes, field and length. Scopes and resources left without
//!   spans are removed with it.
//! - A log record or an exemplar keeps its place and loses the bad id (OTLP: a record without
//!   a valid trace id is not associated with a trace), counted in
//!   `weir_receiver_invalid_ids_total{field}`.
//!
//! Nothing here fails: [`check`] reports what it removed.

use weir_pipeline::otlp::metrics::v1::metric::Data;
use weir_pipeline::otlp::metrics::v1::{Exemplar, ResourceMetrics};
use weir_pipeline::otlp::trace::v1::Span;
use weir_pipeline::wire::{LogView, TraceView};
use weir_pipeline::{Batch, Signal};

/// What [`check`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// Spans removed.
    pub rejected: u64,
    /// The first removed span, named, for `partial_success.error_message`.
    pub message: Option<String>,
    /// Ids removed from log records and exemplars, by field.
    pub cleared: Vec<(&'static str, u64)>,
}

impl Checked {
    fn clear(&mut self, field: &'static str) {
        match self.cleared.iter_mut().find(|(f, _)| *f == field) {
            Some((_, n)) => *n += 1,
            None => self.cleared.push((field, 1)),
        }
    }
}

/// Why an id is malformed, or `None` when it is well formed.
fn fault(id: &[u8], want: usize, optional: bool) -> Option<String> {
    if id.is_empty() && optional {
        return None;
    }
    if id.len() != want {
        return Some(format!("has {} bytes, want {want}", id.len()));
    }
    id.iter()
        .all(|b| *b == 0)
        .then(|| "is all zeros".to_owned())
}

/// The first malformed id of `span` (or of its links): `(field, fault)`.
fn span_fault(span: &Span) -> Option<(String, String)> {
    let own = [
        ("trace_id", &span.trace_id, 16, false),
        ("span_id", &span.span_id, 8, false),
        ("parent_span_id", &span.parent_span_id, 8, true),
    ];
    for (field, id, want, optional) in own {
        if let Some(f) = fault(id, want, optional) {
            return Some((field.to_owned(), f));
        }
    }
    for (i, link) in span.links.iter().enumerate() {
        for (field, id, want) in [
            ("trace_id", &link.trace_id, 16),
            ("span_id", &link.span_id, 8),
        ] {
            if let Some(f) = fault(id, want, false) {
                return Some((format!("links[{i}].{field}"), f));
            }
        }
    }
    None
}

/// Checks every id of `batch` as [`check`] does; a batch held as bytes whose ids the view shows
/// well formed stays bytes. One the view cannot vouch for (a malformed id, or ids it does not
/// index: a span's links, exemplars) is checked on its structs.
pub fn check_batch(batch: &mut Batch) -> Checked {
    let vouched = if let Some(view) = batch.trace_view() {
        spans_well_formed(view)
    } else if let Some(view) = batch.log_view() {
        logs_well_formed(view)
    } else if let Some(view) = batch.metric_view() {
        view.parts.events.is_empty()
    } else {
        false
    };
    if vouched {
        return Checked::default();
    }
    check(batch.signal_mut())
}

/// True when no span of `view` has a malformed id and none has links.
fn spans_well_formed(view: &TraceView) -> bool {
    view.records.iter().all(|s| {
        s.links.is_empty()
            && fault(view.at(&s.trace_id), 16, false).is_none()
            && fault(view.at(&s.span_id), 8, false).is_none()
            && fault(view.at(&s.parent_span_id), 8, true).is_none()
    })
}

/// True when no log record of `view` has a malformed id.
fn logs_well_formed(view: &LogView) -> bool {
    view.records.iter().all(|r| {
        fault(view.at(&r.trace_id), 16, true).is_none()
            && fault(view.at(&r.span_id), 8, true).is_none()
    })
}

/// Checks every id of `signal`, removing bad spans and bad log and exemplar ids.
pub fn check(signal: &mut Signal) -> Checked {
    let mut out = Checked::default();
    match signal {
        Signal::Traces(resources) => {
            for (r, rs) in resources.iter_mut().enumerate() {
                for (s, ss) in rs.scope_spans.iter_mut().enumerate() {
                    let mut i = 0;
                    ss.spans.retain(|span| {
                        let keep = match span_fault(span) {
                            None => true,
                            Some((field, fault)) => {
                                out.rejected += 1;
                                out.message.get_or_insert_with(|| {
                                    format!(
                                        "resource_spans[{r}].scope_spans[{s}].spans[{i}]: {field} {fault}"
                                    )
                                });
                                false
                            }
                        };
                        i += 1;
                        keep
                    });
                }
            }
            if out.rejected > 0 {
                for rs in resources.iter_mut() {
                    rs.scope_spans.retain(|ss| !ss.spans.is_empty());
                }
                resources.retain(|rs| !rs.scope_spans.is_empty());
            }
            if let Some(m) = &mut out.message
                && out.rejected > 1
            {
                m.push_str(&format!(" (and {} more spans)", out.rejected - 1));
            }
        }
        Signal::Logs(resources) => {
            for record in resources
                .iter_mut()
                .flat_map(|rl| &mut rl.scope_logs)
                .flat_map(|sl| &mut sl.log_records)
            {
                if fault(&record.trace_id, 16, true).is_some() {
                    record.trace_id.clear();
                    out.clear("log.trace_id");
                }
                if fault(&record.span_id, 8, true).is_some() {
                    record.span_id.clear();
                    out.clear("log.span_id");
                }
            }
        }
        Signal::Metrics(resources) => exemplars(resources, &mut out),
    }
    out
}

fn exemplars(resources: &mut [ResourceMetrics], out: &mut Checked) {
    let mut check = |e: &mut Exemplar| {
        if fault(&e.trace_id, 16, true).is_some() {
            e.trace_id.clear();
            out.clear("exemplar.trace_id");
        }
        if fault(&e.span_id, 8, true).is_some() {
            e.span_id.clear();
            out.clear("exemplar.span_id");
        }
    };
    for metric in resources
        .iter_mut()
        .flat_map(|rm| &mut rm.scope_metrics)
        .flat_map(|sm| &mut sm.metrics)
    {
        match &mut metric.data {
            Some(Data::Sum(s)) => s
                .data_points
                .iter_mut()
                .flat_map(|p| &mut p.exemplars)
                .for_each(&mut check),
            Some(Data::Gauge(g)) => g
                .data_points
                .iter_mut()
                .flat_map(|p| &mut p.exemplars)
                .for_each(&mut check),
            Some(Data::Histogram(h)) => h
                .data_points
                .iter_mut()
                .flat_map(|p| &mut p.exemplars)
                .for_each(&mut check),
            Some(Data::ExponentialHistogram(h)) => h
                .data_points
                .iter_mut()
                .flat_map(|p| &mut p.exemplars)
                .for_each(&mut check),
            Some(Data::Summary(_)) | None => {}
        }
    }
}

#[cfg(test)]
mod tests;
