//! The `redaction` processor: masking of secrets and PII in every record that leaves weir
//! (sensitive fields are replaced with `[REDACTED]`, never omitted, so the structure survives
//! for debugging). It is in the default pipeline with its defaults.
//!
//! It takes the OpenTelemetry Collector redaction processor's keys (`allowed_keys`,
//! `allow_all_keys`, `ignored_keys`, `blocked_key_patterns`, `blocked_values`,
//! `allowed_values`, `hash_function`, `summary`) and differs where its users keep asking:
//!
//! - **Mask, don't delete.** An attribute whose key is not allowed keeps its key and gets the
//!   mask (`[REDACTED]`, or `mask:`) as its value, whatever the value's type (a map or array
//!   becomes the mask string as a whole: nested keys can be data too). The Collector deletes it.
//! - **A default allowlist.** Without `allowed_keys`, the semantic-convention keys a backend
//!   needs are allowed ([`defaults::ALLOWED_KEYS`]); `extra_allowed_keys` extends whichever
//!   list is in force; an explicitly empty `allowed_keys` masks everything (fails closed), as
//!   in the Collector. `key.*` entries allow a prefix.
//! - **Built-in blocked keys and values that stay on.** Seed 002's keys (password, tokens,
//!   secrets, authorization, cookies, API and private keys, email, user name, payment ids)
//!   are masked even when allowed, at any depth; card numbers, JWTs, bearer and basic
//!   credentials, cloud keys, emails, private-key blocks, URL passwords and `token=`/`key=`
//!   values are masked inside every string that stays: allowed attribute values, log bodies
//!   (strings and maps), span and event names, status messages, exception messages and stack
//!   traces. User patterns are added to these; only `ignored_keys` (whole keys) and
//!   `allowed_values` (whole values) let something through. A pattern's `secret` capture group,
//!   when present, is all that is masked (`token=[REDACTED]`); the Collector masks the match.
//! - **Keyed hashing.** `hash_function: hmac-sha256` with `hash_key` (from `${env:…}`) replaces
//!   the values of `hashed_keys` by a hex HMAC, so an email used as an id stays joinable without
//!   being readable; unkeyed md5/sha1/sha3 are refused. Hash on one tier only: a second
//!   weir with the same `hashed_keys` would hash the hash. The Collector's `hmac_key` is read
//!   as `hash_key`.
//! - **Sanitizers** (`sanitizers.rs`): the Collector's `url_sanitizer` and `db_sanitizer` rewrite
//!   the listed allowed attributes (ids out of URL paths, literals out of SQL, arguments out of
//!   Redis and Memcached commands, scalars out of JSON queries) before the blocked-value scan,
//!   counted as `sanitized`.
//! - **Precedence**, first match wins: `ignored_keys` (untouched, not even scanned), then
//!   `hashed_keys`, then blocked key patterns (masked), then the allowlist (kept, scanned),
//!   otherwise masked. Inside maps and log bodies the allowlist does not apply (the parent was
//!   allowed); the rest does. Keys the config does not name are themselves scanned for blocked
//!   values, so a key cannot smuggle an email either.
//! - **Metrics** (see `metrics.rs`): data-point attributes that are not allowed are removed (or
//!   hashed), never masked, since a masked value would merge series and corrupt counters;
//!   points that collide are merged as the SDK would have aggregated them (cumulative sums and
//!   histograms add under the earliest start, deltas add when they end together, gauges keep
//!   the newest point, exponential histograms meet at the lower scale), counted as
//!   `series_merged`; only colliding summaries are dropped and reported. Resource, scope,
//!   metadata and exemplar attributes are masked as elsewhere.
//! - **Strict maps** (`strict_maps`): for selected spans and log records, a map attribute may
//!   hold only listed keys (audit metadata); a record with another key is rejected,
//!   counted (`reason="strict_map"`), logged without values, and reported in OTLP
//!   `partial_success` with a message naming the key. Checked before anything is masked.
//! - **Summary**: `summary: info|debug` adds `redaction.masked.count` (and `…keys`) to changed
//!   spans, log records, resources and scopes; `weir_redacted_values_total{processor,reason}`
//!   counts in every mode (reasons: not_allowed, blocked_key, blocked_value, hashed, dropped,
//!   series_merged, series_dropped, strict_map). An already-masked value is not counted again,
//!   so a relay of weirs counts each secret once.
//!
//! - **Every field that reaches a backend** is scanned for blocked values, not only attributes
//!   (`fields.rs`): scope names and versions, metric names, descriptions and units, log
//!   `severity_text` (the matching part masked; in a metric name by the mask reduced to name
//!   characters, `REDACTED`), span and link `trace_state` (the list member holding a match
//!   removed, the rest kept valid), `schema_url` (emptied). A metric whose name, description or
//!   unit changed and now meets another metric of its name is folded into it (`renamed.rs`).
//! - **`redact_all_types`** (default `true`; the Collector's default is `false`): integers and
//!   doubles under allowed keys are scanned by their decimal text (a card number sent as an
//!   int); a match becomes the mask string, or on a data point removes the attribute.
//!
//! Not touched: ids, timestamps, severity numbers, flags; bools (only strings, UTF-8 bytes and,
//! with `redact_all_types`, numbers are scanned for patterns).
//!
//! Cost: patterns are compiled once into `RegexSet`s; keys named in the config are classified
//! once into a hash map; other keys, and short values found clean, are remembered per worker
//! thread (`memo.rs`), so a repeated key or value costs a hash lookup, not a regex search; a
//! value that matches nothing is never copied. About 0.4 µs per span of 10 attributes with the
//! defaults (`benches/redaction.rs`).
//!
//! On the wire view (`wire.rs`, `wire_attrs.rs`, `wire_logs.rs`): [`Redaction::traces_wire`]
//! and [`Redaction::logs_wire`] run the same rules on a request kept as bytes, recording
//! edits; they return `None` (decode and call `process` instead) with `strict_maps`, or when a
//! blocked-value pattern matches the empty string.
//!
//! How it fails: reading the config fails on a key-list entry or a pattern that is not valid
//! (each is checked, and each pattern compiled, once, when read); [`RedactionConfig::problems`]
//! reports what spans several keys (a blocked-value pattern matching the empty string, an empty
//! mask, incomplete hashing). [`Redaction::new`] takes a config that passed both and does not
//! check it again: it fails, with a [`BuildError`], only when the patterns of one list do not
//! compile together into one set (past the regex crate's size limit). Processing never fails
//! and never refuses a request: the worst case is records rejected by a strict map or data
//! points dropped, both reported.

