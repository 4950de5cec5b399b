//! Helpers for tests of components and receivers: an exporter that collects what it is given,
//! one that fails on demand, and a processor with a fixed outcome; [`realistic`] builds batches
//! shaped like a real service's, for benchmarks.
//!
//! Built for this crate's tests and behind the `test-util` feature, which the workspace's crates
//! turn on for their tests and benchmarks only (as a dev-dependency), so no release build holds
//! them.

pub mod realistic;

use std::sync::Arc;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::otlp::common::v1::{AnyValue, KeyValue, any_value};
use crate::pipeline::{NamedExporter, NamedProcessor};
use crate::{
    Batch, Bundle, ExportError, Exporter, Outcome, Pipeline, Processor, Router, Sent, SignalKind,
};

/// Keeps every batch it is given; tests read them back.
#[derive(Default)]
pub struct CollectingExporter {
    batches: Mutex<Vec<Arc<Batch>>>,
    arrived: Notify,
}

impl CollectingExporter {
    /// A new, empty collector.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The batches received so far.
    pub fn batches(&self) -> Vec<Arc<Batch>> {
        self.batches.lock().clone()
    }

    /// Waits until at least `n` batches have arrived (no sleeping: woken by each export).
    pub async fn wait_for(&self, n: usize) -> Vec<Arc<Batch>> {
        loop {
            let notified = self.arrived.notified();
            {
                let b = self.batches.lock();
                if b.len() >= n {
                    return b.clone();
                }
            }
            notified.await;
        }
    }
}

impl Exporter for CollectingExporter {
    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        self.batches.lock().extend(bundle.parts().iter().cloned());
        self.arrived.notify_waiters();
        Box::pin(async { Ok(Sent::all()) })
    }
}

/// Fails every export with a retryable error.
pub struct FailingExporter;

impl Exporter for FailingExporter {
    fn export(&self, _bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        Box::pin(async { Err(ExportError::retryable("backend down")) })
    }
}

/// Returns the same outcome for every batch.
pub struct FixedProcessor(pub Outcome);

impl Processor for FixedProcessor {
    fn process(&self, _batch: &mut Batch) -> Outcome {
        self.0.clone()
    }
}

/// A router with one pipeline per signal, each running `processors` then exporting to `exporter`.
pub fn router_to(exporter: Arc<dyn Exporter>, processors: Vec<Arc<dyn Processor>>) -> Router {
    let mut router = Router::default();
    for signal in SignalKind::ALL {
        router.add(Arc::new(Pipeline::new(
            signal.as_str(),
            signal,
            processors
                .iter()
                .enumerate()
                .map(|(i, p)| NamedProcessor {
                    id: Arc::from(format!("test/{i}")),
                    processor: Arc::clone(p),
                })
                .collect(),
            vec![NamedExporter::direct("test", Arc::clone(&exporter))],
        )));
    }
    router
}

/// A string attribute `key` = `value`.
pub fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}
