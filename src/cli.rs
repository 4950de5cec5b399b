//! The command line: `weir run`, `weir validate`, `weir loadgen`, `weir sink`, `--version`,
//! `--help`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// weir: an OpenTelemetry collector that makes telemetry safe, fair and linked.
#[derive(Debug, Parser)]
#[command(
    name = "weir",
    version,
    about,
    after_help = "Examples:\n  weir run                          run the default pipeline (OTLP in on :4317/:4318, debug out)\n  weir run --config weir.yaml       run your pipelines\n  weir validate weir.yaml other.yaml   check configs; every error with file, line and path\n  weir sink & weir loadgen --endpoint http://127.0.0.1:14317   measure a collector (or the sink)\n\nApplications send to weir with OTEL_EXPORTER_OTLP_ENDPOINT=http://<host>:4318 (or :4317 for gRPC)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// weir's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run weir until SIGTERM or SIGINT.
    Run {
        /// Pipeline file; without it weir runs its embedded default pipeline
        /// (examples/default.yaml).
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Log format on stderr; overrides service.telemetry.logs.encoding.
        #[arg(long, value_enum)]
        log_format: Option<LogFormat>,
    },
    /// Check config files without starting anything: exit 0 when all are valid, otherwise list
    /// every error and exit 1.
    Validate {
        /// Files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// An unset environment variable is a warning (once per variable), not an error, and
        /// the values using it are not checked: for files whose variables are set only where
        /// weir runs.
        #[arg(long)]
        skip_env: bool,
    },
    /// Send OTLP load at a collector and report what it answered (throughput, latency,
    /// errors); exit 2 on bad flags, 1 when it cannot connect at all.
    Loadgen(Box<crate::loadgen::LoadgenArgs>),
    /// A counting OTLP endpoint: decodes, counts per signal and tenant, checks for the
    /// secrets `weir loadgen` plants, answers success; counts at `GET /counts`.
    Sink(crate::sink::SinkArgs),
}

/// Log formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Pretty,
}
