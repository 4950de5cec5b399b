//! Writing a request back with edits: unchanged byte ranges are copied, edited fields are
//! replaced, and the lengths of the messages enclosing an edit are recomputed. An edit names
//! the nested fields that enclose it (outermost first, as the view indexed them), the byte
//! range it replaces (empty to insert) and the bytes that replace it (empty to delete).
//!
//! Several processors edit one request in turn: a later one reads what an earlier one wrote
//! through [`Edits::under_mut`] (the edits inside one field, found by binary search) and may
//! rewrite those bytes in place, so two edits never cover the same bytes. Edits must not
//! overlap; nothing here fails.

use std::cmp::Ordering;
use std::ops::Range;

use super::reader::{put_varint, varint};
use super::view::Nest;

/// One change to a request's bytes.
#[derive(Debug, Clone)]
pub struct Edit {
    /// The nested fields enclosing the change, outermost first.
    pub path: Vec<Nest>,
    /// The bytes replaced (inside the innermost field of `path`); empty to insert.
    pub at: Range<usize>,
    /// What replaces them; empty to delete.
    pub with: Vec<u8>,
}

impl Edit {
    /// The inserted or replacing bytes read as one length-delimited field: its number and
    /// payload. `None` when `with` is anything else (several fields, a bare value, nothing).
    pub fn field(&self) -> Option<(u32, &[u8])> {
        let mut pos = 0;
        let key = varint(&self.with, &mut pos).ok()?;
        if key & 7 != 2 || key > u64::from(u32::MAX) {
            return None;
        }
        Some(((key >> 3) as u32, len_value(&self.with[pos..])?))
    }

    /// True when this edit inserts at the end of the message its path ends with.
    pub fn is_append(&self) -> bool {
        self.path
            .last()
            .is_some_and(|n| self.at.start == n.value.end && self.at.is_empty())
    }

    /// The position of this edit in the buffer: its enclosing fields' starts, then its own.
    fn key(&self) -> impl Iterator<Item = usize> + '_ {
        self.path
            .iter()
            .map(|n| n.start)
            .chain(std::iter::once(self.at.start))
    }
}

/// `bytes` read as a varint length and exactly that many bytes: the payload.
pub fn len_value(bytes: &[u8]) -> Option<&[u8]> {
    let mut pos = 0;
    let len = usize::try_from(varint(bytes, &mut pos).ok()?).ok()?;
    (bytes.len() - pos == len).then(|| &bytes[pos..])
}

/// Where the length of the length-delimited value starting at `value_start` begins. The
/// bytes before a varint's last byte have their high bit set, and the byte before the length
/// is the last of the field's key, whose high bit is clear; `value_start` must follow a length.
pub fn len_start(buf: &[u8], value_start: usize) -> usize {
    let mut p = value_start.saturating_sub(1);
    while p > 0 && buf[p - 1] & 0x80 != 0 {
        p -= 1;
    }
    p
}

/// The changes to one request, kept in buffer order.
#[derive(Debug, Clone, Default)]
pub struct Edits {
    edits: Vec<Edit>,
    /// False once an edit was added before the last one in buffer order.
    unsorted: bool,
}

impl Edits {
    /// No changes.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when nothing changes.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// How many edits there are.
    pub fn len(&self) -> usize {
        self.edits.len()
    }

    /// Replaces `at` (inside the innermost of `path`) with `with`.
    pub fn replace(&mut self, path: &[Nest], at: Range<usize>, with: Vec<u8>) {
        self.push(Edit {
            path: path.to_vec(),
            at,
            with,
        });
    }

    /// Removes the field `field` from the message enclosing it (`path`).
    pub fn remove(&mut self, path: &[Nest], field: &Nest) {
        self.replace(path, field.whole(), Vec::new());
    }

    /// Appends `field` (key, length and value, encoded) at the end of the message `path` ends
    /// with.
    pub fn append(&mut self, path: &[Nest], field: Vec<u8>) {
        let end = path.last().map_or(0, |n| n.value.end);
        self.replace(path, end..end, field);
    }

