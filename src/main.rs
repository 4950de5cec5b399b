//! The `weir` binary: parse the command line, load the config, run.

use std::process::ExitCode;

use clap::Parser;
use weir::cli::{Cli, Command, LogFormat};
use weir::config::service::LogEncoding;
use weir::config::{self, DEFAULT_CONFIG, ProcessEnv};
use weir_pipeline::Metrics;

fn main() -> ExitCode {
    weir::install_crypto_provider();
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { files } => validate(&files),
        Command::Run { config, log_format } => {
            let loaded = match &config {
                Some(path) => config::load_file(path, &ProcessEnv),
                None => config::load_str(DEFAULT_CONFIG, "<default pipeline>", &ProcessEnv),
            };
            let cfg = match loaded {
                Ok(c) => c,
                Err(e) => {
                    eprint!("{e}");
                    return ExitCode::from(1);
                }
            };
            let encoding = match log_format {
                Some(LogFormat::Json) => LogEncoding::Json,
                Some(LogFormat::Pretty) => LogEncoding::Console,
                None => cfg.service.telemetry.logs.encoding,
            };
            weir::logging::init(cfg.service.telemetry.logs.level.as_deref(), encoding);
            run(cfg)
        }
    }
}

fn validate(files: &[std::path::PathBuf]) -> ExitCode {
    let mut ok = true;
    for f in files {
        match config::load_file(f, &ProcessEnv) {
            Ok(_) => println!("{}: ok", f.display()),
            Err(e) => {
                ok = false;
                eprint!("{e}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn run(cfg: config::Config) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let mut running = match weir::app::start(&cfg, Metrics::new()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                return ExitCode::from(1);
            }
        };
        tracing::info!(version = env!("CARGO_PKG_VERSION"), "weir is running");
        let code = tokio::select! {
            signal = stop_signal() => {
                tracing::info!(signal, "stopping");
                ExitCode::SUCCESS
            }
            failed = running.failed() => {
                if let Some(e) = failed {
                    tracing::error!(error = %e, "a listener failed; stopping");
                }
                ExitCode::from(1)
            }
        };
        running.shutdown().await;
        tracing::info!("stopped");
        code
    })
}

/// Resolves with the name of the first SIGTERM or SIGINT.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            _ => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
