//! Attribute lists and string fields on the wire view, for `wire.rs`: what is read in place,
//! what is decoded and run through the struct rules, and how the result is written as edits.
//!
//! An attribute is decided from the view when the rules leave it as it is (the key's class,
//! a clean string, a number, a bool), or when they only mask its value (a key that is not
//! allowed or blocked, written as key then value): then its new encoding is the key's bytes and
//! the mask's, counted as `Rules::mask_value` counts. Anything else is decoded alone and run
//! through `Rules::attribute`. Earlier processors' edits inside the message are read first.
//! Nothing here fails.

use std::ops::Range;

use prost::Message;
use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value::Value as Any};
use weir_pipeline::wire::{Attr, Edit, Edits, Nest, Value, len_field, len_start, len_value};

use super::Redaction;
use super::class::KeyClass;
use super::memo::Cx;
use super::rules::Rules;
use super::run::Run;
use super::summary::{COUNT_KEY, KEYS_KEY, Reason};

/// The state of one run over one view.
pub(super) struct Walk<'a> {
    /// The processor.
    pub p: &'a Redaction,
    /// The request's bytes.
    buf: &'a [u8],
    /// This run's own edits, merged into the request's at the end.
    mine: Edits,
    /// Counts and memo.
    pub run: &'a mut Run,
    /// `AnyValue { string_value: mask }` as a `KeyValue.value` field.
    mask_field: Vec<u8>,
}

/// Where the first summary attribute of a record is, for writing it back.
enum Loc {
    /// In the request, not edited before.
    View(Nest),
    /// In an earlier edit (index among the record's earlier edits).
    Earlier(usize),
}

/// A summary attribute found in a record: where, its value now, and whether it changed.
struct Found {
    loc: Loc,
    kv: KeyValue,
    changed: bool,
}

/// What the rules do to one attribute, as far as the view tells.
enum Verdict {
    /// Nothing.
    Unchanged,
    /// Its value becomes the mask, counted under this reason.
    Mask(Reason),
    /// Decode it and run the struct rules.
    Decode,
}

/// Which rule a string field follows.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    /// Plain text, counted under this label.
    Text(&'static str),
    /// A W3C `trace_state`.
    TraceState,
    /// A `schema_url`.
    SchemaUrl,
}

impl Kind {
    fn apply(self, rules: &Rules, s: &mut String, cx: &mut Cx) {
        match self {
            Kind::Text(label) => rules.text(s, Some(label), cx),
            Kind::TraceState => rules.trace_state(s, cx),
            Kind::SchemaUrl => rules.schema_url(s, cx),
        }
    }
}

/// True when `e` edits the message `path` ends with directly (not a message inside it).
pub(super) fn direct(e: &Edit, path: &[Nest]) -> bool {
    e.path.len() == path.len() && e.path.last().map(|n| n.start) == path.last().map(|n| n.start)
}

impl<'a> Walk<'a> {
    /// A run of `p` over the request `buf`.
    pub fn new(p: &'a Redaction, buf: &'a [u8], run: &'a mut Run) -> Self {
        let mask_field = len_field(2, &len_field(1, p.rules.mask.as_bytes()));
        Self {
            p,
            buf,
            mine: Edits::new(),
            run,
            mask_field,
        }
    }

    /// This run's edits.
    pub fn finish(self) -> Edits {
        self.mine
    }

    /// Starts a record (a resource, scope or span) for the summary.
    pub fn begin_record(&mut self) {
        self.run.cx.tally.begin_record();
    }

