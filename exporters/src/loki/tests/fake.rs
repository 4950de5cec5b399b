//! A fake Loki on 127.0.0.1: decodes every push from the wire as Loki does (snappy-compressed
//! `logproto.PushRequest`, with its own message definitions written from `push.proto`, or JSON,
//! gzipped or not), parses each stream's selector back into labels, records it with its
//! headers, and answers as the test says.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use prost::Message;
use tokio::net::TcpListener;

/// `logproto.PushRequest`, as the fake reads it.
#[derive(Clone, PartialEq, Message)]
struct Push {
    #[prost(message, repeated, tag = "1")]
    streams: Vec<PbStream>,
}

#[derive(Clone, PartialEq, Message)]
struct PbStream {
    #[prost(string, tag = "1")]
    labels: String,
    #[prost(message, repeated, tag = "2")]
    entries: Vec<PbEntry>,
    #[prost(uint64, tag = "3")]
    hash: u64,
}

#[derive(Clone, PartialEq, Message)]
struct PbEntry {
    #[prost(message, optional, tag = "1")]
    timestamp: Option<PbTimestamp>,
    #[prost(string, tag = "2")]
    line: String,
    #[prost(message, repeated, tag = "3")]
    structured_metadata: Vec<PbPair>,
    #[prost(message, repeated, tag = "4")]
    parsed: Vec<PbPair>,
}

#[derive(Clone, PartialEq, Message)]
struct PbPair {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, Message)]
struct PbTimestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// One entry as Loki stored it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Got {
    pub nanos: i128,
    pub line: String,
    pub metadata: Vec<(String, String)>,
}

/// One stream as Loki read it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct GotStream {
    pub labels: BTreeMap<String, String>,
    pub entries: Vec<Got>,
}

/// One push as Loki read it.
#[derive(Debug, Clone)]
pub(super) struct Pushed {
    pub path: String,
    pub tenant: Option<String>,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub authorization: Option<String>,
    pub streams: Vec<GotStream>,
}

impl Pushed {
    pub(super) fn lines(&self) -> Vec<&str> {
        self.streams
            .iter()
            .flat_map(|s| s.entries.iter().map(|e| e.line.as_str()))
            .collect()
    }
}

type Answer = Arc<dyn Fn(&Pushed) -> Response + Send + Sync>;

/// The fake: what it received, and how it answers.
#[derive(Clone)]
pub(super) struct FakeLoki {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Pushed>>>,
}

impl FakeLoki {
    /// A fake answering 204 to everything.
    pub(super) async fn start() -> Self {
        Self::answering(|_| StatusCode::NO_CONTENT.into_response()).await
    }

    /// A fake answering with `answer`, which sees the decoded push.
    pub(super) async fn answering(
        answer: impl Fn(&Pushed) -> Response + Send + Sync + 'static,
    ) -> Self {
        let seen: Arc<Mutex<Vec<Pushed>>> = Arc::default();
        let state = (seen.clone(), Arc::new(answer) as Answer);
        let router = Router::new().fallback(receive).with_state(state);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { addr, seen }
    }

    pub(super) fn url(&self) -> String {
        format!("http://{}/loki/api/v1/push", self.addr)
    }

    pub(super) fn pushes(&self) -> Vec<Pushed> {
        self.seen.lock().clone()
    }
}

async fn receive(
    State((seen, answer)): State<(Arc<Mutex<Vec<Pushed>>>, Answer)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header").to_owned())
    };
    let content_type = header("content-type");
    let content_encoding = header("content-encoding");
    let streams = match content_type.as_deref() {
        Some("application/x-protobuf") => {
            assert_eq!(
                content_encoding, None,
                "protobuf pushes carry no Content-Encoding"
            );
            decode_protobuf(&body)
        }
        Some("application/json") => {
            let mut raw = Vec::new();
            match content_encoding.as_deref() {
                Some("gzip") => {
                    flate2::read::GzDecoder::new(&body[..])
                        .read_to_end(&mut raw)
                        .expect("gzip");
                }
                None => raw.extend_from_slice(&body),
                Some(other) => panic!("unexpected Content-Encoding {other}"),
            }
            decode_json(&raw)
        }
        other => panic!("unexpected Content-Type {other:?}"),
    };
    let pushed = Pushed {
        path: parts.uri.path().to_owned(),
        tenant: header("x-scope-orgid"),
        content_type,
        content_encoding,
        authorization: header("authorization"),
        streams,
    };
    let response = answer(&pushed);
    seen.lock().push(pushed);
    response
}

fn decode_protobuf(body: &[u8]) -> Vec<GotStream> {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .expect("snappy block format");
    let push = Push::decode(&raw[..]).expect("logproto.PushRequest");
    push.streams
        .into_iter()
        .map(|s| {
            assert_eq!(s.hash, 0, "clients leave hash unset");
            GotStream {
                labels: parse_selector(&s.labels),
                entries: s
                    .entries
                    .into_iter()
                    .map(|e| {
                        assert!(e.parsed.is_empty(), "parsed is Loki's own field");
                        let ts = e.timestamp.expect("timestamp is required");
                        Got {
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

fn decode_json(raw: &[u8]) -> Vec<GotStream> {
    let v: serde_json::Value = serde_json::from_slice(raw).expect("JSON push");
    let strings = |m: &serde_json::Value| -> Vec<(String, String)> {
        m.as_object()
            .expect("object")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_owned()))
            .collect()
    };
    v["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| GotStream {
            labels: strings(&s["stream"]).into_iter().collect(),
            entries: s["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|e| {
                    let e = e.as_array().expect("[ts, line, metadata?]");
                    assert!(e.len() == 2 || e.len() == 3, "{e:?}");
                    Got {
                        nanos: e[0].as_str().expect("ts string").parse().expect("ns"),
                        line: e[1].as_str().expect("line").to_owned(),
                        metadata: e.get(2).map(strings).unwrap_or_default(),
                    }
                })
                .collect(),
        })
        .collect()
}

/// Parses `{a="x", b="y\"z"}` as Loki's label parser does (LogQL string escapes).
pub(super) fn parse_selector(selector: &str) -> BTreeMap<String, String> {
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
        assert!(
            crate::loki::is_valid_name(&name),
            "label name {name:?} in {selector}"
        );
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
