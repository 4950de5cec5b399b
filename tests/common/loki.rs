//! Loki's push format as Loki itself reads it, independently of weir's encoder ([`wire`]: the
//! protobuf body, snappy block compression and `logproto.PushRequest` definitions with the field
//! numbers of Loki's `pkg/push/push.proto`, and the JSON body, plain or gzipped).
//! [`Push::decode`] turns one request a [`Capture`](super::capture::Capture) kept into streams,
//! labels, lines, timestamps and structured metadata.

use std::collections::BTreeMap;

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
        let streams = wire::decode(Some(&content_type), content_encoding.as_deref(), &raw.body)
            .into_iter()
            .map(|s| Stream {
                labels: s.labels,
                entries: s
                    .entries
                    .into_iter()
                    .map(|e| {
                        let mut metadata = BTreeMap::new();
                        for (name, value) in e.metadata {
                            assert!(metadata.insert(name, value).is_none(), "repeated name");
                        }
                        Entry {
                            nanos: e.nanos,
                            line: e.line,
                            metadata,
                        }
                    })
                    .collect(),
            })
            .collect();
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

/// Loki's wire formats, read independently of weir's encoder (one decoder, shared with the
/// `loki` exporter's own tests).
pub use weir_exporters::loki::read as wire;