    /// Replaces the length-delimited value at `value` (a string's bytes, in `buf`, inside the
    /// innermost of `path`) with `new`: the field's key stays, its length and value are
    /// written anew. The edit starts at the length ([`len_start`]).
    pub fn replace_value(&mut self, path: &[Nest], buf: &[u8], value: Range<usize>, new: &[u8]) {
        let mut with = Vec::with_capacity(new.len() + 2);
        put_varint(&mut with, new.len() as u64);
        with.extend_from_slice(new);
        self.replace(path, len_start(buf, value.start)..value.end, with);
    }

    fn push(&mut self, edit: Edit) {
        if let Some(last) = self.edits.last()
            && edit.key().lt(last.key())
        {
            self.unsorted = true;
        }
        self.edits.push(edit);
    }

    fn sort(&mut self) {
        if self.unsorted {
            // Stable: edits at one place keep the order they were made in.
            self.edits.sort_by(|a, b| a.key().cmp(b.key()));
            self.unsorted = false;
        }
    }

    /// True when every change lies inside a message at least `depth` fields deep (its path
    /// that long): nothing at a shallower level was added, removed or replaced.
    pub fn all_inside(&self, depth: usize) -> bool {
        self.edits.iter().all(|e| e.path.len() >= depth)
    }

    /// The edits inside the field `path` ends with (their path starts with `path`; deeper
    /// ones included), in buffer order. Change only their `with`: where they apply is their
    /// identity.
    pub fn under_mut(&mut self, path: &[Nest]) -> &mut [Edit] {
        self.under_mut_after(path, &mut 0)
    }

    /// [`Edits::under_mut`] for a caller that visits fields in buffer order: `cursor` (0 at
    /// first) is where the previous call's edits began; the search walks on from there a few
    /// steps before it falls back to halving, so a walk over every record costs one step per
    /// record rather than a search.
    pub fn under_mut_after(&mut self, path: &[Nest], cursor: &mut usize) -> &mut [Edit] {
        self.sort();
        let starts = || path.iter().map(|n| n.start);
        let prefix = |e: &Edit| e.key().take(path.len()).cmp(starts());
        let mut from = (*cursor).min(self.edits.len());
        if from > 0 && prefix(&self.edits[from - 1]) != Ordering::Less {
            from = 0;
        }
        let mut steps = 0;
        while from < self.edits.len() && prefix(&self.edits[from]) == Ordering::Less {
            from += 1;
            steps += 1;
            if steps == 8 {
                from += self.edits[from..].partition_point(|e| prefix(e) == Ordering::Less);
                break;
            }
        }
        let mut to = from;
        while to < self.edits.len() && prefix(&self.edits[to]) == Ordering::Equal {
            to += 1;
        }
        *cursor = from;
        &mut self.edits[from..to]
    }

    /// Adds `later`'s edits, made after these; at one place, these stay first.
    pub fn merge(&mut self, later: Edits) {
        if later.edits.is_empty() {
            return;
        }
        self.sort();
        let mut later = later;
        later.sort();
        if self
            .edits
            .last()
            .is_none_or(|l| !later.edits[0].key().lt(l.key()))
        {
            self.edits.append(&mut later.edits);
            return;
        }
        let mine = std::mem::take(&mut self.edits);
        let mut out = Vec::with_capacity(mine.len() + later.edits.len());
        let mut b = later.edits.into_iter().peekable();
        for a in mine {
            while let Some(next) = b.next_if(|n| n.key().lt(a.key())) {
                out.push(next);
            }
            out.push(a);
        }
        out.extend(b);
        self.edits = out;
    }

    /// `buf` with the changes made.
    pub fn apply(mut self, buf: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(buf, &mut out);
        out
    }

