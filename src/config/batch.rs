//! The Collector's `batch` processor, accepted so that existing configs run.
//!
//! weir batches inside each exporter's queue instead (queue batching, `sending_queue.batch`):
//! at load, a `batch` processor is folded into the queue of every exporter of its pipelines
//! that sets no queue batching of its own ([`fold_into_queues`]), and it does not run as a
//! step of the pipeline. Its keys are validated like any other component's. Nothing here
//! fails.

use std::time::Duration;

use serde::Deserialize;
use weir_pipeline::queue::{QueueBatchConfig, Sizer};
use weir_pipeline::spec::Spec;

use super::{ComponentId, Config, ExporterConfig, ProcessorConfig};

/// The `batch` processor kind: every signal; the Collector's per-metadata batching is not
/// implemented.
pub const SPEC: Spec = Spec {
    unsupported: &["metadata_keys", "metadata_cardinality_limit"],
    ..Spec::named("batch")
};

/// The `batch` processor's keys (the Collector's).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Records after which a batch is sent.
    #[serde(default = "default_send_batch_size")]
    pub send_batch_size: u32,
    /// Largest batch sent; 0 means no limit.
    #[serde(default)]
    pub send_batch_max_size: u32,
    /// Longest a record waits for its batch to fill (`200ms`, `1s`).
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

impl BatchConfig {
    /// `(key, message)` for each setting that cannot work: a largest batch below the size
    /// that sends one.
    pub fn problems(&self) -> Vec<(String, String)> {
        if self.send_batch_max_size != 0 && self.send_batch_max_size < self.send_batch_size {
            vec![(
                "send_batch_max_size".into(),
                "must be 0 or at least send_batch_size".into(),
            )]
        } else {
            Vec::new()
        }
    }
}

fn default_send_batch_size() -> u32 {
    8192
}

fn default_timeout() -> Duration {
    Duration::from_millis(200)
}

/// Sets the queue batching of each exporter that has a queue and none of its own from a
/// `batch` processor of one of its pipelines (the first found, in pipeline order):
/// `send_batch_size` → `min_size`, `send_batch_max_size` → `max_size`, `timeout` →
/// `flush_timeout`, counted in records.
pub fn fold_into_queues(config: &mut Config) {
    let ids: Vec<ComponentId> = config.exporters.keys().cloned().collect();
    for id in ids {
        let batch = config
            .service
            .pipelines
            .iter()
            .filter(|p| p.exporters.contains(&id))
            .flat_map(|p| &p.processors)
            .find_map(|p| match config.processors.get(p) {
                Some(ProcessorConfig::Batch(b)) => Some(b.clone()),
                _ => None,
            });
        let queue = config
            .exporters
            .get_mut(&id)
            .and_then(ExporterConfig::sending_queue_mut);
        if let (Some(b), Some(queue)) = (batch, queue)
            && queue.batch.is_none()
        {
            queue.batch = Some(QueueBatchConfig {
                flush_timeout: b.timeout,
                min_size: u64::from(b.send_batch_size),
                max_size: u64::from(b.send_batch_max_size),
                sizer: Sizer::Items,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const CONFIG: &str = "\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
processors:
  batch:
    send_batch_size: 500
    timeout: 3s
exporters:
  otlp_http/plain:
    endpoint: http://127.0.0.1:4318
  otlp_http/own:
    endpoint: http://127.0.0.1:4318
    sending_queue:
      batch: { min_size: 7 }
  debug: {}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp_http/plain, otlp_http/own, debug]
";

    fn queue_batch(config: &Config, id: &str) -> Option<QueueBatchConfig> {
        let id = ComponentId::parse(id).expect("id");
        config.exporters[&id].sending_queue()?.batch.clone()
    }

    #[test]
    fn a_batch_processor_becomes_the_queue_batching_of_exporters_without_their_own() {
        let config = super::super::load_str(CONFIG, "weir.yaml", &HashMap::new()).expect("valid");
        let plain = queue_batch(&config, "otlp_http/plain").expect("folded");
        assert_eq!(plain.min_size, 500);
        assert_eq!(plain.max_size, 0);
        assert_eq!(plain.flush_timeout, Duration::from_secs(3));
        assert_eq!(plain.sizer, Sizer::Items);
        let own = queue_batch(&config, "otlp_http/own").expect("its own");
        assert_eq!(own.min_size, 7);
        assert_eq!(queue_batch(&config, "debug"), None);
    }
}
