//! `weir loadgen`'s connections, opened by hand with hyper so that `--connections` is exact:
//! h2 for gRPC (requests multiplexed), HTTP/1.1 for OTLP/HTTP (one request at a time per
//! connection), TLS with the system's roots for `https://`. A connection that breaks is opened
//! again by the next request that uses it.
//!
//! How it fails: [`Connector::connect`] and [`Connection::send`] return a [`ClientError`]
//! naming the step (connect, TLS, HTTP); the caller counts it as a `transport` error.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::args::Target;

/// A step of sending that failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// TCP connect failed.
    #[error("connect to {addr}: {source}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// TLS setup or handshake failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// The HTTP exchange failed.
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    /// The request URI could not be built.
    #[error("request URI: {0}")]
    Uri(#[from] http::Error),
}

/// The answer to one request, read in full.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Trailers (gRPC's status is there).
    pub trailers: Option<HeaderMap>,
    /// The body.
    pub body: Bytes,
}

/// Opens connections to one target.
pub struct Connector {
    target: Target,
    h2: bool,
    uri: Uri,
    tls: Option<TlsConnector>,
}

enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    fn is_closed(&self) -> bool {
        match self {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s) => s.is_closed(),
        }
    }
}

impl Connector {
    /// A connector for `target`, speaking h2 when `h2`, to request path `path`.
    pub fn new(target: Target, h2: bool, path: &str) -> Result<Self, ClientError> {
        // h2 needs the scheme and authority; HTTP/1.1 sends the path and a Host header.
        let uri = if h2 {
            let scheme = if target.tls { "https" } else { "http" };
            Uri::builder()
                .scheme(scheme)
                .authority(target.authority())
                .path_and_query(path)
                .build()?
        } else {
            Uri::builder().path_and_query(path).build()?
        };
        let tls = if target.tls {
            use rustls_platform_verifier::ConfigVerifierExt;
            let mut cfg = rustls::ClientConfig::with_platform_verifier()
                .map_err(|e| ClientError::Tls(e.to_string()))?;
            cfg.alpn_protocols = vec![if h2 {
                b"h2".to_vec()
            } else {
                b"http/1.1".to_vec()
            }];
            Some(TlsConnector::from(Arc::new(cfg)))
        } else {
            None
        };
        Ok(Self {
            target,
            h2,
            uri,
            tls,
        })
    }

    /// A POST of `body` with `headers` (which carry `Host` over HTTP/1.1).
    pub fn request(&self, body: Bytes, headers: &HeaderMap) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = headers.clone();
        req
    }

    async fn connect(&self) -> Result<Sender, ClientError> {
        let addr = self.target.authority();
        let tcp = TcpStream::connect((self.target.host.as_str(), self.target.port))
            .await
            .map_err(|source| ClientError::Connect {
                addr: addr.clone(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => self.handshake(TokioIo::new(tcp)).await,
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(self.target.host.clone())
                    .map_err(|e| ClientError::Tls(e.to_string()))?;
                let stream = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| ClientError::Tls(e.to_string()))?;
                self.handshake(TokioIo::new(stream)).await
            }
        }
    }

    async fn handshake<IO>(&self, io: IO) -> Result<Sender, ClientError>
    where
        IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        if self.h2 {
            let (sender, conn) = http2::handshake(TokioExecutor::new(), io).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Sender::H2(sender))
        } else {
            let (sender, conn) = http1::handshake(io).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Sender::H1(sender))
        }
    }
}

/// One TCP connection, shared by the workers assigned to it.
pub struct Connection {
    connector: Arc<Connector>,
    sender: tokio::sync::Mutex<Option<Sender>>,
}

impl Connection {
    /// Opens a connection now.
    pub async fn open(connector: Arc<Connector>) -> Result<Self, ClientError> {
        let sender = connector.connect().await?;
        Ok(Self {
            connector,
            sender: tokio::sync::Mutex::new(Some(sender)),
        })
    }

    /// The connector this connection was opened by.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// Sends `req` and reads the whole answer. Over HTTP/1.1 the connection is held until the
    /// answer's end; over h2 only while a stream is opened.
    pub async fn send(&self, req: Request<Full<Bytes>>) -> Result<Answer, ClientError> {
        let mut guard = self.sender.lock().await;
        let sender = match &mut *guard {
            Some(s) if !s.is_closed() => s,
            slot => slot.insert(self.connector.connect().await?),
        };
        match sender {
            Sender::H2(s) => {
                let mut s = s.clone();
                drop(guard);
                s.ready().await?;
                read(s.send_request(req).await?).await
            }
            Sender::H1(s) => {
                let result = match s.ready().await {
                    Ok(()) => match s.send_request(req).await {
                        Ok(resp) => read(resp).await,
                        Err(e) => Err(e.into()),
                    },
                    Err(e) => Err(e.into()),
                };
                if result.is_err() {
                    *guard = None;
                }
                result
            }
        }
    }
}

async fn read(resp: http::Response<hyper::body::Incoming>) -> Result<Answer, ClientError> {
    let (parts, body) = resp.into_parts();
    let collected = body.collect().await?;
    let trailers = collected.trailers().cloned();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        trailers,
        body: collected.to_bytes(),
    })
}
