//! The `remote_write` exporter (being written: accepts and discards for now).

mod config;

use std::sync::Arc;

use futures::future::BoxFuture;
use weir_pipeline::{Bundle, ExportError, Exporter};

pub use config::{RemoteWriteConfig, UNSUPPORTED_COLLECTOR_KEYS};

/// Why the exporter could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RemoteWriteError {
    /// A setting is invalid.
    #[error("exporter {id}: {message}")]
    Config {
        /// The exporter id.
        id: String,
        /// What is wrong.
        message: String,
    },
}

/// The `remote_write` exporter.
pub struct RemoteWriteExporter {
    _id: String,
}

impl RemoteWriteExporter {
    /// Builds the exporter `id` from `cfg`.
    pub fn new(id: &str, cfg: &RemoteWriteConfig) -> Result<Self, RemoteWriteError> {
        let _ = cfg;
        Ok(Self { _id: id.to_owned() })
    }
}

impl Exporter for RemoteWriteExporter {
    fn export(&self, _bundle: Arc<Bundle>) -> BoxFuture<'static, Result<(), ExportError>> {
        Box::pin(async { Ok(()) })
    }
}
