//! What a Loki 400 says it refused, in records, by reason.
//!
//! Loki stores the valid entries of a push and answers 400 naming the others, in one of two
//! forms (Loki 3.x):
//! - the distributor's validation errors (`pkg/distributor/distributor.go`), grouped by
//!   `GroupedErrors` (`pkg/util/errors.go`): one message alone is written as it is; several are
//!   written `N errors like: <message>` per distinct message, joined by `"; "`. Messages come
//!   from `pkg/validation/validate.go`: one per refused ENTRY (timestamp too old or too new,
//!   line too long, structured metadata refused), or one per refused STREAM (labels that do not
//!   parse or break a limit), which counts every entry of that stream;
//! - an ingester's per-stream report (`pkg/ingester/stream.go`): `entry with timestamp …
//!   ignored, reason: '…',` lines, then `user '…', total ignored: N out of M for stream: …`.
//!
//! Each entry of a push is one record (`streams.rs` neither drops nor splits records), so
//! entries are records. A stream is found by its selector, exactly as the push wrote it.
//!
//! Nothing here fails: a body that does not say how many entries it concerns (a message this
//! module does not know, a stream it cannot find) gives `None`, and the caller counts the whole
//! push as refused.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use http::StatusCode;

use super::response::Reason;
use super::wire::Stream;

/// How many entries a push carried, in total and per stream selector (hashed).
#[derive(Debug, Default, Clone)]
pub(crate) struct Pushed {
    entries: u64,
    streams: Vec<(u64, u64)>,
}

impl Pushed {
    /// The counts of `streams`, before they are encoded.
    pub(crate) fn of(streams: &[Stream]) -> Self {
        Self {
            entries: streams.iter().map(|s| s.entries.len() as u64).sum(),
            streams: streams
                .iter()
                .map(|s| (key(&s.selector), s.entries.len() as u64))
                .collect(),
        }
    }

    /// Entries of the whole push.
    pub(crate) fn entries(&self) -> u64 {
        self.entries
    }

    /// Entries of the stream with `selector`, when the push had it.
    fn stream(&self, selector: &str) -> Option<u64> {
        let key = key(selector);
        self.streams
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, n)| *n)
            .reduce(|a, b| a + b)
    }
}

fn key(selector: &str) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(selector)
}

/// Messages about one entry: `(needle, reason)`; the first needle found decides.
const PER_ENTRY: [(&str, Reason); 6] = [
    ("' has timestamp too old: ", Reason::TooOld),
    ("' has timestamp too new: ", Reason::TooNew),
    ("Max entry size '", Reason::LineTooLong),
    (
        "' includes structured metadata, but this feature is disallowed",
        Reason::StructuredMetadata,
    ),
    (
        "' has structured metadata too large: ",
        Reason::StructuredMetadata,
    ),
    (
        "' has too many structured metadata labels: ",
        Reason::StructuredMetadata,
    ),
];

/// Messages about one stream: `(prefix, end of the selector)`; the selector lies between.
const PER_STREAM: [(&str, &str); 4] = [
    ("Error parsing labels '", "' with error: "),
    ("stream '", "' has label name too long: '"),
    ("stream '", "' has label value too long: '"),
    ("stream '", "' has duplicate label name: '"),
];

/// Records Loki says it refused, per reason (each reason once, in first-seen order), from the
/// body of its 400 to `pushed`; `None` when the body does not say.
pub(crate) fn parse(body: &str, pushed: &Pushed) -> Option<Vec<(Reason, u64)>> {
    let body = body.trim();
    if body.is_empty() {
        return None;
    }
    let mut out: Vec<(Reason, u64)> = Vec::new();
    let mut add = |reason: Reason, n: u64| match out.iter_mut().find(|(r, _)| *r == reason) {
        Some((_, total)) => *total += n,
        None => out.push((reason, n)),
    };
    if let Some(ignored) = ingester_ignored(body) {
        add(Reason::classify(StatusCode::BAD_REQUEST, body), ignored);
        return Some(out);
    }
    for (n, message) in groups(body) {
        let (reason, records) = records_of(message, n, pushed)?;
        add(reason, records);
    }
    Some(out)
}

/// `N` of an ingester's `total ignored: N out of M for stream: …`.
fn ingester_ignored(body: &str) -> Option<u64> {
    let (_, rest) = body.rsplit_once("total ignored: ")?;
    let (n, rest) = rest.split_once(" out of ")?;
    if !rest.contains(" for stream: ") {
        return None;
    }
    n.parse().ok()
}

/// The body's `(count, message)` groups: one message of count 1, or `N errors like: …` groups.
fn groups(body: &str) -> Vec<(u64, &str)> {
    let Some((mut n, mut rest)) = count_prefix(body) else {
        return vec![(1, body)];
    };
    let mut out = Vec::new();
    loop {
        // The next group starts at a "; " followed by "<digits> errors like: ".
        let next = rest
            .match_indices("; ")
            .find_map(|(i, _)| count_prefix(&rest[i + 2..]).map(|g| (i, g)));
        let Some((end, next)) = next else {
            out.push((n, rest));
            return out;
        };
        out.push((n, &rest[..end]));
        (n, rest) = next;
    }
}

