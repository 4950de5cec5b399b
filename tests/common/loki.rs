//! Loki's push format as Loki itself reads it, independently of weir's encoder: the protobuf
//! body (snappy block compression, and `logproto.PushRequest`
//! definitions with the field numbers of Loki's `pkg/push/push.proto`) and the JSON body, plain
//! or gzipped. [`Push::decode`] turns one request a [`Capture`](super::capture::Capture) kept
//! into streams, labels, lines, timestamps and structured metadata.

use std::collections::BTreeMap;
use std::io::Read;

use prost::Message;
use serde_json::Value;

use super::capture::Request;

/// A push as Loki reads it.
#[derive(Debug)]
pub struct Push {
    pub path: String,
    /// The `X-Scope-OrgID` header.
    pub tenant: Option<String>,
    pub content_type: String,
    pub content_encoding: Option<String>,
    pub streams: Vec<Stream>,
}

/// One stream: its labels and entries.
#[derive(Debug)]
pub struct Stream {
    pub labels: BTreeMap<String, String>,
    pub entries: Vec<Entry>,
}

/// One log line.
#[derive(Debug)]
pub struct Entry {
    /// The timestamp, in nanoseconds since the epoch.
    pub nanos: i128,
    pub line: String,
    /// Structured metadata, by name.
    pub metadata: BTreeMap<String, String>,
}

impl Push {
    /// Reads `raw` as Loki would, by its `Content-Type` and `Content-Encoding`; panics on a body
    /// Loki would refuse.
    pub fn decode(raw: &Request) -> Push {
        let header = |name: &str| {
            raw.headers
                .get(name)
                .map(|v| v.to_str().expect("ASCII header").to_owned())
        };
        let content_type = header("content-type").expect("Content-Type");
        let content_encoding = header("content-encoding");
        let streams = match (content_type.as_str(), content_encoding.as_deref()) {
            ("application/x-protobuf", None) => wire::decode_protobuf(&raw.body),
            ("application/json", None) => wire::decode_json(&raw.body),
            ("application/json", Some("gzip")) => {
                let mut plain = Vec::new();
                flate2::read::GzDecoder::new(&raw.body[..])
                    .read_to_end(&mut plain)
                    .expect("gzip");
                wire::decode_json(&plain)
            }
            other => panic!("Loki reads no {other:?} body"),
        };
        Push {
            path: raw.path.clone(),
            tenant: header("x-scope-orgid"),
            content_type,
            content_encoding,
            streams,
        }
    }

    /// Every entry of the push, with its stream's labels.
    pub fn entries(&self) -> impl Iterator<Item = (&BTreeMap<String, String>, &Entry)> {
        self.streams
            .iter()
            .flat_map(|s| s.entries.iter().map(move |e| (&s.labels, e)))
    }
}

/// Loki's wire formats, read independently of weir's encoder.
pub mod wire {
    use super::*;

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

    pub(super) fn decode_protobuf(body: &[u8]) -> Vec<Stream> {
        let raw = snappy_decode(body);
        let push = PushRequest::decode(&raw[..]).expect("logproto.PushRequest");
        push.streams
            .into_iter()
            .map(|s| Stream {
                labels: parse_selector(&s.labels),
                entries: s
                    .entries
                    .into_iter()
                    .map(|e| {
                        let ts = e.timestamp.expect("Loki requires a timestamp");
                        let mut metadata = BTreeMap::new();
                        for p in e.structured_metadata {
                            assert!(metadata.insert(p.name, p.value).is_none(), "repeated name");
                        }
                        Entry {
                            nanos: i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos),
                            line: e.line,
                            metadata,
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    pub(super) fn decode_json(body: &[u8]) -> Vec<Stream> {
        let v: Value = serde_json::from_slice(body).expect("JSON push body");
        let strings = |m: &Value| -> BTreeMap<String, String> {
            m.as_object()
                .expect("an object of strings")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("string").to_owned()))
                .collect()
        };
        v["streams"]
            .as_array()
            .expect("streams")
            .iter()
            .map(|s| Stream {
                labels: strings(&s["stream"]),
                entries: s["values"]
                    .as_array()
                    .expect("values")
                    .iter()
                    .map(|e| Entry {
                        nanos: e[0].as_str().expect("ns as a string").parse().expect("ns"),
                        line: e[1].as_str().expect("line").to_owned(),
                        metadata: e.get(2).map(strings).unwrap_or_default(),
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

    /// `{a="x", b="y"}` as Loki's label parser reads it.
    fn parse_selector(selector: &str) -> BTreeMap<String, String> {
        let inner = selector
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .expect("braces");
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
            let valid = name
                .chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
            assert!(valid && !name.is_empty(), "label name {name:?}");
            assert_eq!(chars.next(), Some('"'));
            let mut value = String::new();
            loop {
                match chars.next().expect("closing quote") {
                    '"' => break,
                    '\\' => match chars.next().expect("escape") {
                        'n' => value.push('\n'),
                        't' => value.push('\t'),
                        c => value.push(c),
                    },
                    c => value.push(c),
                }
            }
            assert!(out.insert(name, value).is_none(), "repeated label");
        }
    }
}
