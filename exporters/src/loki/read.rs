//! Loki's push bodies read as Loki reads them, written from Loki's `pkg/push/push.proto` and its
//! HTTP API rather than from weir's encoder, for tests (this crate's, and the black-box tests
//! through the `test-util` feature): the protobuf body (snappy block compression,
//! `logproto.PushRequest`) and the JSON body, plain or gzipped; each stream's selector parsed
//! back into labels with LogQL's string escapes.
//!
//! It panics, naming what is wrong, on a body Loki would refuse or that a client should not send
//! (an unknown content type or encoding, a hash or `parsed` field set, a label name Loki would
//! not accept, a repeated label).

use std::collections::BTreeMap;
use std::io::Read;

use prost::Message;

/// One stream as Loki read it: its labels and entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// The labels of the stream's selector.
    pub labels: BTreeMap<String, String>,
    /// The entries, in the body's order.
    pub entries: Vec<Entry>,
}

/// One entry as Loki stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The timestamp, in nanoseconds since the epoch.
    pub nanos: i128,
    /// The log line.
    pub line: String,
    /// Structured metadata, in the body's order.
    pub metadata: Vec<(String, String)>,
}

/// `logproto.PushRequest`.
#[derive(Clone, PartialEq, Message)]
struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    streams: Vec<StreamAdapter>,
}

#[derive(Clone, PartialEq, Message)]
struct StreamAdapter {
    #[prost(string, tag = "1")]
    labels: String,
    #[prost(message, repeated, tag = "2")]
    entries: Vec<EntryAdapter>,
    #[prost(uint64, tag = "3")]
    hash: u64,
}

#[derive(Clone, PartialEq, Message)]
struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    timestamp: Option<Timestamp>,
    #[prost(string, tag = "2")]
    line: String,
    #[prost(message, repeated, tag = "3")]
    structured_metadata: Vec<LabelPairAdapter>,
    #[prost(message, repeated, tag = "4")]
    parsed: Vec<LabelPairAdapter>,
}

#[derive(Clone, PartialEq, Message)]
struct LabelPairAdapter {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// Reads a push body by its `Content-Type` and `Content-Encoding`, as Loki would.
pub fn decode(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
) -> Vec<Stream> {
    match (content_type, content_encoding) {
        (Some("application/x-protobuf"), None) => decode_protobuf(body),
        (Some("application/json"), None) => decode_json(body),
        (Some("application/json"), Some("gzip")) => {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut plain)
                .expect("gzip");
            decode_json(&plain)
        }
        other => panic!("Loki reads no {other:?} body"),
    }
}

/// A snappy-compressed `logproto.PushRequest`.
pub fn decode_protobuf(body: &[u8]) -> Vec<Stream> {
    let raw = snappy_decode(body);
    let push = PushRequest::decode(&raw[..]).expect("logproto.PushRequest");
    push.streams
        .into_iter()
        .map(|s| {
            assert_eq!(s.hash, 0, "clients leave hash unset");
            Stream {
                labels: parse_selector(&s.labels),
                entries: s
                    .entries
                    .into_iter()
                    .map(|e| {
                        assert!(e.parsed.is_empty(), "parsed is Loki's own field");
                        let ts = e.timestamp.expect("Loki requires a timestamp");
                        Entry {
                            nanos: i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos),
                            line: e.line,
                            metadata: e
                                .structured_metadata
                                .into_iter()
                                .map(|p| (p.name, p.value))
                                .collect(),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// A JSON push body, already inflated.
pub fn decode_json(raw: &[u8]) -> Vec<Stream> {
    let v: serde_json::Value = serde_json::from_slice(raw).expect("JSON push body");
    let strings = |m: &serde_json::Value| -> Vec<(String, String)> {
        m.as_object()
            .expect("an object of strings")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_owned()))
            .collect()
    };
    v["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| Stream {
            labels: strings(&s["stream"]).into_iter().collect(),
            entries: s["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|e| {
                    let e = e.as_array().expect("[ts, line, metadata?]");
                    assert!(e.len() == 2 || e.len() == 3, "{e:?}");
                    Entry {
                        nanos: e[0].as_str().expect("ns as a string").parse().expect("ns"),
                        line: e[1].as_str().expect("line").to_owned(),
                        metadata: e.get(2).map(strings).unwrap_or_default(),
                    }
                })
                .collect(),
        })
        .collect()
}

/// Decodes snappy's raw block format, the one Loki reads.
pub fn snappy_decode(input: &[u8]) -> Vec<u8> {
    snap::raw::Decoder::new()
        .decompress_vec(input)
        .expect("snappy block format")
}

/// Parses `{a="x", b="y\"z"}` as Loki's label parser does (LogQL string escapes).
pub fn parse_selector(selector: &str) -> BTreeMap<String, String> {
    let inner = selector
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or_else(|| panic!("selector without braces: {selector}"));
    let mut out = BTreeMap::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return out;
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert!(label_name(&name), "label name {name:?} in {selector}");
        assert_eq!(chars.next(), Some('"'), "{selector}");
        let mut value = String::new();
        loop {
            match chars.next().expect("unterminated value") {
                '"' => break,
                '\\' => match chars.next().expect("escape") {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    'u' => {
                        let hex: String = chars.by_ref().take(4).collect();
                        let code = u32::from_str_radix(&hex, 16).expect("hex");
                        value.push(char::from_u32(code).expect("char"));
                    }
                    c => value.push(c),
                },
                c => value.push(c),
            }
        }
        assert!(
            out.insert(name, value).is_none(),
            "duplicate label in {selector}"
        );
    }
}

/// Prometheus' label name rule, which Loki applies: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