/// `(N, rest)` of a text starting `N errors like: rest`.
fn count_prefix(text: &str) -> Option<(u64, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let rest = text[digits..].strip_prefix(" errors like: ")?;
    Some((text[..digits].parse().ok()?, rest))
}

/// The reason and the records of one message that Loki wrote `n` times.
fn records_of(message: &str, n: u64, pushed: &Pushed) -> Option<(Reason, u64)> {
    if let Some((_, reason)) = PER_ENTRY
        .iter()
        .find(|(needle, _)| message.contains(needle))
    {
        return Some((*reason, n));
    }
    // Written once per stream, and a push has one stream per selector: its entries are the count.
    let selector = stream_selector(message)?;
    Some((Reason::BadLabels, pushed.stream(selector)?))
}

/// The selector a per-stream message names.
fn stream_selector(message: &str) -> Option<&str> {
    for (prefix, end) in PER_STREAM {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some(at) = rest.find(end)
        {
            return Some(&rest[..at]);
        }
    }
    // `entry for stream '<selector>' has <n> label names; limit <m>`
    if let Some(rest) = message.strip_prefix("entry for stream '")
        && let Some((selector, tail)) = rest.rsplit_once("' has ")
        && let Some((n, limit)) = tail.split_once(" label names; limit ")
        && n.parse::<u64>().is_ok()
        && limit.parse::<u64>().is_ok()
    {
        return Some(selector);
    }
    // `missing required labels <names> for user <tenant> for stream <selector>`
    let rest = message.strip_prefix("missing required labels ")?;
    let (_, rest) = rest.split_once(" for user ")?;
    let (_, selector) = rest.split_once(" for stream ")?;
    Some(selector)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loki::wire::Entry;

    const A: &str = r#"{app="a"}"#;
    const B: &str = r#"{app="b"}"#;

    /// A push of stream `a` with 3 entries and `b` with 2.
    fn pushed() -> Pushed {
        let stream = |selector: &str, n: usize| Stream {
            labels: Vec::new(),
            selector: selector.to_owned(),
            entries: (0..n)
                .map(|i| Entry {
                    nanos: i as u64,
                    line: String::new(),
                    metadata: Vec::new(),
                })
                .collect(),
        };
        Pushed::of(&[stream(A, 3), stream(B, 2)])
    }

    /// Loki 3.x's messages (`pkg/validation/validate.go`) not covered by `tests/partial.rs`.
    #[test]
    fn every_loki_message_kind_is_counted_in_records() {
        let p = pushed();
        assert_eq!(p.entries(), 5);
        for (message, want) in [
            (
                format!("stream '{A}' has label name too long: 'a_very_long_name'"),
                (Reason::BadLabels, 3),
            ),
            (
                format!("stream '{B}' has duplicate label name: 'app'"),
                (Reason::BadLabels, 2),
            ),
            (
                format!("missing required labels team,env for user t for stream {B}"),
                (Reason::BadLabels, 2),
            ),
            (
                format!(
                    "stream '{A}' has structured metadata too large: '70000' bytes, limit: \
                     '65536' bytes. Please see `limits_config.max_structured_metadata_size` or \
                     contact your Loki administrator to increase it."
                ),
                (Reason::StructuredMetadata, 1),
            ),
            (
                format!(
                    "stream '{A}' has too many structured metadata labels: '200', limit: '128'. \
                     Please see `limits_config.max_structured_metadata_entries_count` or \
                     contact your Loki administrator to increase it."
                ),
                (Reason::StructuredMetadata, 1),
            ),
        ] {
            assert_eq!(parse(&message, &p), Some(vec![want]), "{message}");
        }
    }

    #[test]
    fn groups_split_only_before_a_count() {
        let body = format!(
            "2 errors like: entry for stream '{A}' has 1 label names; limit 0; 12 errors \
             like: x; y"
        );
        assert_eq!(
            groups(&body),
            [
                (
                    2,
                    format!("entry for stream '{A}' has 1 label names; limit 0").as_str()
                ),
                (12, "x; y"),
            ]
        );
        assert_eq!(groups("3 errors likes: x"), [(1, "3 errors likes: x")]);
        assert_eq!(count_prefix(" errors like: x"), None, "no digits");
    }

    #[test]
    fn stream_messages_for_streams_not_pushed_say_nothing() {
        let p = pushed();
        assert_eq!(
            parse(r#"stream '{app="c"}' has duplicate label name: 'app'"#, &p),
            None
        );
        assert_eq!(
            parse("total ignored: many out of 3 for stream: {}", &p),
            None
        );
        assert_eq!(parse("  \n", &p), None);
    }
}
