//! A stand-in backend for weir's HTTP exporters: an HTTP server on a loopback port that keeps
//! every request as it came over the wire (path, query, headers, raw body) and answers each
//! with the status (and, if it likes, the body) its `answer` function picks. The tests decode
//! the bodies themselves, on the test thread, so a body the test cannot read fails the test
//! instead of becoming an answer.
//!
//! The server runs on its own thread and runtime, so it keeps answering while a test blocks
//! (on weir's exit, say), and stops when the [`Capture`] is dropped.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The URL path, without the query.
    pub path: String,
    /// The URL query, without the `?` (empty when there is none).
    pub query: String,
    pub headers: HeaderMap,
    /// The body exactly as sent (still compressed, if it was).
    pub body: Vec<u8>,
    /// The status it was answered with.
    pub status: u16,
}

impl Request {
    /// The value of header `name`, when present and text.
    pub fn header(&self, name: &str) -> Option<String> {
        let value = self.headers.get(name)?;
        Some(value.to_str().ok()?.to_owned())
    }
}

/// Picks the status and body a request is answered with.
type Answer = dyn Fn(&Request) -> (u16, String) + Send + Sync;

/// The running server; see the module docs.
pub struct Capture {
    /// Where it listens.
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Capture {
    /// A server that answers every request `200 OK` with an empty body (an empty OTLP export
    /// response, and success to any push or remote-write client).
    pub fn start() -> Capture {
        Self::answering(|_| 200)
    }

    /// A server that answers each request with the status `answer` picks for it.
    pub fn answering(answer: impl Fn(&Request) -> u16 + Send + Sync + 'static) -> Capture {
        Self::answering_with_body(move |r| (answer(r), String::new()))
    }

    /// A server that answers each request with the status and text body `answer` picks for it
    /// (a backend's error message, say).
    pub fn answering_with_body(
        answer: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static,
    ) -> Capture {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind capture server");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("capture address");
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let kept = Arc::clone(&requests);
        let answer: Arc<Answer> = Arc::new(answer);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("capture runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
                    let (kept, answer) = (Arc::clone(&kept), Arc::clone(&answer));
                    async move { keep(req, &kept, answer.as_ref()).await }
                });
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("capture server");
            });
        });
        Capture {
            addr,
            requests,
            stop: Some(stop),
        }
    }

    /// `http://<addr>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("capture lock").clone()
    }

    /// The requests to `path`, in arrival order.
    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        let mut all = self.requests();
        all.retain(|r| r.path == path);
        all
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn keep(
    req: axum::extract::Request,
    kept: &Mutex<Vec<Request>>,
    answer: &Answer,
) -> (StatusCode, String) {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return (StatusCode::BAD_REQUEST, String::new());
    };
    let mut request = Request {
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body: body.to_vec(),
        status: 0,
    };
    let (status, text) = answer(&request);
    request.status = status;
    let status = StatusCode::from_u16(status).expect("a valid status");
    kept.lock().expect("capture lock").push(request);
    (status, text)
}