    /// The attribute list `attrs` (field `number`) of the message at `path`, with what earlier
    /// processors replaced or appended in it (among `earlier`); with `summary`, ends the record
    /// there.
    pub fn list(
        &mut self,
        path: &[Nest],
        attrs: &[Attr],
        number: u32,
        summary: bool,
        earlier: &mut [Edit],
    ) {
        let mut found: [Option<Found>; 2] = [None, None];
        for a in attrs {
            let at = earlier
                .iter()
                .position(|e| direct(e, path) && e.at.start == a.field.start);
            if let Some(i) = at {
                let found = summary.then_some((&mut found, i));
                self.edited(&mut earlier[i], number, found);
                continue;
            }
            let key = text(self.buf, &a.key);
            let slot = summary_slot(key);
            let verdict = match slot {
                Some(_) => Verdict::Decode,
                None => self.verdict(self.buf, a, key),
            };
            match verdict {
                Verdict::Unchanged => continue,
                Verdict::Mask(reason) => {
                    if let Some(bytes) = self.masked(self.buf, a, number) {
                        self.run.cx.tally.note(reason, key);
                        self.mine.replace(path, a.field.whole(), bytes);
                        continue;
                    }
                }
                Verdict::Decode => {}
            }
            let (rules, cx) = (&self.p.rules, &mut self.run.cx);
            let Ok(mut kv) = KeyValue::decode(&self.buf[a.field.value.clone()]) else {
                continue;
            };
            let before = cx.tally.total();
            rules.attribute(&mut kv, true, cx);
            let changed = cx.tally.total() != before;
            match slot {
                Some(s) if summary && found[s].is_none() => {
                    found[s] = Some(Found {
                        loc: Loc::View(a.field.clone()),
                        kv,
                        changed,
                    });
                }
                _ if changed => {
                    let bytes = len_field(number, &kv.encode_to_vec());
                    self.mine.replace(path, a.field.whole(), bytes);
                }
                _ => {}
            }
        }
        for (i, e) in earlier.iter_mut().enumerate() {
            if direct(e, path) && e.is_append() {
                let found = summary.then_some((&mut found, i));
                self.edited(e, number, found);
            }
        }
        if summary {
            self.summary(path, number, found, earlier);
        }
    }

    /// Ends the record: the summary attributes as `Tally::end_record` writes them, on the
    /// first attribute of each key when the record has one (`found`), else appended.
    fn summary(
        &mut self,
        path: &[Nest],
        number: u32,
        found: [Option<Found>; 2],
        earlier: &mut [Edit],
    ) {
        let mut tmp: Vec<KeyValue> = found.iter().flatten().map(|f| f.kv.clone()).collect();
        self.run.cx.tally.end_record(&mut tmp);
        let mut now = tmp.into_iter();
        for f in found.into_iter().flatten() {
            let Some(kv) = now.next() else { break };
            if !f.changed && kv == f.kv {
                continue;
            }
            let bytes = len_field(number, &kv.encode_to_vec());
            match f.loc {
                Loc::View(nest) => self.mine.replace(path, nest.whole(), bytes),
                Loc::Earlier(i) => earlier[i].with = bytes,
            }
        }
        for kv in now {
            self.mine
                .append(path, len_field(number, &kv.encode_to_vec()));
        }
    }

    /// What the rules do to attribute `a` (key `key`, not a summary key) at the top level of
    /// its list, decided from the view alone where it can be.
    fn verdict(&mut self, buf: &[u8], a: &Attr, key: &str) -> Verdict {
        let (rules, cx) = (&self.p.rules, &mut self.run.cx);
        let (class, key_has_secret) = rules.classify(key, true, &mut cx.memo);
        if class == KeyClass::Ignored {
            return Verdict::Unchanged;
        }
        if key_has_secret {
            return Verdict::Decode;
        }
        let unchanged = match (class, &a.value) {
            (_, Value::Empty) => true,
            (KeyClass::Blocked | KeyClass::NotAllowed, v) => {
                if matches!(v, Value::Str(r) if text(buf, r) == &*rules.mask) {
                    return Verdict::Unchanged;
                }
                return Verdict::Mask(if class == KeyClass::Blocked {
                    Reason::BlockedKey
                } else {
                    Reason::NotAllowed
                });
            }
            (KeyClass::Hashed, _) => false,
            (_, Value::Bool(_) | Value::StrIndex(_)) => true,
            (_, Value::Str(r)) => {
                let s = text(buf, r);
                if rules.sanitizers.apply(key, s).is_some() {
                    return Verdict::Decode;
                }
                if cx.memo.is_clean(s) {
                    return Verdict::Unchanged;
                }
                let clean = !rules.values.needs_masking(s);
                if clean {
                    cx.memo.saw_clean(s);
                }
                clean
            }
            (_, Value::Bytes(r)) => std::str::from_utf8(&buf[r.clone()])
                .map_or(true, |s| !rules.values.needs_masking(s)),
            (_, Value::Int(i)) => !rules.number_blocked(&Any::IntValue(*i), cx),
            (_, Value::Double(d)) => !rules.number_blocked(&Any::DoubleValue(*d), cx),
            (_, Value::Array(_) | Value::KvList(_)) => false,
        };
        if unchanged {
            Verdict::Unchanged
        } else {
            Verdict::Decode
        }
    }

