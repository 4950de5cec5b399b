//! The accept loop and connection driver both OTLP listeners share: plain TCP or TLS, HTTP/1.1
//! and HTTP/2 (detected from the first bytes), served by hyper with the listener's limits.
//!
//! What it bounds, per connection:
//! - admission: a connection past the listener's cap or the shared budget ([`ConnectionGate`])
//!   is closed on arrival, counted in `weir_receiver_connections_refused_total` and logged at
//!   most once per [`REFUSAL_LOG_INTERVAL`] (with how many since the last line);
//! - the TLS handshake and HTTP/1 headers: `read_header_timeout` (hyper's own timer);
//! - a write that stays blocked for `write_timeout` ends the connection ([`StallIo`]);
//! - a connection with no request in flight for `idle_timeout` is closed gracefully (also a
//!   client that connects and never sends a complete request);
//! - HTTP/2: `max_concurrent_streams`, keepalive pings, and `max_connection_age`.
//!
//! At shutdown the listener closes, every connection is asked to close gracefully, and one
//! with nothing in flight is dropped after [`CLOSE_GRACE`] even if the client ignores the
//! request (a client that never sent the HTTP/2 preface holds nothing up). Nothing here fails
//! the server: a failing connection ends alone (logged at debug); accept errors other than a
//! single connection's pause the loop for a second, as axum's server does.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::{Service, ServiceExt};
use weir_pipeline::Metrics;
use weir_pipeline::metrics::catalogue;

use super::ReceiverShared;
use super::limits::{Admission, ConnectionGate};
use super::stall::StallIo;
use crate::listen::tls::{PeerSubject, TlsConfig, common_name};
use crate::listen::{self, ListenError};

/// How often, at most, refused connections are logged.
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);
/// How long a connection asked to close (shutdown, idle) with nothing in flight may take to
/// close by itself before it is dropped.
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The limits of one listener's connections.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// TLS handshake and HTTP/1 request headers.
    pub read_header_timeout: Duration,
    /// No request in flight for this long: closed.
    pub idle_timeout: Duration,
    /// A write blocked this long: closed.
    pub write_timeout: Duration,
    /// HTTP/2 streams per connection.
    pub max_concurrent_streams: Option<u32>,
    /// HTTP/2 keepalive ping interval and the time to wait for its answer.
    pub keepalive: Option<(Duration, Duration)>,
    /// Connection age after which it is asked to close, and the grace after that.
    pub max_age: Option<(Duration, Option<Duration>)>,
}

/// One listener, ready to serve.
pub struct Listener {
    /// `otlp/http`, `otlp/grpc`.
    pub name: &'static str,
    /// The bound socket.
    pub tcp: TcpListener,
    /// TLS, when configured.
    pub tls: Option<TlsAcceptor>,
    /// Per-connection limits.
    pub limits: ConnLimits,
    /// Admission.
    pub gate: ConnectionGate,
    /// Where refusals, timeouts and open connections are counted.
    pub metrics: Metrics,
}

/// Where a receiver's listener is, and how it is bound (see [`Listener::open`]): the keys the
/// gRPC and HTTP protocols share.
pub trait Place {
    /// The configured endpoint.
    fn endpoint(&self) -> &str;
    /// The server TLS files, when configured.
    fn tls(&self) -> Option<&TlsConfig>;
    /// The listener's own `max_connections`, within the process-wide budget.
    fn max_connections(&self) -> Option<u32>;
}

impl Listener {
    /// Binds the receiver's listener `name` (`otlp/http`, `otlp/grpc`) at `place` (its TLS
    /// files first, then the endpoint, then its `listening` line), with `limits`; returns it
    /// with the address bound.
    pub async fn open(
        name: &'static str,
        place: &impl Place,
        shared: &ReceiverShared,
        limits: ConnLimits,
    ) -> Result<(Self, SocketAddr), ListenError> {
        let open = listen::open(listen::Spec {
            name,
            endpoint: place.endpoint(),
            receiver: Some(&shared.id),
            tls: place.tls(),
        })
        .await?;
        let listener = Self {
            name,
            tcp: open.tcp,
            tls: open.tls.map(|t| t.acceptor()),
            limits,
            gate: shared.connections.gate(place.max_connections()),
            metrics: shared.metrics.clone(),
        };
        Ok((listener, open.local_addr))
    }
}

