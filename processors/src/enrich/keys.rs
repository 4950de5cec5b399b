//! The configured trace-context keys ([`Keys`]: which key holds a trace id, a span id or a
//! traceparent, and its rank) and the best value each source offers under them ([`Found`]); in
//! a module of its own because both the attribute and body readers ([`super::trace_ids`]) and
//! the JSON body scanner ([`super::json_body`]) use them. Nothing here fails.

use std::borrow::Cow;

use super::config::TraceIdsConfig;

/// What a configured key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A trace id, 32 hex digits.
    Trace = 0,
    /// A span id, 16 hex digits.
    Span = 1,
    /// A W3C traceparent.
    TraceParent = 2,
}

/// A value found under a trace-context key.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Candidate<'a> {
    /// A string.
    Text(Cow<'a, str>),
    /// Raw bytes (an OTLP bytes value).
    Bytes(&'a [u8]),
    /// Anything else: never a valid id.
    Other,
}

/// The best candidate of each role in one source, with where it was.
#[derive(Debug, Default)]
pub(super) struct Found<'a> {
    slots: [Option<Slot<'a>>; 3],
}

#[derive(Debug)]
pub(super) struct Slot<'a> {
    /// Position of the key in its configured list: lower wins.
    rank: usize,
    /// Index of the attribute it came from.
    pub(super) at: usize,
    /// The value found.
    pub(super) value: Candidate<'a>,
}

impl<'a> Found<'a> {
    /// Keeps `value` for `role` unless a key ranked earlier already gave one.
    pub(super) fn offer(&mut self, (role, rank): (Role, usize), at: usize, value: Candidate<'a>) {
        let slot = &mut self.slots[role as usize];
        if slot.as_ref().is_none_or(|s| rank < s.rank) {
            *slot = Some(Slot { rank, at, value });
        }
    }

    /// The candidate kept for `role`, if any.
    pub(super) fn get(&self, role: Role) -> Option<&Slot<'a>> {
        self.slots[role as usize].as_ref()
    }
}

/// The configured keys of each role, flattened for one pass per attribute key.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    /// `(key, role, rank)`; the first entry of a key wins.
    all: Vec<(String, Role, usize)>,
    /// Length bounds of the keys: most attribute keys are rejected by length alone.
    shortest: usize,
    longest: usize,
}

impl Keys {
    /// The keys of `cfg`, flattened.
    pub(super) fn new(cfg: &TraceIdsConfig) -> Self {
        let lists = [
            (Role::Trace, &cfg.trace_id_keys),
            (Role::Span, &cfg.span_id_keys),
            (Role::TraceParent, &cfg.traceparent_keys),
        ];
        let all: Vec<(String, Role, usize)> = lists
            .into_iter()
            .flat_map(|(role, keys)| {
                keys.iter()
                    .enumerate()
                    .map(move |(rank, k)| (k.clone(), role, rank))
            })
            .collect();
        let lens = all.iter().map(|(k, _, _)| k.len());
        Self {
            shortest: lens.clone().min().unwrap_or(usize::MAX),
            longest: lens.max().unwrap_or(0),
            all,
        }
    }

    /// The role of `key` and its rank among that role's keys, when it is configured.
    pub(super) fn classify(&self, key: &str) -> Option<(Role, usize)> {
        if key.len() < self.shortest || key.len() > self.longest {
            return None;
        }
        self.all
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, role, rank)| (*role, *rank))
    }
}
