//! What the exporters that send over HTTP (`otlphttp`, `loki`, `prometheusremotewrite`) share,
//! and the parts of it the gRPC `otlp` exporter uses too, so that the same key means the same
//! thing and the same answer is handled the same way everywhere:
//!
//! - [`headers`]: the `headers` map and the tenant header (`tenant_header`), with their checks.
//! - [`config`]: the HTTP `tls` block ([`HttpTlsConfig`]), `timeout`, and the
//!   Collector's HTTP client and TLS keys weir does not implement.
//! - [`client`]: the `reqwest` client built from `headers`, `tls` and `timeout`.
//! - [`response`]: retryable or permanent statuses, `Retry-After`, bounded body reads, clean
//!   backend messages, and failures to get an answer.
//! - [`pool`]: encode buffers reused across request bodies.
//!
//! How it fails: config checks return `(key, message)` problems and never fail; building a
//! client returns a [`ClientError`] (a header, a TLS file, no crypto provider), which each
//! exporter wraps with its id; a backend's answer becomes an
//! [`ExportError`](weir_pipeline::ExportError), retryable or permanent. What differs between
//! exporters on purpose stays with them: OTLP's shorter list of retryable statuses is a
//! `RetryOn` choice, Loki's reason words and the OTLP `google.rpc.Status`
//! bodies live in their own `response` modules.

pub mod client;
pub mod config;
pub mod headers;
pub mod pool;
pub mod response;

pub use client::ClientError;
pub use config::HttpTlsConfig;
pub use headers::{HeaderError, Headers, TenantHeader};
