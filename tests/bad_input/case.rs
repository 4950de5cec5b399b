//! The bad-input corpus as data: `tests/corpus/bad_input/cases.json` read into [`Case`]s, and
//! each case's body built from its recipe. Checks nothing itself; `tests/bad_input.rs` replays
//! the cases and checks the answers.
//!
//! A body is a literal (`text`, `hex`) or generated deterministically (in `bodies.rs`): a
//! valid export request, one cut short, pseudo-random bytes, a string with invalid UTF-8,
//! `AnyValue`s nested past the decoder's depth limit, spans or a log record with given ids, or
//! a run of zeros (a decompression bomb once compressed). Generated requests are protobuf, or OTLP/JSON
//! when the case's content type is JSON. `compress` then compresses the bytes; the headers
//! that announce an encoding are always the case's own, so a case may lie about them.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::{Span, span::Link};
use serde::Deserialize;

use super::bodies::{
    Request, compress, invalid_utf8, log_request, nested, random, span, trace_request, unhex, valid,
};

/// Where the manifest lives, relative to `tests/`.
pub const MANIFEST: &str = "corpus/bad_input/cases.json";

/// The two OTLP transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Http,
    Grpc,
}

/// One request of the corpus and the answer it must get.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique, `<transport>-...`.
    pub name: String,
    pub transport: Transport,
    /// `traces`, `metrics` or `logs`.
    #[serde(default = "traces")]
    pub signal: String,
    /// OTLP/HTTP only: the `Content-Type` (default protobuf; `""` sends none). For gRPC the
    /// content type is `application/grpc` unless `headers` name another.
    pub content_type: Option<String>,
    /// Extra request headers (gRPC: metadata). A value may be `{"repeat": s, "times": n}`;
    /// characters up to U+00FF are sent as single bytes, so `\u00ff` is the byte 0xff.
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValue>,
    pub body: Body,
    /// Compresses the body's bytes: `gzip`, `deflate` (zlib) or `zstd`.
    pub compress: Option<String>,
    /// OTLP/HTTP only: `grpc` sends the request to the gRPC listener instead (an OTLP/HTTP
    /// client pointed at the wrong port).
    pub port: Option<Transport>,
    /// OTLP/HTTP only: the `Content-Length` to declare; the body is sent as is, then the client
    /// half-closes the connection.
    pub content_length: Option<usize>,
    /// OTLP/gRPC only: how the message is framed.
    #[serde(default)]
    pub frame: Frame,
    pub expect: Expect,
    /// A weir bug this case shows: the answer it gets instead of `expect` until fixed.
    pub known_bug: Option<KnownBug>,
    /// Why the case exists or why its answer is the right one.
    #[serde(default)]
    pub note: String,
}

fn traces() -> String {
    "traces".into()
}

/// A header value: literal, or one string repeated.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum HeaderValue {
    Text(String),
    Repeat { repeat: String, times: usize },
}

impl HeaderValue {
    /// The bytes sent: each character is one byte (Latin-1), as HTTP header values are.
    pub fn bytes(&self) -> Vec<u8> {
        let text = match self {
            HeaderValue::Text(t) => t.clone(),
            HeaderValue::Repeat { repeat, times } => repeat.repeat(*times),
        };
        text.chars()
            .map(|c| u8::try_from(u32::from(c)).expect("header characters are Latin-1"))
            .collect()
    }
}

/// The gRPC framing of a case's message.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frame {
    /// The compressed flag; default: set when `compress` is.
    pub compressed: Option<bool>,
    /// The length the prefix declares; default: the message's.
    pub declared_len: Option<u32>,
    /// Send the bytes with no prefix at all.
    #[serde(default)]
    pub raw: bool,
    /// How many times the framed message is sent in the one call (default 1).
    pub count: Option<usize>,
    /// Bytes (hex) sent after the frames.
    pub trailing: Option<String>,
}

