//! What every listener of weir shares, whoever serves on it (the OTLP receivers, the admin
//! listener, the listeners beside it): where an endpoint binds ([`endpoint`]), the server TLS
//! files ([`tls`]), binding with its one `listening` log line ([`open`]), serving an axum
//! router until shutdown ([`serve`]), and the middleware that counts HTTP requests
//! ([`http_metrics`]).
//!
//! How it fails: a TLS file that cannot be read or used, or an endpoint that cannot be bound,
//! is [`ListenError::Bind`] naming the listener and endpoint (the TLS files are read first, so a
//! bad one leaves no port bound); a server stopping on an error is [`ListenError::Serve`].

pub mod endpoint;
pub mod http_metrics;
pub mod tls;

use std::net::SocketAddr;

use axum::Router;
use futures::future::BoxFuture;
use tokio::net::TcpListener;

use tls::{ServerTls, TlsConfig};

/// A listener that is bound and ready to serve.
pub struct Bound {
    /// The address actually bound (port 0 resolved).
    pub local_addr: SocketAddr,
    /// Serves until the shutdown future given when binding resolves.
    pub serve: BoxFuture<'static, Result<(), ListenError>>,
}

/// Why a listener could not start or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The endpoint could not be bound, or its TLS files not used.
    #[error("{listener}: cannot listen on {endpoint}: {source}")]
    Bind {
        /// `otlp/grpc`, `otlp/http`, `admin`, an extension id.
        listener: String,
        /// The configured endpoint.
        endpoint: String,
        /// The OS error, or what is wrong with a TLS file.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("{listener}: server failed: {message}")]
    Serve {
        /// `otlp/grpc`, `otlp/http`, `admin`, an extension id.
        listener: String,
        /// What failed.
        message: String,
    },
}

impl ListenError {
    /// [`ListenError::Bind`] for the listener `listener` at `endpoint`.
    pub fn bind(listener: &str, endpoint: &str, source: std::io::Error) -> Self {
        Self::Bind {
            listener: listener.to_owned(),
            endpoint: endpoint.to_owned(),
            source,
        }
    }
}

/// What to bind, and what the `listening` line says about it.
pub struct Spec<'a> {
    /// The listener's name in logs and errors (`otlp/http`, `admin`).
    pub name: &'a str,
    /// The configured endpoint.
    pub endpoint: &'a str,
    /// The receiver the listener serves, for the receivers' listeners (their line also says
    /// whether they serve TLS and verify clients' certificates).
    pub receiver: Option<&'a str>,
    /// The server TLS files, when the listener serves TLS.
    pub tls: Option<&'a TlsConfig>,
}

/// A bound socket, with its TLS settings loaded.
pub struct Open {
    /// The bound socket.
    pub tcp: TcpListener,
    /// Its address (port 0 resolved).
    pub local_addr: SocketAddr,
    /// The loaded TLS settings, when configured.
    pub tls: Option<ServerTls>,
}

/// Loads the TLS files of `spec` (first: a bad one must not leave a port bound), binds its
/// endpoint and logs one `listening` line.
pub async fn open(spec: Spec<'_>) -> Result<Open, ListenError> {
    let bind_error = |source| ListenError::bind(spec.name, spec.endpoint, source);
    let tls = match spec.tls {
        Some(t) => Some(
            ServerTls::load(t)
                .await
                .map_err(|m| bind_error(std::io::Error::other(m)))?,
        ),
        None => None,
    };
    let tcp = TcpListener::bind(&*endpoint::bind_address(spec.endpoint))
        .await
        .map_err(bind_error)?;
    let local_addr = tcp.local_addr().map_err(bind_error)?;
    let said = |fact: bool| spec.receiver.map(|_| fact);
    tracing::info!(
        listener = %spec.name,
        receiver = spec.receiver,
        address = %local_addr,
        tls = said(tls.is_some()),
        client_certs = said(tls.as_ref().is_some_and(ServerTls::verifies_clients)),
        "listening"
    );
    Ok(Open {
        tcp,
        local_addr,
        tls,
    })
}

/// [`open`] for a listener that serves neither a receiver nor TLS (the admin listener and those
/// beside it).
pub async fn open_plain(name: &str, endpoint: &str) -> Result<Open, ListenError> {
    open(Spec {
        name,
        endpoint,
        receiver: None,
        tls: None,
    })
    .await
}

/// Serves `router` on `open` (the listener `name`) with axum until `shutdown` resolves.
pub fn serve(name: String, open: Open, router: Router, shutdown: BoxFuture<'static, ()>) -> Bound {
    let Open {
        tcp, local_addr, ..
    } = open;
    let serve = async move {
        axum::serve(tcp, router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| ListenError::Serve {
                listener: name,
                message: e.to_string(),
            })
    };
    Bound {
        local_addr,
        serve: Box::pin(serve),
    }
}
