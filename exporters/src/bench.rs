//! For benchmarks only; not a stable API. Thin wrappers that run the encoding an exporter does
//! before it sends (or, for the `prometheus` exporter, the page update and the scrape render),
//! on exporters built from their real configs. Nothing here opens a connection, binds a
//! listener or sends anything.
//!
//! How it fails: as the code it wraps (an encoding or compression error); building a page
//! fails on a config the `prometheus` exporter would refuse.

use std::io;

use weir_pipeline::{Bundle, Sent};

use crate::loki::LokiExporter;
use crate::otlp::common::encode_bundle;
use crate::otlphttp::OtlpHttpExporter;
use crate::prometheus::server::Negotiated;
use crate::prometheus::{PrometheusConfig, Shared, render::Format};
use crate::remote_write::RemoteWriteExporter;

/// The `otlp` exporter's request message for `bundle`, appended to `buf`.
pub fn otlp_request(bundle: &Bundle, buf: &mut Vec<u8>) {
    encode_bundle(bundle, buf);
}

/// The `otlphttp` exporter's request body for `bundle`: encoded, then compressed as configured.
pub fn otlphttp_body(exporter: &OtlpHttpExporter, bundle: &Bundle) -> io::Result<Vec<u8>> {
    exporter.body(bundle)
}

/// The `loki` exporter's push body for `bundle` (streams under the label guard, protobuf with
/// snappy or JSON as configured); `None` when the bundle holds no entry.
pub fn loki_push_body(exporter: &LokiExporter, bundle: &Bundle) -> io::Result<Option<Vec<u8>>> {
    exporter.push_body(bundle)
}

/// The `prometheusremotewrite` exporter's request bodies for `bundle`: translated, encoded as
/// `WriteRequest`s of at most `max_batch_size_bytes`, snappy-compressed.
pub fn remote_write_bodies(
    exporter: &RemoteWriteExporter,
    bundle: &Bundle,
) -> Result<Vec<Vec<u8>>, snap::Error> {
    exporter.bodies(bundle)
}

/// The `prometheus` exporter's page without its listener.
pub struct ScrapePage(Shared);

impl ScrapePage {
    /// An empty page of exporter `id`, configured by `cfg` (a config that passed
    /// [`PrometheusConfig::problems`]).
    pub fn new(id: &str, cfg: &PrometheusConfig) -> Self {
        Self(Shared::new(id, cfg))
    }

    /// What `export` does with `bundle`: translate it and update the page.
    pub fn ingest(&self, bundle: &Bundle) -> Sent {
        self.0.ingest(bundle)
    }

    /// What a scrape renders: the page as text 0.0.4, or as OpenMetrics.
    pub fn render(&self, open_metrics: bool) -> String {
        let format = if open_metrics {
            Format::OpenMetrics
        } else {
            Format::Text
        };
        self.0.page(Negotiated {
            format,
            utf8: false,
        })
    }
}