    /// Attribute `a` with its value masked, encoded as field `number`: its key's bytes and the
    /// mask's. `None` unless its `KeyValue` is exactly a key field then a value field (then
    /// this is what prost writes for it masked).
    fn masked(&self, buf: &[u8], a: &Attr, number: u32) -> Option<Vec<u8>> {
        let kv = &a.field.value;
        let any = a.any.as_ref()?;
        let plain = buf.get(kv.start) == Some(&0x0a)
            && a.key.start > kv.start
            && len_start(buf, a.key.start) == kv.start + 1
            && any.start == a.key.end
            && any.value.end == kv.end;
        if !plain {
            return None;
        }
        let key = &buf[kv.start..a.key.end];
        let len = key.len() + self.mask_field.len();
        let mut out = Vec::with_capacity(len + 6);
        prost::encoding::encode_key(number, prost::encoding::WireType::LengthDelimited, &mut out);
        prost::encoding::encode_varint(len as u64, &mut out);
        out.extend_from_slice(key);
        out.extend_from_slice(&self.mask_field);
        Some(out)
    }

    /// A value that stays (a log body): the `AnyValue` field `field` (number `number`) of the
    /// message at `path`, holding `value`; scanned in place when the view tells it is clean,
    /// else decoded and run through `Rules::value` under `label`, replaced when it changed.
    pub fn value(
        &mut self,
        path: &[Nest],
        field: &Nest,
        value: &Value,
        number: u32,
        label: &str,
        earlier: &mut [Edit],
    ) {
        let (rules, cx) = (&self.p.rules, &mut self.run.cx);
        let written = earlier
            .iter_mut()
            .find(|e| direct(e, path) && e.at.start == field.start);
        let bytes = match &written {
            Some(e) => match e.field() {
                Some((n, payload)) if n == number => payload,
                _ => return,
            },
            None => {
                let clean = match value {
                    Value::Empty | Value::Bool(_) | Value::StrIndex(_) => true,
                    Value::Str(r) => {
                        let s = text(self.buf, r);
                        cx.memo.is_clean(s) || {
                            let clean = !rules.values.needs_masking(s);
                            if clean {
                                cx.memo.saw_clean(s);
                            }
                            clean
                        }
                    }
                    Value::Bytes(r) => std::str::from_utf8(&self.buf[r.clone()])
                        .map_or(true, |s| !rules.values.needs_masking(s)),
                    Value::Int(i) => !rules.number_blocked(&Any::IntValue(*i), cx),
                    Value::Double(d) => !rules.number_blocked(&Any::DoubleValue(*d), cx),
                    Value::Array(_) | Value::KvList(_) => false,
                };
                if clean {
                    return;
                }
                &self.buf[field.value.clone()]
            }
        };
        let Ok(mut any) = AnyValue::decode(bytes) else {
            return;
        };
        let before = cx.tally.total();
        rules.value(&mut any, label, cx);
        if cx.tally.total() == before {
            return;
        }
        let with = len_field(number, &any.encode_to_vec());
        match written {
            Some(e) => e.with = with,
            None => self.mine.replace(path, field.whole(), with),
        }
    }