/// The answer a case must get.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The HTTP status (on gRPC, checked only when given).
    pub status: Option<u16>,
    /// OTLP/gRPC: the code's name (`OK`, `INVALID_ARGUMENT`, ...).
    pub code: Option<String>,
    /// Text the error message (or the partial success's message) contains.
    pub message: Option<String>,
    /// Records the answer's `partial_success` reports rejected; `0`: no `partial_success`.
    pub rejected: Option<i64>,
    /// `generated`: the request id answered is a fresh uuid, not the one sent.
    pub request_id: Option<String>,
    /// Encodings `grpc-accept-encoding` must list.
    pub accept_encoding: Option<Vec<String>>,
}

/// A known deviation from the promised answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownBug {
    /// What is wrong.
    pub bug: String,
    /// The answer weir gives today.
    pub today: Expect,
}

/// How a body is made.
#[derive(Debug, Deserialize)]
#[serde(tag = "gen", rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    /// These characters, as UTF-8.
    Text { text: String },
    /// These bytes.
    Hex { hex: String },
    /// A valid export request of the case's signal.
    Valid,
    /// The first `keep` bytes of the valid protobuf request.
    Truncated { keep: usize },
    /// `len` pseudo-random bytes from `seed` (xorshift64).
    Random { seed: u64, len: usize },
    /// A valid protobuf request but for one string: `field` holds the bytes ff fe.
    InvalidUtf8 { field: String },
    /// A log record (logs) or span attribute (traces) whose value is `depth` `kind`s
    /// (`kvlist` or `array`) nested in one another.
    Nested { kind: String, depth: usize },
    /// Spans with these ids (hex).
    Spans { spans: Vec<SpanIds> },
    /// One log record with these ids (hex).
    Log { trace_id: String, span_id: String },
    /// `len` zero bytes.
    Zeros { len: usize },
}

/// A span of [`Body::Spans`]; ids in hex, absent parent and link left out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanIds {
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub link: Option<LinkIds>,
}

/// A span link's ids, in hex.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkIds {
    pub trace_id: String,
    pub span_id: String,
}

/// Reads the manifest; panics naming the problem.
pub fn load(path: &std::path::Path) -> Vec<Case> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Case {
    /// Whether generated requests of this case are OTLP/JSON.
    fn json(&self) -> bool {
        self.transport == Transport::Http
            && self
                .content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("application/json"))
    }

    /// The body's bytes, compressed as `compress` says.
    pub fn body_bytes(&self) -> Vec<u8> {
        let raw = match &self.body {
            Body::Text { text } => text.clone().into_bytes(),
            Body::Hex { hex } => unhex(hex),
            Body::Valid => self.encode(valid(&self.signal)),
            Body::Truncated { keep } => {
                let mut full = valid(&self.signal).encode();
                assert!(
                    *keep < full.len(),
                    "{}: keep {keep} of {}",
                    self.name,
                    full.len()
                );
                full.truncate(*keep);
                full
            }
            Body::Random { seed, len } => random(*seed, *len),
            Body::InvalidUtf8 { field } => invalid_utf8(&self.signal, field),
            Body::Nested { kind, depth } => nested(&self.signal, kind, *depth, self.json()),
            Body::Spans { spans } => self.encode(Request::Traces(trace_request(
                spans.iter().map(SpanIds::span).collect(),
            ))),
            Body::Log { trace_id, span_id } => self.encode(Request::Logs(log_request(LogRecord {
                trace_id: unhex(trace_id),
                span_id: unhex(span_id),
                time_unix_nano: 1,
                ..LogRecord::default()
            }))),
            Body::Zeros { len } => vec![0; *len],
        };
        match self.compress.as_deref() {
            None => raw,
            Some(how) => compress(how, &raw),
        }
    }

    fn encode(&self, request: Request) -> Vec<u8> {
        if self.json() {
            request.json()
        } else {
            request.encode()
        }
    }
}

impl SpanIds {
    fn span(&self) -> Span {
        Span {
            parent_span_id: self
                .parent_span_id
                .as_deref()
                .map(unhex)
                .unwrap_or_default(),
            links: self
                .link
                .iter()
                .map(|l| Link {
                    trace_id: unhex(&l.trace_id),
                    span_id: unhex(&l.span_id),
                    ..Link::default()
                })
                .collect(),
            ..span(&self.name, &unhex(&self.trace_id), &unhex(&self.span_id))
        }
    }
}