mod class;
mod config;
pub mod defaults;
mod fields;
mod keys;
mod memo;
mod merge;
mod merge_exp;
mod metrics;
mod records;
mod renamed;
mod rules;
mod run;
mod sanitizers;
mod strict;
mod summary;
mod walk;
mod wire;
mod wire_attrs;
mod wire_logs;

#[cfg(test)]
mod prop_fields;
#[cfg(test)]
mod prop_merge;
#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod prop_wire;
#[cfg(test)]
mod prop_wire_logs;
#[cfg(test)]
mod tests;

use weir_pipeline::metrics::{Counter, catalogue};
use weir_pipeline::{Batch, BuildError, Metrics, Outcome, Processor, Signal};

pub use crate::pattern::Pattern;
pub use config::{
    DEFAULT_MASK, HashKey, MIN_HASH_KEY_BYTES, RedactionConfig, SPEC, SelectorConfig,
    StrictMapConfig, Summary, UNSUPPORTED_COLLECTOR_KEYS,
};
pub use keys::{KeyEntry, KeyEntryError};
pub use sanitizers::{DbKindConfig, DbSanitizerConfig, UrlSanitizerConfig};
pub use summary::{COUNT_KEY, KEYS_KEY};

use memo::Cx;
use rules::Rules;
use run::Run;
use strict::StrictMaps;
use summary::{Reason, Tally};

/// The `redaction` processor.
pub struct Redaction {
    id: String,
    /// Process-unique, for this instance's key memo.
    uid: u64,
    rules: Rules,
    strict: StrictMaps,
    summary: Summary,
    /// `weir_redacted_values_total{processor=id,reason}`, in [`Reason::ALL`] order.
    counters: Vec<Counter>,
}

impl Redaction {
    /// Builds the processor `id` from `cfg` (free of [`RedactionConfig::problems`]), counting
    /// in `metrics`; fails only when a list's patterns do not compile together.
    pub fn new(id: &str, cfg: &RedactionConfig, metrics: Metrics) -> Result<Self, BuildError> {
        let rules = Rules::new(cfg).map_err(|(key, message)| BuildError::at(id, key, message))?;
        let counters = Reason::ALL
            .iter()
            .map(|r| metrics.counter(catalogue::REDACTED_VALUES, &[id, r.as_str()]))
            .collect();
        Ok(Self {
            id: id.to_owned(),
            uid: memo::next_id(),
            rules,
            strict: StrictMaps::new(&cfg.strict_maps),
            summary: cfg.summary,
            counters,
        })
    }
}

impl Processor for Redaction {
    fn process(&self, batch: &mut Batch) -> Outcome {
        // A request held as bytes is redacted through its view when the configuration allows.
        let on_wire = if let Some((ctx, view, edits)) = batch.ctx_and_trace_wire() {
            self.traces_wire(ctx, view, edits)
        } else if let Some((ctx, view, edits)) = batch.ctx_and_log_wire() {
            self.logs_wire(ctx, view, edits)
        } else {
            None
        };
        if let Some(outcome) = on_wire {
            return outcome;
        }
        let mut run = Run::new(Cx::take(self.uid, Tally::new(self.summary)));
        let kind = batch.kind();
        match batch.signal_mut() {
            Signal::Traces(rs) => self.traces(rs, &mut run),
            Signal::Logs(rl) => self.logs(rl, &mut run),
            Signal::Metrics(rm) => self.metrics(rm, &mut run),
        }
        self.finish(run, &batch.ctx, kind)
    }
}
