//! Spans and log records: every attribute list and every string that stays (names, status
//! messages, `trace_state`, `severity_text`, scope names and versions, `schema_url`s), plus the
//! strict-map check that may reject a record before it is redacted.
//!
//! Nothing here fails; a rejected record is removed and its [`Violation`] handed to the run,
//! which reports it. Scopes and resources left empty by rejections are removed.

use weir_pipeline::otlp::common::v1::InstrumentationScope;
use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs};
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::otlp::trace::v1::{ResourceSpans, Span};

use super::Redaction;
use super::run::Run;

impl Redaction {
    /// A resource's attributes, summarised on the resource.
    pub(super) fn resource(&self, resource: Option<&mut Resource>, run: &mut Run) {
        if let Some(r) = resource {
            run.cx.tally.begin_record();
            self.rules.attributes(&mut r.attributes, &[], &mut run.cx);
            run.cx.tally.end_record(&mut r.attributes);
        }
    }

    /// A scope's name, version and attributes, summarised on the scope.
    pub(super) fn scope(&self, scope: Option<&mut InstrumentationScope>, run: &mut Run) {
        if let Some(s) = scope {
            run.cx.tally.begin_record();
            self.rules
                .text(&mut s.name, Some("scope.name"), &mut run.cx);
            self.rules
                .text(&mut s.version, Some("scope.version"), &mut run.cx);
            self.rules.attributes(&mut s.attributes, &[], &mut run.cx);
            run.cx.tally.end_record(&mut s.attributes);
        }
    }

    /// Every span of the request.
    pub(super) fn traces(&self, resources: &mut Vec<ResourceSpans>, run: &mut Run) {
        let mut keep = Vec::new();
        for rs in resources.iter_mut() {
            self.resource(rs.resource.as_mut(), run);
            self.rules.schema_url(&mut rs.schema_url, &mut run.cx);
            for ss in &mut rs.scope_spans {
                self.scope(ss.scope.as_mut(), run);
                self.rules.schema_url(&mut ss.schema_url, &mut run.cx);
                ss.spans.retain_mut(|span| {
                    if let Err(v) = self.strict.check(&span.attributes, &mut keep) {
                        run.reject(v);
                        return false;
                    }
                    self.span(span, &keep, run);
                    true
                });
            }
        }
        if run.rejected() > 0 {
            for rs in resources.iter_mut() {
                rs.scope_spans.retain(|s| !s.spans.is_empty());
            }
            resources.retain(|r| !r.scope_spans.is_empty());
        }
    }

    fn span(&self, span: &mut Span, keep: &[&str], run: &mut Run) {
        let (rules, t) = (&self.rules, &mut run.cx);
        t.tally.begin_record();
        rules.text(&mut span.name, Some("name"), t);
        rules.trace_state(&mut span.trace_state, t);
        rules.attributes(&mut span.attributes, keep, t);
        for event in &mut span.events {
            rules.text(&mut event.name, Some("event.name"), t);
            rules.attributes(&mut event.attributes, &[], t);
        }
        for link in &mut span.links {
            rules.trace_state(&mut link.trace_state, t);
            rules.attributes(&mut link.attributes, &[], t);
        }
        if let Some(status) = &mut span.status {
            rules.text(&mut status.message, Some("status.message"), t);
        }
        t.tally.end_record(&mut span.attributes);
    }

    /// Every log record of the request.
    pub(super) fn logs(&self, resources: &mut Vec<ResourceLogs>, run: &mut Run) {
        let mut keep = Vec::new();
        for rl in resources.iter_mut() {
            self.resource(rl.resource.as_mut(), run);
            self.rules.schema_url(&mut rl.schema_url, &mut run.cx);
            for sl in &mut rl.scope_logs {
                self.scope(sl.scope.as_mut(), run);
                self.rules.schema_url(&mut sl.schema_url, &mut run.cx);
                sl.log_records.retain_mut(|log| {
                    if let Err(v) = self.strict.check(&log.attributes, &mut keep) {
                        run.reject(v);
                        return false;
                    }
                    self.log(log, &keep, run);
                    true
                });
            }
        }
        if run.rejected() > 0 {
            for rl in resources.iter_mut() {
                rl.scope_logs.retain(|s| !s.log_records.is_empty());
            }
            resources.retain(|r| !r.scope_logs.is_empty());
        }
    }

    fn log(&self, log: &mut LogRecord, keep: &[&str], run: &mut Run) {
        let (rules, t) = (&self.rules, &mut run.cx);
        t.tally.begin_record();
        if let Some(body) = &mut log.body {
            rules.value(body, "body", t);
        }
        rules.text(&mut log.event_name, Some("event_name"), t);
        rules.text(&mut log.severity_text, Some("severity_text"), t);
        rules.attributes(&mut log.attributes, keep, t);
        t.tally.end_record(&mut log.attributes);
    }
}
