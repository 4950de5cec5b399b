//! The `debug` exporter: writes every batch it receives to stdout or a file, so a user can see
//! what arrives (after the pipeline's processors ran), like the OpenTelemetry Collector's
//! `debug` exporter.
//!
//! Output is text or JSON lines (see [`DebugConfig`]); one batch is written in one piece and
//! flushed before the export completes, so whoever reads the file after the client got its
//! answer sees the batch, and batches from concurrent requests never interleave.
//!
//! How it fails:
//! - [`DebugExporter::new`] returns a [`BuildError`] naming the path and the OS error when the
//!   file cannot be opened (missing directory, no permission).
//! - A failed write or flush (disk full, closed stdout) is [`ExportError::Retryable`]; part of
//!   the batch may already have been written.
//! - A batch that cannot be encoded as JSON is [`ExportError::Permanent`] (serde_json does not
//!   fail on OTLP structs, so this is not expected).

mod config;
mod format;
#[cfg(test)]
mod tests;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::sync::Arc;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use weir_pipeline::{BuildError, Bundle, ExportError, Exporter, Sent};

pub use config::{DebugConfig, OutputFormat, SPEC, UNSUPPORTED_COLLECTOR_KEYS, Verbosity};

/// Where the output goes.
enum Sink {
    Stdout(io::Stdout),
    File(File),
}

impl Sink {
    fn write_batch(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => {
                let mut out = out.lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Sink::File(file) => {
                file.write_all(bytes)?;
                file.flush()
            }
        }
    }
}

/// Writes each batch to stdout or a file as text or JSON lines; see the [module docs](self).
pub struct DebugExporter {
    id: Arc<str>,
    /// `stdout` or the file's path, for error messages.
    target: String,
    verbosity: Verbosity,
    format: OutputFormat,
    sink: Mutex<Sink>,
}

impl DebugExporter {
    /// Builds the exporter `id` (its component id, for messages) from `cfg`, opening (and
    /// creating if missing) the output file in append mode when `cfg.path` is set.
    pub fn new(id: &str, cfg: &DebugConfig) -> Result<Self, BuildError> {
        let (sink, target) = match &cfg.path {
            None => (Sink::Stdout(io::stdout()), "stdout".to_owned()),
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| {
                        let what = format!("cannot open {}: {source}", path.display());
                        BuildError::at(id, "path", io::Error::new(source.kind(), what))
                    })?;
                (Sink::File(file), path.display().to_string())
            }
        };
        Ok(Self {
            id: Arc::from(id),
            target,
            verbosity: cfg.verbosity,
            format: cfg.format,
            sink: Mutex::new(sink),
        })
    }

    /// Encodes and writes the batches of a bundle (one line or block each), synchronously.
    fn write(&self, bundle: &Bundle) -> Result<(), ExportError> {
        let mut buf = Vec::with_capacity(256);
        for batch in bundle.parts() {
            format::render(batch, self.verbosity, self.format, &mut buf).map_err(|e| {
                ExportError::permanent(format!("debug exporter {}: encoding: {e}", self.id))
            })?;
        }
        self.sink.lock().write_batch(&buf).map_err(|e| {
            ExportError::retryable(format!(
                "debug exporter {}: writing to {}: {e}",
                self.id, self.target
            ))
        })
    }
}

impl fmt::Debug for DebugExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DebugExporter")
            .field("id", &self.id)
            .field("target", &self.target)
            .field("verbosity", &self.verbosity)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Exporter for DebugExporter {
    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        let result = self.write(&bundle).map(|()| Sent::all());
        Box::pin(async move { result })
    }
}
