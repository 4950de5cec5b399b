//! The `debug` exporter's configuration: the Collector's `verbosity`, plus weir's `path` and
//! `format`.

use std::path::PathBuf;

use serde::Deserialize;
use weir_pipeline::spec::Spec;

/// Keys of the Collector's `debug` exporter that weir does not implement. The config loader
/// reports each as `not supported by weir: <key>` instead of a generic unknown-key error.
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] = &[
    "sampling_initial",
    "sampling_thereafter",
    "use_internal_logger",
];

/// The `debug` exporter kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const SPEC: Spec = Spec {
    unsupported: UNSUPPORTED_COLLECTOR_KEYS,
    ..Spec::named("debug")
};

/// How much of each batch is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verbosity {
    /// One summary per batch: signal, tenant, request id, resource and record counts.
    #[default]
    Basic,
    /// The summary plus one line per record (text), or the whole request as OTLP/JSON (json).
    Normal,
    /// The summary plus the whole request as OTLP/JSON (pretty-printed in text format).
    Detailed,
}

/// The shape of the output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// JSON lines: exactly one JSON object per batch, for `jq` and tests.
    Json,
}

/// Configuration of a `debug` exporter.
///
/// ```yaml
/// exporters:
///   debug:
///     verbosity: normal
///     path: /var/log/weir/debug.jsonl
///     format: json
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DebugConfig {
    /// How much to write per batch: `basic` (default, as in the Collector) writes one summary
    /// line per batch; `normal` adds one line per span, log record or metric in `text` format
    /// and the full OTLP/JSON request in `json` format; `detailed` adds the full request as
    /// pretty-printed OTLP/JSON in `text` format (and is the same as `normal` in `json` format).
    pub verbosity: Verbosity,
    /// File to append the output to; created if it does not exist (its directory must). When
    /// absent, output goes to stdout. weir's own logs always go to stderr, never here.
    pub path: Option<PathBuf>,
    /// `text` (default): human-readable lines. `json`: one JSON object per batch and line,
    /// `{"signal","tenant","request_id","receiver","resources","records"}`, plus `"data"` (the
    /// OTLP/JSON export request) at verbosity `normal` or `detailed`.
    pub format: OutputFormat,
}
