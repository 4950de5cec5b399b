//! Fields outside attribute lists that every backend receives, scanned for blocked values so
//! that each stays valid:
//!
//! - `trace_state` (spans and links): a W3C list of `key=value` members; a member holding a
//!   match is removed and the others are kept, joined by `,`. Should the rest still match
//!   (a match spanning members), the whole field is emptied.
//! - `schema_url` (resources and scopes of every signal): emptied on a match (a URL with part
//!   of it masked would point nowhere).
//! - metric names: the match is replaced by the name mask ([`Rules::name_mask`]), so the name
//!   keeps to the instrument-name alphabet.
//!
//! Scope names and versions, metric descriptions and units and log `severity_text` are plain
//! text: [`Rules::text`] masks the matching part. Nothing here fails.

use super::memo::Cx;
use super::rules::Rules;
use super::summary::Reason;

impl Rules {
    /// A span's or link's `trace_state`: members holding a blocked value removed.
    pub fn trace_state(&self, state: &mut String, t: &mut Cx) {
        if state.is_empty() || t.memo.is_clean(state) {
            return;
        }
        if !self.values.needs_masking(state) {
            t.memo.saw_clean(state);
            return;
        }
        let mut kept = String::with_capacity(state.len());
        for member in state.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            if self.values.needs_masking(member) {
                t.tally.note(Reason::BlockedValue, "trace_state");
                continue;
            }
            if !kept.is_empty() {
                kept.push(',');
            }
            kept.push_str(member);
        }
        if self.values.needs_masking(&kept) {
            kept.clear();
        }
        *state = kept;
    }

    /// A resource's or scope's `schema_url`: emptied when it holds a blocked value.
    pub fn schema_url(&self, url: &mut String, t: &mut Cx) {
        if url.is_empty() || t.memo.is_clean(url) {
            return;
        }
        if self.values.needs_masking(url) {
            url.clear();
            t.tally.note(Reason::BlockedValue, "schema_url");
        } else {
            t.memo.saw_clean(url);
        }
    }

    /// A metric name: blocked values replaced by the name mask; returns whether it changed.
    pub fn metric_name(&self, name: &mut String, t: &mut Cx) -> bool {
        if t.memo.is_clean(name) {
            return false;
        }
        let changed = self.values.mask_in_place_with(name, &self.name_mask);
        if changed {
            t.tally.note(Reason::BlockedValue, "metric.name");
        } else {
            t.memo.saw_clean(name);
        }
        changed
    }
}