    /// Appends `buf` with the changes made to `out` (a buffer the caller may keep between
    /// requests), reserving exactly what it needs; the edits stay, in buffer order.
    pub fn write(&mut self, buf: &[u8], out: &mut Vec<u8>) {
        if self.edits.is_empty() {
            out.extend_from_slice(buf);
            return;
        }
        self.sort();
        // The new length of every edited message, in the order `emit` meets them.
        let mut lens = Vec::new();
        let total = sizes(buf, 0..buf.len(), &self.edits, 0, &mut lens);
        out.reserve(total);
        emit(buf, 0..buf.len(), &self.edits, 0, &mut lens.iter(), out);
    }
}

/// The edits of `edits` (sorted, all inside `range`) that share the field at `depth`, from
/// the first: that field and how many.
fn group(edits: &[Edit], depth: usize) -> Option<(&Nest, usize)> {
    let nest = edits.first()?.path.get(depth)?;
    let n = edits
        .iter()
        .take_while(|o| o.path.get(depth) == Some(nest))
        .count();
    Some((nest, n))
}

/// The length of `buf[range]` with `edits`, at nesting `depth`; pushes the new length of
/// each edited message in pre-order (a placeholder first, filled after its contents).
fn sizes(
    buf: &[u8],
    range: Range<usize>,
    edits: &[Edit],
    depth: usize,
    lens: &mut Vec<usize>,
) -> usize {
    let mut cursor = range.start;
    let mut total = 0;
    let mut i = 0;
    while i < edits.len() {
        let Some((nest, n)) = group(&edits[i..], depth) else {
            let e = &edits[i];
            total += e.at.start.max(cursor) - cursor + e.with.len();
            cursor = cursor.max(e.at.end);
            i += 1;
            continue;
        };
        let slot = lens.len();
        lens.push(0);
        let inner = sizes(buf, nest.value.clone(), &edits[i..i + n], depth + 1, lens);
        lens[slot] = inner;
        let key_len = key_len(buf, nest.start);
        total += nest.start.max(cursor) - cursor
            + key_len
            + prost::encoding::encoded_len_varint(inner as u64)
            + inner;
        cursor = nest.value.end;
        i += n;
    }
    total + range.end - cursor.min(range.end)
}

/// The length of the key of the field starting at `start`.
fn key_len(buf: &[u8], start: usize) -> usize {
    let mut end = start;
    let _ = varint(buf, &mut end);
    end - start
}

/// Writes `buf[range]` with `edits` (all inside it, sorted) at nesting `depth` into `out`,
/// taking each edited message's length from `lens`.
fn emit<'l>(
    buf: &[u8],
    range: Range<usize>,
    edits: &[Edit],
    depth: usize,
    lens: &mut impl Iterator<Item = &'l usize>,
    out: &mut Vec<u8>,
) {
    let mut cursor = range.start;
    let mut i = 0;
    while i < edits.len() {
        let Some((nest, n)) = group(&edits[i..], depth) else {
            let e = &edits[i];
            out.extend_from_slice(&buf[cursor..e.at.start.max(cursor)]);
            out.extend_from_slice(&e.with);
            cursor = cursor.max(e.at.end);
            i += 1;
            continue;
        };
        out.extend_from_slice(&buf[cursor..nest.start.max(cursor)]);
        // The field's key is copied; its length is written anew.
        out.extend_from_slice(&buf[nest.start..nest.start + key_len(buf, nest.start)]);
        put_varint(out, lens.next().copied().unwrap_or_default() as u64);
        emit(
            buf,
            nest.value.clone(),
            &edits[i..i + n],
            depth + 1,
            lens,
            out,
        );
        cursor = nest.value.end;
        i += n;
    }
    out.extend_from_slice(&buf[cursor.min(range.end)..range.end]);
}

/// A length-delimited field: key for `number`, length, `payload`.
pub fn len_field(number: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 6);
    put_varint(&mut out, (u64::from(number) << 3) | 2);
    put_varint(&mut out, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}