/// Serves `service` on `listener` until `shutdown` resolves, then closes the connections as
/// the module says and returns when the last one is gone.
pub async fn serve<S, B>(listener: Listener, service: S, shutdown: BoxFuture<'static, ()>)
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Listener {
        name,
        tcp,
        tls,
        limits,
        gate,
        metrics,
    } = listener;
    let builder = Arc::new(builder(&limits));
    let limits = Arc::new(limits);
    let (closing, closing_rx) = watch::channel(false);
    let mut refusals = RefusalLog::default();
    let mut shutdown = shutdown;
    loop {
        let (stream, remote) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = tcp.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    accept_error(name, e).await;
                    continue;
                }
            },
        };
        let Some(admission) = gate.admit() else {
            drop(stream);
            metrics
                .counter(catalogue::CONNECTIONS_REFUSED, &[name])
                .add(1);
            refusals.refused(name, remote);
            continue;
        };
        // Small answers must not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let conn = Conn {
            name,
            remote,
            limits: Arc::clone(&limits),
            builder: Arc::clone(&builder),
            metrics: metrics.clone(),
            closing: closing_rx.clone(),
            _admission: admission,
        };
        let (tls, service) = (tls.clone(), service.clone());
        tokio::spawn(conn.run(stream, tls, service));
    }
    drop(tcp);
    drop(closing_rx);
    let _ = closing.send(true);
    // Every connection holds a receiver; they are all gone when the last one closed.
    closing.closed().await;
}

fn builder(limits: &ConnLimits) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.read_header_timeout);
    let mut h2 = b.http2();
    h2.timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams);
    if let Some((interval, timeout)) = limits.keepalive {
        h2.keep_alive_interval(interval).keep_alive_timeout(timeout);
    }
    b
}

/// Logs refused connections at most once per [`REFUSAL_LOG_INTERVAL`].
#[derive(Default)]
struct RefusalLog {
    last: Option<Instant>,
    since: u64,
}

impl RefusalLog {
    fn refused(&mut self, name: &str, remote: SocketAddr) {
        self.since += 1;
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < REFUSAL_LOG_INTERVAL)
        {
            return;
        }
        tracing::warn!(
            listener = name,
            remote = %remote,
            refused = self.since,
            "connection refused: max_connections or the connection budget reached; raise the \
             file descriptor limit or max_connections, or add replicas"
        );
        self.last = Some(now);
        self.since = 0;
    }
}

/// One accepted connection and what it needs to serve.
struct Conn {
    name: &'static str,
    remote: SocketAddr,
    limits: Arc<ConnLimits>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    metrics: Metrics,
    closing: watch::Receiver<bool>,
    _admission: Admission,
}

