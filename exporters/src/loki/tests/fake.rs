//! A fake Loki on 127.0.0.1: decodes every push from the wire as Loki does ([`read`]), records it
//! with its headers, and answers as the test says.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use tokio::net::TcpListener;

use crate::loki::read;

/// One entry as Loki stored it.
pub(super) use crate::loki::read::Entry as Got;
/// One stream as Loki read it.
pub(super) use crate::loki::read::Stream as GotStream;

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
    if content_type.as_deref() == Some("application/x-protobuf") {
        assert_eq!(
            content_encoding, None,
            "protobuf pushes carry no Content-Encoding"
        );
    }
    let streams = read::decode(content_type.as_deref(), content_encoding.as_deref(), &body);
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
