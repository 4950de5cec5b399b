//! weir's exporters: the components that take a batch out of a pipeline and deliver it.
//!
//! One folder per exporter, each with `mod.rs` (what it does, how it fails), `config.rs` (the
//! user-facing keys) and its implementation:
//!
//! - [`debug`]: writes what arrives to stdout or a file, as text or JSON lines, like the
//!   OpenTelemetry Collector's `debug` exporter.

pub mod debug;
