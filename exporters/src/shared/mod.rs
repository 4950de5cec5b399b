//! What several exporters share, kept out of any one exporter's folder. Nothing here is an
//! exporter; each part fails as its own header says.
//!
//! - [`endpoint`]: endpoint URLs and gRPC `host:port` targets, parsed when the config is read.
//! - [`http`]: what the HTTP exporters share: the client (headers, TLS, timeouts, no
//!   redirects), status classification and `Retry-After`, the shared config keys and checks,
//!   the encode-buffer pool.
//! - [`prom`]: the OTLP→Prometheus naming and series model both Prometheus exporters
//!   (`prometheus`, `prometheusremotewrite`) share.
//! - `fixtures` (tests only): small, distinguishable batches and bundles, a TLS server, the
//!   crypto provider, for every exporter's tests.

pub mod endpoint;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod http;
pub mod prom;
