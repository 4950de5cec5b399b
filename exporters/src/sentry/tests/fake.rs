//! A fake Sentry on 127.0.0.1: takes `POST /api/<project>/envelope/`, checks `X-Sentry-Auth`,
//! gunzips as `Content-Encoding` says, parses the body with sentry-types' envelope parser
//! (the format Relay reads), records it, and answers as the test scripted (200 otherwise).

use std::collections::VecDeque;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use sentry_types::protocol::v7::{Envelope, EnvelopeItem, Event, Transaction};
use tokio::net::TcpListener;

/// One envelope as the fake read it.
#[derive(Debug, Clone)]
pub(super) struct Received {
    /// The project id of the path.
    pub project: String,
    /// The `sentry_key` of `X-Sentry-Auth`.
    pub key: String,
    /// `Content-Encoding`.
    pub encoding: Option<String>,
    pub envelope: Envelope,
}

impl Received {
    pub(super) fn event(&self) -> Option<&Event<'static>> {
        self.envelope.items().find_map(|i| match i {
            EnvelopeItem::Event(e) => Some(&**e),
            _ => None,
        })
    }

    pub(super) fn transaction(&self) -> Option<&Transaction<'static>> {
        self.envelope.items().find_map(|i| match i {
            EnvelopeItem::Transaction(t) => Some(&**t),
            _ => None,
        })
    }
}

/// A scripted answer: status and headers.
pub(super) type Answer = (StatusCode, Vec<(&'static str, String)>);

#[derive(Default)]
struct Shared {
    seen: Vec<Received>,
    script: VecDeque<Answer>,
}

/// The fake: what it received, and what it answers next.
#[derive(Clone)]
pub(super) struct FakeSentry {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl FakeSentry {
    pub(super) async fn start() -> Self {
        let shared: Arc<Mutex<Shared>> = Arc::default();
        let router = Router::new().fallback(receive).with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { addr, shared }
    }

    /// The DSN of project `project` with public key `key` on this fake.
    pub(super) fn dsn(&self, key: &str, project: u32) -> String {
        format!("http://{key}@{}/{project}", self.addr)
    }

    /// Answers the next requests with `answers`, in order (then 200 again).
    pub(super) fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.shared.lock().script.extend(answers);
    }

    pub(super) fn received(&self) -> Vec<Received> {
        self.shared.lock().seen.clone()
    }

    pub(super) fn events(&self) -> Vec<Event<'static>> {
        self.received()
            .iter()
            .filter_map(|r| r.event().cloned())
            .collect()
    }

    pub(super) fn transactions(&self) -> Vec<Transaction<'static>> {
        self.received()
            .iter()
            .filter_map(|r| r.transaction().cloned())
            .collect()
    }

    pub(super) fn clear(&self) {
        self.shared.lock().seen.clear();
    }
}

async fn receive(State(shared): State<Arc<Mutex<Shared>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header").to_owned())
    };
    let path = parts.uri.path().to_owned();
    let project = path
        .strip_prefix("/api/")
        .and_then(|p| p.strip_suffix("/envelope/"))
        .unwrap_or_else(|| panic!("not an envelope path: {path}"))
        .to_owned();
    assert_eq!(
        header("content-type").as_deref(),
        Some("application/x-sentry-envelope")
    );
    let auth = header("x-sentry-auth").expect("X-Sentry-Auth");
    let parsed: sentry_types::Auth = auth.parse().expect("a Sentry auth header");
    assert_eq!(parsed.version(), 7);
    assert!(
        parsed
            .client_agent()
            .is_some_and(|c| c.starts_with("weir/"))
    );
    let encoding = header("content-encoding");
    let mut raw = Vec::new();
    match encoding.as_deref() {
        Some("gzip") => {
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut raw)
                .expect("gzip");
        }
        None => raw.extend_from_slice(&body),
        Some(other) => panic!("unexpected Content-Encoding {other}"),
    }
    let envelope = Envelope::from_slice(&raw).expect("a Sentry envelope");
    let mut shared = shared.lock();
    shared.seen.push(Received {
        project,
        key: parsed.public_key().to_owned(),
        encoding,
        envelope,
    });
    let (status, headers) = shared
        .script
        .pop_front()
        .unwrap_or((StatusCode::OK, Vec::new()));
    let mut response = (status, "{}").into_response();
    for (name, value) in headers {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).expect("header value"),
        );
    }
    response
}
