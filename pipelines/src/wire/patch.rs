//! Writing a request back with edits: unchanged byte ranges are copied, edited fields are
//! replaced, and the lengths of the messages enclosing an edit are recomputed. An edit names
//! the nested fields that enclose it (outermost first, as the view indexed them), the byte
//! range it replaces (empty to insert) and the bytes that replace it (empty to delete). Edits
//! must not overlap; nothing here fails.

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

/// The changes to one request.
#[derive(Debug, Clone, Default)]
pub struct Edits {
    edits: Vec<Edit>,
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

    /// Replaces `at` (inside the innermost of `path`) with `with`.
    pub fn replace(&mut self, path: &[Nest], at: Range<usize>, with: Vec<u8>) {
        self.edits.push(Edit {
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

    /// `buf` with the changes made.
    pub fn apply(mut self, buf: &[u8]) -> Vec<u8> {
        if self.edits.is_empty() {
            return buf.to_vec();
        }
        // Buffer order: by each enclosing field's start, then by the change's own start. Edits
        // made while reading the view in order are sorted already.
        let key = |e: &Edit| {
            e.path
                .iter()
                .map(|n| n.start)
                .chain(std::iter::once(e.at.start))
                .collect::<Vec<_>>()
        };
        if !self.edits.windows(2).all(|w| in_order(&w[0], &w[1])) {
            self.edits.sort_by_cached_key(key);
        }
        let mut out = Vec::with_capacity(buf.len() + 64);
        emit(buf, 0..buf.len(), &self.edits, 0, &mut out);
        out
    }
}

/// True when `a` comes before `b` in the buffer (or at the same place, as added).
fn in_order(a: &Edit, b: &Edit) -> bool {
    let a_keys = a
        .path
        .iter()
        .map(|n| n.start)
        .chain(std::iter::once(a.at.start));
    let b_keys = b
        .path
        .iter()
        .map(|n| n.start)
        .chain(std::iter::once(b.at.start));
    a_keys.le(b_keys)
}

/// Writes `buf[range]` with `edits` (all inside it, sorted) at nesting `depth` into `out`.
fn emit(buf: &[u8], range: Range<usize>, edits: &[Edit], depth: usize, out: &mut Vec<u8>) {
    let mut cursor = range.start;
    let mut i = 0;
    while i < edits.len() {
        let e = &edits[i];
        let Some(nest) = e.path.get(depth) else {
            out.extend_from_slice(&buf[cursor..e.at.start.max(cursor)]);
            out.extend_from_slice(&e.with);
            cursor = cursor.max(e.at.end);
            i += 1;
            continue;
        };
        let group = edits[i..]
            .iter()
            .take_while(|o| o.path.get(depth) == Some(nest))
            .count();
        out.extend_from_slice(&buf[cursor..nest.start.max(cursor)]);
        // The field's key is copied; its length is written anew.
        let mut key_end = nest.start;
        let _ = varint(buf, &mut key_end);
        out.extend_from_slice(&buf[nest.start..key_end]);
        let mut inner = Vec::with_capacity(nest.value.len() + 32);
        emit(
            buf,
            nest.value.clone(),
            &edits[i..i + group],
            depth + 1,
            &mut inner,
        );
        put_varint(out, inner.len() as u64);
        out.extend_from_slice(&inner);
        cursor = nest.value.end;
        i += group;
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
