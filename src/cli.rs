//! The command line: `weir [--config FILE]…` (the Collector's form of `weir run`), `weir run`,
//! `weir validate`, `weir components`, `weir print-config`, `weir loadgen`, `weir sink`,
//! `--version`, `--help`. Parsing only: clap reports bad flags and exits 2.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::sources::Sources;

/// weir: an OpenTelemetry collector that makes telemetry safe, fair and linked.
#[derive(Debug, Parser)]
#[command(
    name = "weir",
    version,
    about,
    args_conflicts_with_subcommands = true,
    arg_required_else_help = true,
    after_help = "Examples:\n  weir run                          run the default pipeline (OTLP in on :4317/:4318, debug out)\n  weir --config weir.yaml           run your pipelines (the same as weir run --config weir.yaml)\n  weir --config base.yaml --config prod.yaml --set=processors::batch::timeout=2s\n                                    merge files in order, then override one value\n  weir validate weir.yaml other.yaml   check configs; every error with file, line and path\n  weir print-config --config weir.yaml   the effective config, secrets hidden\n  weir components                   every receiver, processor and exporter kind\n  weir sink & weir loadgen --endpoint http://127.0.0.1:14317   measure a collector (or the sink)\n\nApplications send to weir with OTEL_EXPORTER_OTLP_ENDPOINT=http://<host>:4318 (or :4317 for gRPC)."
)]
pub struct Cli {
    /// Without a subcommand: run, as `weir run` does.
    #[command(flatten)]
    pub run: RunArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// weir's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run weir until SIGTERM or SIGINT.
    Run(RunArgs),
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
    /// List every receiver, processor, exporter and extension kind, the signals it takes and its
    /// aliases.
    Components {
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the effective config (files merged, `--set` applied, `${env:…}` expanded, the
    /// `batch` processor shown as each exporter's `sending_queue.batch`), secrets hidden; exit
    /// 1 with every error when it is not valid.
    PrintConfig {
        /// The config sources, as for `weir run`.
        #[command(flatten)]
        config: ConfigArgs,
        /// Show secrets (headers, DSNs, keys, tokens, credentials in URLs) as they are.
        #[arg(long)]
        unredacted: bool,
    },
    /// Send OTLP load at a collector and report what it answered (throughput, latency,
    /// errors); exit 2 on bad flags, 1 when it cannot connect at all.
    Loadgen(Box<crate::loadgen::LoadgenArgs>),
    /// A counting OTLP endpoint: decodes, counts per signal and tenant, checks for the
    /// secrets `weir loadgen` plants, answers success; counts at `GET /counts`.
    Sink(crate::sink::SinkArgs),
}

/// Where the config comes from.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// Pipeline file; repeat to merge several in order (mappings merged key by key, a later
    /// value or list replacing an earlier one). Without it weir uses its embedded default
    /// pipeline (examples/default.yaml).
    #[arg(short, long = "config", value_name = "FILE")]
    pub configs: Vec<PathBuf>,
    /// Set one value after the files are merged, in the Collector's syntax:
    /// `--set=processors::batch::timeout=2s` (`::` between levels, the value read as YAML).
    /// Repeatable.
    #[arg(long = "set", value_name = "KEY::PATH=VALUE")]
    pub sets: Vec<String>,
}

impl ConfigArgs {
    /// The sources these flags name.
    pub fn sources(&self) -> Sources {
        Sources {
            files: self.configs.clone(),
            sets: self.sets.clone(),
        }
    }
}

/// `weir run`'s flags (also taken by `weir` without a subcommand).
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// The config sources.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Log format on stderr; overrides service.telemetry.logs.encoding.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
}

/// Log formats, named as `service.telemetry.logs.encoding` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines (colour only on a terminal).
    #[value(alias = "pretty")]
    Console,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("weir").chain(args.iter().copied()))
    }

    #[test]
    fn config_without_a_subcommand_runs() {
        let cli = parse(&["--config", "a.yaml", "-c", "b.yaml", "--set=x::y=1"]).expect("parse");
        assert!(cli.command.is_none());
        assert_eq!(
            cli.run.config.configs,
            [PathBuf::from("a.yaml"), PathBuf::from("b.yaml")]
        );
        assert_eq!(cli.run.config.sets, ["x::y=1"]);
    }

    #[test]
    fn top_level_flags_do_not_mix_with_a_subcommand() {
        assert!(parse(&["--config", "a.yaml", "validate", "b.yaml"]).is_err());
    }

    #[test]
    fn pretty_is_an_alias_of_console() {
        for name in ["console", "pretty"] {
            let cli = parse(&["run", "--log-format", name]).expect("parse");
            let Some(Command::Run(run)) = cli.command else {
                panic!("not run");
            };
            assert_eq!(run.log_format, Some(LogFormat::Console));
        }
    }
}
