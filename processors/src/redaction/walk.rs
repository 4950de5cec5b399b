//! Walking attribute lists and values: the one place where a value is masked, hashed or
//! scanned, used for every location (resource, scope, span, event, link, log record, metric
//! metadata, exemplar, data point). With `redact_all_types`, integers and doubles are scanned
//! by their decimal text: a match becomes the mask (a string), or on a data point removes the
//! attribute.
//!
//! Nothing here fails. Recursion follows nested maps and arrays to any depth; the depth is
//! bounded by the OTLP decoder's recursion limit (prost: 100) before a batch reaches us.

use std::fmt::Write as _;

use prost::Message;
use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};

use super::class::KeyClass;
use super::memo::Cx;
use super::rules::Rules;
use super::summary::Reason;

impl Rules {
    /// A top-level attribute list: each value masked, hashed, kept or scanned by its key's
    /// class. `keep` names keys this record may hold whatever the allowlist says (a strict
    /// map that passed and its selector); they are treated like keys of a nested map.
    pub fn attributes(&self, attrs: &mut [KeyValue], keep: &[&str], t: &mut Cx) {
        for kv in attrs {
            let top = !keep.contains(&kv.key.as_str());
            self.attribute(kv, top, t);
        }
    }

    /// One attribute at the top level (`top`) or inside a map or log body.
    pub(super) fn attribute(&self, kv: &mut KeyValue, top: bool, t: &mut Cx) {
        let (class, key_has_secret) = self.classify(&kv.key, top, &mut t.memo);
        if class == KeyClass::Ignored {
            return;
        }
        if key_has_secret {
            self.text(&mut kv.key, None, t);
        }
        match class {
            KeyClass::Ignored => {}
            KeyClass::Hashed => self.hash_value(&mut kv.value, &kv.key, t),
            KeyClass::Blocked => self.mask_value(&mut kv.value, Reason::BlockedKey, &kv.key, t),
            KeyClass::NotAllowed => self.mask_value(&mut kv.value, Reason::NotAllowed, &kv.key, t),
            KeyClass::Allowed => {
                if let Some(AnyValue {
                    value: Some(Value::StringValue(s)),
                }) = &mut kv.value
                    && let Some(clean) = self.sanitizers.apply(&kv.key, s)
                {
                    *s = clean;
                    t.tally.note(Reason::Sanitized, &kv.key);
                }
                if let Some(v) = &mut kv.value {
                    self.value(v, &kv.key, t);
                }
            }
        }
    }

    /// A value that stays (an allowed attribute, a log body): strings are scanned for blocked
    /// values, map keys are classified (ignored, hashed, blocked; no allowlist), arrays walked.
    pub fn value(&self, v: &mut AnyValue, key: &str, t: &mut Cx) {
        match &mut v.value {
            Some(Value::StringValue(s)) => {
                if self.scan(s, &mut t.memo) {
                    t.tally.note(Reason::BlockedValue, key);
                }
            }
            Some(Value::BytesValue(b)) => {
                if let Ok(s) = std::str::from_utf8(b)
                    && self.values.needs_masking(s)
                {
                    let mut s = s.to_owned();
                    self.values.mask_in_place(&mut s);
                    *b = s.into_bytes();
                    t.tally.note(Reason::BlockedValue, key);
                }
            }
            Some(Value::ArrayValue(a)) => {
                for item in &mut a.values {
                    self.value(item, key, t);
                }
            }
            Some(Value::KvlistValue(l)) => {
                for kv in &mut l.values {
                    self.attribute(kv, false, t);
                }
            }
            Some(n @ (Value::IntValue(_) | Value::DoubleValue(_))) => {
                if self.number_blocked(n, t) {
                    *n = Value::StringValue(self.mask.to_string());
                    t.tally.note(Reason::BlockedValue, key);
                }
            }
            Some(Value::BoolValue(_) | Value::StringValueStrindex(_)) | None => {}
        }
    }