    /// A string field at `range` (inside the message at `path`): scanned in place, replaced
    /// when `kind`'s rule changes it; read from an earlier edit (among `earlier`) when there
    /// is one.
    pub fn string(
        &mut self,
        path: &[Nest],
        range: &Range<usize>,
        kind: Kind,
        earlier: &mut [Edit],
    ) {
        if range.is_empty() {
            // Absent or empty: no rule changes an empty string (checked before the walk).
            return;
        }
        let (rules, cx) = (&self.p.rules, &mut self.run.cx);
        let from = len_start(self.buf, range.start);
        if let Some(e) = earlier
            .iter_mut()
            .find(|e| direct(e, path) && e.at.start == from)
        {
            let Some(old) = len_value(&e.with).and_then(|b| std::str::from_utf8(b).ok()) else {
                return;
            };
            let mut s = old.to_owned();
            kind.apply(rules, &mut s, cx);
            if s != old {
                let mut with = Vec::with_capacity(s.len() + 2);
                prost::encoding::encode_varint(s.len() as u64, &mut with);
                with.extend_from_slice(s.as_bytes());
                e.with = with;
            }
            return;
        }
        let old = text(self.buf, range);
        if cx.memo.is_clean(old) {
            return;
        }
        if !rules.values.needs_masking(old) {
            cx.memo.saw_clean(old);
            return;
        }
        let mut s = old.to_owned();
        kind.apply(rules, &mut s, cx);
        if s != old {
            self.mine
                .replace_value(path, self.buf, range.clone(), s.as_bytes());
        }
    }

    /// An attribute an earlier processor wrote: decided from its bytes where it can be (as
    /// attributes of the request are), else decoded and run through the rules; rewritten
    /// when it changed. With `summary` (the record's list, and the edit's index among the
    /// record's earlier edits), the first summary attribute of each key is kept aside for the
    /// record's end.
    fn edited(
        &mut self,
        e: &mut Edit,
        number: u32,
        summary: Option<(&mut [Option<Found>; 2], usize)>,
    ) {
        if e.field().is_none_or(|(n, _)| n != number) {
            return;
        }
        if let Ok(a) = Attr::parse_field(&e.with) {
            let key = text(&e.with, &a.key);
            if summary_slot(key).is_none() {
                match self.verdict(&e.with, &a, key) {
                    Verdict::Unchanged => return,
                    Verdict::Mask(reason) => {
                        if let Some(bytes) = self.masked(&e.with, &a, number) {
                            self.run.cx.tally.note(reason, key);
                            e.with = bytes;
                            return;
                        }
                    }
                    Verdict::Decode => {}
                }
            }
        }
        let Some(Ok(mut kv)) = e.field().map(|(_, payload)| KeyValue::decode(payload)) else {
            return;
        };
        let (rules, cx) = (&self.p.rules, &mut self.run.cx);
        let before = cx.tally.total();
        rules.attribute(&mut kv, true, cx);
        let changed = cx.tally.total() != before;
        if let Some((found, i)) = summary
            && let Some(s) = summary_slot(&kv.key)
            && found[s].is_none()
        {
            found[s] = Some(Found {
                loc: Loc::Earlier(i),
                kv,
                changed,
            });
            return;
        }
        if changed {
            e.with = len_field(number, &kv.encode_to_vec());
        }
    }
}

/// The text at `range` of `buf` (checked UTF-8 when the view was built).
fn text<'b>(buf: &'b [u8], range: &Range<usize>) -> &'b str {
    std::str::from_utf8(&buf[range.clone()]).unwrap_or_default()
}

/// Which summary attribute `key` is, by index.
fn summary_slot(key: &str) -> Option<usize> {
    match key {
        COUNT_KEY => Some(0),
        KEYS_KEY => Some(1),
        _ => None,
    }
}