impl Conn {
    async fn run<S, B>(self, tcp: TcpStream, tls: Option<TlsAcceptor>, service: S)
    where
        S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let open = self
            .metrics
            .counter(catalogue::OPEN_CONNECTIONS, &[self.name]);
        open.add(1);
        match tls {
            None => self.serve(tcp, None, service).await,
            Some(acceptor) => {
                let mut closing = self.closing.clone();
                let handshake =
                    tokio::time::timeout(self.limits.read_header_timeout, acceptor.accept(tcp));
                let tls = tokio::select! {
                    done = handshake => done,
                    _ = closing.wait_for(|c| *c) => {
                        open.sub(1);
                        return;
                    }
                };
                match tls {
                    Ok(Ok(tls)) => {
                        let peer = tls
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|chain| chain.first())
                            .and_then(|leaf| common_name(leaf))
                            .map(|cn| PeerSubject(cn.into()));
                        self.serve(tls, peer, service).await;
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(listener = self.name, remote = %self.remote, error = %e, "TLS handshake failed");
                    }
                    Err(_) => {
                        self.timed_out("header");
                        tracing::debug!(listener = self.name, remote = %self.remote, "TLS handshake timed out");
                    }
                }
            }
        }
        open.sub(1);
    }

    fn timed_out(&self, phase: &str) {
        self.metrics
            .counter(catalogue::RECEIVER_TIMEOUTS, &[self.name, phase])
            .add(1);
    }

    async fn serve<IO, S, B>(&self, io: IO, peer: Option<PeerSubject>, service: S)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let activity = Arc::new(Activity::new());
        let tracked = Arc::clone(&activity);
        let remote = self.remote;
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            if let Some(peer) = &peer {
                request.extensions_mut().insert(peer.clone());
            }
            // The peer's address, for handlers that key on the client (the frontend log
            // intake's per-IP limit).
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(remote));
            let busy = tracked.begin();
            let answer = service.clone().oneshot(request);
            async move {
                let answer = answer.await;
                drop(busy);
                answer
            }
        });
        let (io, stalled) = StallIo::new(io, self.limits.write_timeout);
        let conn = self.builder.serve_connection(TokioIo::new(io), service);
        let mut conn = std::pin::pin!(conn);
        let mut closing_rx = self.closing.clone();
        let started = Instant::now();
        // When the connection was asked to close (idle, age, shutdown).
        let mut closing: Option<Instant> = None;
        let age = self.limits.max_age;
        loop {
            let idle = activity.idle_since();
            let deadline = match (closing, idle) {
                (Some(asked), Some(idle)) => Some(asked.max(idle) + CLOSE_GRACE),
                (None, Some(idle)) => Some(idle + self.limits.idle_timeout),
                (_, None) => None,
            };
            let aged = match (closing, age) {
                (None, Some((max, _))) => Some(started + max),
                (Some(asked), Some((_, Some(grace)))) => Some(asked + grace),
                _ => None,
            };
            tokio::select! {
                done = conn.as_mut() => {
                    if let Err(e) = done {
                        self.failed(&*e, stalled.fired());
                    }
                    return;
                }
                _ = closing_rx.wait_for(|c| *c), if closing.is_none() => {
                    conn.as_mut().graceful_shutdown();
                    closing = Some(Instant::now());
                }
                () = activity.changed() => {}
                () = sleep_until(deadline) => {
                    if closing.is_some() {
                        return;
                    }
                    tracing::debug!(listener = self.name, remote = %self.remote, "idle connection closed");
                    conn.as_mut().graceful_shutdown();
                    closing = Some(Instant::now());
                }
                () = sleep_until(aged) => {
                    if closing.is_some() {
                        return; // max_connection_age_grace is over
                    }
                    conn.as_mut().graceful_shutdown();
                    closing = Some(Instant::now());
                }
            }
        }
    }

    fn failed(&self, e: &(dyn std::error::Error + 'static), stalled: bool) {
        let header_timeout = std::iter::successors(Some(e), |e| e.source())
            .filter_map(|e| e.downcast_ref::<hyper::Error>())
            .any(hyper::Error::is_timeout);
        if stalled {
            self.timed_out("write");
        } else if header_timeout {
            self.timed_out("header");
        }
        tracing::debug!(listener = self.name, remote = %self.remote, error = %e, "connection failed");
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Requests in flight on one connection, and since when it has had none.
struct Activity {
    state: Mutex<(usize, Instant)>,
    changed: Notify,
}

/// One request in flight; its end is noted when dropped.
struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new((0, Instant::now())),
            changed: Notify::new(),
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.state.lock().0 += 1;
        self.changed.notify_one();
        Busy(Arc::clone(self))
    }

    /// When the last request ended, or `None` while one is in flight.
    fn idle_since(&self) -> Option<Instant> {
        let (n, since) = *self.state.lock();
        (n == 0).then_some(since)
    }

    async fn changed(&self) {
        self.changed.notified().await;
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut state = self.0.state.lock();
        state.0 = state.0.saturating_sub(1);
        if state.0 == 0 {
            state.1 = Instant::now();
        }
        drop(state);
        self.0.changed.notify_one();
    }
}

/// Accept errors that concern one connection are skipped; others (out of file descriptors)
/// pause accepting for a second rather than spinning.
async fn accept_error(name: &str, e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(listener = name, error = %e, "accept failed; retrying in 1s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