    /// True when `v` is an integer or a double whose decimal text holds a blocked value and
    /// `redact_all_types` is on. Clean numbers that recur are remembered like short strings.
    pub(super) fn number_blocked(&self, v: &Value, t: &mut Cx) -> bool {
        if !self.all_types {
            return false;
        }
        t.scratch.clear();
        // Writing into a String cannot fail.
        let _ = match v {
            Value::IntValue(i) => write!(t.scratch, "{i}"),
            Value::DoubleValue(d) => write!(t.scratch, "{d}"),
            _ => return false,
        };
        if t.memo.is_clean(&t.scratch) {
            return false;
        }
        let blocked = self.values.needs_masking(&t.scratch);
        if !blocked {
            t.memo.saw_clean(&t.scratch);
        }
        blocked
    }

    /// A plain string field that stays (span name, event name, status message, a key):
    /// blocked values masked. `label` names it in the summary; `None` uses the masked string.
    pub fn text(&self, s: &mut String, label: Option<&str>, t: &mut Cx) {
        if self.scan(s, &mut t.memo) {
            match label {
                Some(l) => t.tally.note(Reason::BlockedValue, l),
                None => t.tally.note(Reason::BlockedValue, s),
            }
        }
    }

    /// Replaces the value with the mask (whatever its type); counts nothing when there is no
    /// value or it already is the mask (a relayed, already redacted record).
    pub fn mask_value(&self, v: &mut Option<AnyValue>, reason: Reason, key: &str, t: &mut Cx) {
        let Some(AnyValue { value: Some(value) }) = v else {
            return;
        };
        match value {
            Value::StringValue(s) if *s == *self.mask => return,
            Value::StringValue(s) => {
                s.clear();
                s.push_str(&self.mask);
            }
            other => *other = Value::StringValue(self.mask.to_string()),
        }
        t.tally.note(reason, key);
    }

    /// Replaces the value with the hex HMAC of its bytes: a string's UTF-8, a number's or
    /// bool's decimal text, raw bytes, or the protobuf encoding of an array or map. Falls back
    /// to the mask when no hash key is configured (fail closed).
    pub fn hash_value(&self, v: &mut Option<AnyValue>, key: &str, t: &mut Cx) {
        let Some(any @ AnyValue { value: Some(_) }) = v else {
            return;
        };
        let digest = match &any.value {
            Some(Value::StringValue(s)) => self.hash(s.as_bytes()),
            Some(Value::BytesValue(b)) => self.hash(b),
            Some(Value::IntValue(i)) => self.hash(i.to_string().as_bytes()),
            Some(Value::StringValueStrindex(i)) => self.hash(i.to_string().as_bytes()),
            Some(Value::DoubleValue(d)) => self.hash(d.to_string().as_bytes()),
            Some(Value::BoolValue(b)) => self.hash(b.to_string().as_bytes()),
            Some(Value::ArrayValue(_) | Value::KvlistValue(_)) => self.hash(&any.encode_to_vec()),
            None => return,
        };
        match digest {
            Some(d) => {
                any.value = Some(Value::StringValue(d));
                t.tally.note(Reason::Hashed, key);
            }
            None => self.mask_value(v, Reason::BlockedKey, key, t),
        }
    }

    /// Data point attributes: values of keys that are not allowed (or blocked) would merge
    /// series if masked, so those attributes are removed; hashed keys are hashed (still one
    /// series per value); the rest is scanned. Returns true when the attribute set changed.
    pub fn point_attributes(&self, attrs: &mut Vec<KeyValue>, t: &mut Cx) -> bool {
        let before = t.tally.total();
        attrs.retain_mut(|kv| {
            let (class, key_has_secret) = self.classify(&kv.key, true, &mut t.memo);
            match class {
                KeyClass::Ignored => return true,
                KeyClass::NotAllowed | KeyClass::Blocked => {
                    t.tally.note(Reason::Dropped, "");
                    return false;
                }
                KeyClass::Hashed => self.hash_value(&mut kv.value, &kv.key, t),
                KeyClass::Allowed => {
                    if let Some(v) = &mut kv.value {
                        if v.value.as_ref().is_some_and(|n| self.number_blocked(n, t)) {
                            // A masked number would merge series: the attribute goes.
                            t.tally.note(Reason::Dropped, "");
                            return false;
                        }
                        self.value(v, &kv.key, t);
                    }
                }
            }
            if key_has_secret {
                self.text(&mut kv.key, None, t);
            }
            true
        });
        t.tally.total() != before
    }
}
