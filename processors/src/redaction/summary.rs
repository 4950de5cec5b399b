//! Counting what one batch changed: per reason for `weir_redacted_values_total`, and per record
//! for the `summary` attributes (`redaction.masked.count`, `redaction.masked.keys`).
//!
//! Nothing here fails. Key names are collected only at `summary: debug`, so the other modes do
//! not allocate for them.

use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};

use super::config::Summary;

/// Summary attribute: how many values of the record were masked or hashed.
pub const COUNT_KEY: &str = "redaction.masked.count";
/// Summary attribute (debug): which keys, sorted, comma-separated.
pub const KEYS_KEY: &str = "redaction.masked.keys";

/// Why a value was changed; the `reason` label of `weir_redacted_values_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reason {
    /// The key is not in the allowlist: value masked.
    NotAllowed,
    /// The key matches a blocked key pattern: value masked.
    BlockedKey,
    /// Part of a string matched a blocked value pattern: that part masked.
    BlockedValue,
    /// The key is in `hashed_keys`: value replaced by its keyed hash.
    Hashed,
    /// A metric data point attribute that is not allowed (or blocked) was removed.
    Dropped,
    /// Data points merged into another after their attributes became identical (one per point
    /// that disappeared).
    SeriesMerged,
    /// Data points dropped because their attributes became identical and their type cannot
    /// be merged (summaries).
    SeriesDropped,
    /// A record rejected by a strict map.
    StrictMap,
    /// A URL or database statement rewritten by `url_sanitizer` or `db_sanitizer`.
    Sanitized,
}

impl Reason {
    /// Every reason, in label order.
    pub const ALL: [Reason; 9] = [
        Reason::NotAllowed,
        Reason::BlockedKey,
        Reason::BlockedValue,
        Reason::Hashed,
        Reason::Dropped,
        Reason::SeriesMerged,
        Reason::SeriesDropped,
        Reason::StrictMap,
        Reason::Sanitized,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotAllowed => "not_allowed",
            Reason::BlockedKey => "blocked_key",
            Reason::BlockedValue => "blocked_value",
            Reason::Hashed => "hashed",
            Reason::Dropped => "dropped",
            Reason::SeriesMerged => "series_merged",
            Reason::SeriesDropped => "series_dropped",
            Reason::StrictMap => "strict_map",
            Reason::Sanitized => "sanitized",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What one batch changed so far, and what the record being walked changed.
pub(super) struct Tally {
    /// Per reason, for the whole batch.
    pub counts: [u64; Reason::ALL.len()],
    mode: Summary,
    record_count: i64,
    record_keys: Vec<String>,
}

impl Tally {
    /// An empty tally that collects per-record data as `mode` needs.
    pub fn new(mode: Summary) -> Self {
        Self {
            counts: [0; Reason::ALL.len()],
            mode,
            record_count: 0,
            record_keys: Vec::new(),
        }
    }

    /// Notes one changed value under `key`.
    pub fn note(&mut self, reason: Reason, key: &str) {
        self.counts[reason.index()] += 1;
        self.record_count += 1;
        if self.mode == Summary::Debug {
            self.record_keys.push(key.to_owned());
        }
    }

    /// Adds `n` to a batch-level count that has no record (merged or rejected records).
    pub fn add(&mut self, reason: Reason, n: u64) {
        self.counts[reason.index()] += n;
    }

    /// Changes counted so far in the batch, all reasons.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The batch count of `reason`.
    pub fn count(&self, reason: Reason) -> u64 {
        self.counts[reason.index()]
    }

    /// Starts a record: forgets what the previous one changed.
    pub fn begin_record(&mut self) {
        self.record_count = 0;
        self.record_keys.clear();
    }

    /// Writes the summary attributes for the record just walked into `attrs`, when it
    /// changed anything and the mode asks for them; then starts the next record.
    pub fn end_record(&mut self, attrs: &mut Vec<KeyValue>) {
        if self.record_count > 0 && self.mode != Summary::Silent {
            let count = self.record_count;
            match find(attrs, COUNT_KEY) {
                Some(Value::IntValue(n)) => *n = n.saturating_add(count),
                Some(v) => *v = Value::IntValue(count),
                None => attrs.push(kv(COUNT_KEY, Value::IntValue(count))),
            }
            if self.mode == Summary::Debug {
                let mut keys = std::mem::take(&mut self.record_keys);
                if let Some(Value::StringValue(old)) = find(attrs, KEYS_KEY) {
                    keys.extend(old.split(',').filter(|k| !k.is_empty()).map(str::to_owned));
                }
                keys.sort_unstable();
                keys.dedup();
                let joined = keys.join(",");
                match find(attrs, KEYS_KEY) {
                    Some(v) => *v = Value::StringValue(joined),
                    None => attrs.push(kv(KEYS_KEY, Value::StringValue(joined))),
                }
                keys.clear();
                self.record_keys = keys;
            }
        }
        self.begin_record();
    }
}

fn find<'a>(attrs: &'a mut [KeyValue], key: &str) -> Option<&'a mut Value> {
    attrs
        .iter_mut()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_mut())
        .and_then(|v| v.value.as_mut())
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}
