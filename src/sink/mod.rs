//! `weir sink`: a counting OTLP endpoint for benchmarks and tests. It decodes every export
//! (gRPC and HTTP, protobuf and JSON, gzip), counts records per signal and tenant, checks for
//! the secrets `weir loadgen` plants, and answers success at once. `GET /counts` on the HTTP
//! address shows the counts, `POST /reset` zeroes them; SIGTERM or SIGINT prints them on stdout
//! and exits 0.
//!
//! `bytes` in the counts is the HTTP bodies as received (compressed when they were) plus the
//! protobuf size of the gRPC messages (after tonic undid any compression). The tenant of a
//! resource's records is the `X-Scope-OrgID` header, else `service.namespace`, else `unknown`.
//!
//! How it fails: an address that cannot be bound, or a ready file that cannot be written, ends
//! the command with exit 1 and a message on stderr.

mod canary;
pub mod count;
mod grpc;
mod http;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use tokio::net::TcpListener;
use tokio::sync::watch;

use count::Counts;

/// The largest request accepted, in bytes (after decompression).
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// `weir sink`'s command line.
#[derive(Debug, Clone, Args)]
pub struct SinkArgs {
    /// OTLP/gRPC listen address (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:14317")]
    pub grpc: SocketAddr,
    /// OTLP/HTTP listen address, also serving `/counts` and `/reset`.
    #[arg(long, default_value = "127.0.0.1:14318")]
    pub http: SocketAddr,
    /// Written with the bound addresses (the line printed on stdout) once listening.
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
}

/// Why the sink could not run.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A listener could not be bound or failed.
    #[error("{what} {addr}: {source}")]
    Listen {
        /// `grpc` or `http`.
        what: &'static str,
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("grpc server: {0}")]
    Grpc(#[from] tonic::transport::Error),
    /// The ready file could not be written.
    #[error("ready file {path}: {source}")]
    ReadyFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Runs the sink until SIGTERM or SIGINT.
pub fn run(args: &SinkArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("weir sink: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(counts) => {
            println!("{counts}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("weir sink: {e}");
            ExitCode::from(1)
        }
    }
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, SinkError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SinkError::Listen {
            what,
            addr: addr.to_string(),
            source,
        })
}

/// Binds, announces, serves until a stop signal; returns the final counts.
async fn serve(args: &SinkArgs) -> Result<serde_json::Value, SinkError> {
    let stop = crate::signals::stop_signal();
    let grpc = bind("grpc", args.grpc).await?;
    let http = bind("http", args.http).await?;
    let local = |l: &TcpListener, what| {
        l.local_addr().map_err(|source| SinkError::Listen {
            what,
            addr: String::new(),
            source,
        })
    };
    let line = format!(
        "sink listening grpc={} http={}",
        local(&grpc, "grpc")?,
        local(&http, "http")?
    );
    let counts = Arc::new(Counts::default());
    let (tx, rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut grpc_task = tokio::spawn(grpc::serve(grpc, counts.clone(), stopped(rx.clone())));
    let mut http_task = tokio::spawn(http::serve(http, counts.clone(), stopped(rx)));
    println!("{line}");
    if let Some(path) = &args.ready_file {
        write_ready(path, &line).map_err(|source| SinkError::ReadyFile {
            path: path.clone(),
            source,
        })?;
    }
    let failed = tokio::select! {
        _ = stop => None,
        r = &mut grpc_task => Some(r.map_or(Ok(()), |r| r.map_err(SinkError::from))),
        r = &mut http_task => Some(r.map_or(Ok(()), |r| r.map_err(|source| SinkError::Listen {
            what: "http",
            addr: args.http.to_string(),
            source,
        }))),
    };
    let _ = tx.send(true);
    if let Some(Err(e)) = failed {
        return Err(e);
    }
    Ok(counts.json())
}

/// Writes `line` to `path` through a temporary file, so a reader never sees half of it.
fn write_ready(path: &Path, line: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{line}\n"))?;
    std::fs::rename(&tmp, path)
}
