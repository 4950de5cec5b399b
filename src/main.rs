//! The `weir` binary: parse the command line, load the config, run.

use std::process::ExitCode;

use clap::Parser;
use weir::cli::{Cli, Command, LogFormat, RunArgs};
use weir::config::service::LogEncoding;
use weir::config::{self, ProcessEnv};
use weir::signals::Event;
use weir::telemetry::export::SpanExporter;
use weir::telemetry::layer::SelfTraceLayer;
use weir_pipeline::Metrics;

/// jemalloc, chosen by measurement: see BENCHMARKS.md.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // A background thread gives memory freed after a burst back to the system within
    // jemalloc's decay time (10 s); without it pages go back only during later allocations, so
    // an idle weir kept what a burst of large requests had freed. Measured at no cost per
    // record; when it cannot start, weir runs as before.
    let _ = tikv_jemalloc_ctl::background_thread::write(true);
    weir::install_crypto_provider();
    let cli = Cli::parse();
    match cli.command {
        None => start(&cli.run),
        Some(Command::Run(args)) => start(&args),
        Some(Command::Validate { files, skip_env }) => config::validate::run(&files, skip_env),
        Some(Command::Components { json }) => {
            if json {
                println!("{:#}", weir::commands::components::json());
            } else {
                print!("{}", weir::commands::components::table());
            }
            ExitCode::SUCCESS
        }
        Some(Command::PrintConfig { config, unredacted }) => {
            match config.sources().load(&ProcessEnv) {
                Ok(loaded) => {
                    print!(
                        "{}",
                        weir::commands::print_config::render(&loaded, &ProcessEnv, unredacted)
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprint!("{e}");
                    ExitCode::from(1)
                }
            }
        }
        Some(Command::Loadgen(args)) => weir::loadgen::run(&args),
        Some(Command::Sink(args)) => weir::sink::run(&args),
    }
}

/// `weir run` (or `weir --config …`): load the config, set up logging, run.
fn start(args: &RunArgs) -> ExitCode {
    let cfg = match args.config.sources().load(&ProcessEnv) {
        Ok(loaded) => loaded.config,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(1);
        }
    };
    let encoding = match args.log_format {
        Some(LogFormat::Json) => LogEncoding::Json,
        Some(LogFormat::Console) => LogEncoding::Console,
        None => cfg.service.telemetry.logs.encoding,
    };
    // weir's own spans: collected by a tracing layer, sent once the runtime runs.
    let (self_trace, spans) = match &cfg.service.telemetry.traces {
        Some(t) => {
            let (tx, rx) = tokio::sync::mpsc::channel(weir::telemetry::BUFFER);
            (Some(SelfTraceLayer::new(tx, t.sampling_ratio)), Some(rx))
        }
        None => (None, None),
    };
    weir::logging::init(
        cfg.service.telemetry.logs.level.as_deref(),
        encoding,
        self_trace,
    );
    run(cfg, spans, args.config.sources())
}

/// Runs `cfg` until a stop signal; SIGHUP reads `sources` again and reloads.
fn run(
    cfg: config::Config,
    spans: Option<tokio::sync::mpsc::Receiver<opentelemetry_proto::tonic::trace::v1::Span>>,
    sources: weir::config::sources::Sources,
) -> ExitCode {
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
        let span_exporter = match (&cfg.service.telemetry.traces, spans) {
            (Some(t), Some(rx)) => {
                match SpanExporter::start(t, &cfg.service.telemetry.resource, rx) {
                    Ok(e) => Some(e),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot start service.telemetry.traces");
                        return ExitCode::from(1);
                    }
                }
            }
            _ => None,
        };
        // Before any listener is bound: a SIGTERM that arrives as soon as weir says it listens
        // must drain, not kill.
        let mut signals = weir::signals::Signals::install();
        let mut running = match weir::app::start(
            &cfg,
            Metrics::with_tenant_labels(
                cfg.service.admin.max_tenant_labels,
                cfg.service.admin.tenant_label_idle,
            ),
        )
        .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                return ExitCode::from(1);
            }
        };
        for (at, message) in config::replaced_extensions(&cfg) {
            tracing::warn!(at, "{message}");
        }
        tracing::info!(version = env!("CARGO_PKG_VERSION"), "weir is running");
        let code = loop {
            tokio::select! {
                event = signals.next() => match event {
                    Event::Stop(signal) => {
                        tracing::info!(signal, "stopping");
                        break ExitCode::SUCCESS;
                    }
                    Event::Reload => {
                        tracing::info!(signal = "SIGHUP", "reloading the configuration");
                        let loaded = sources
                            .load(&ProcessEnv)
                            .map(|l| l.config)
                            .map_err(|e| e.to_string());
                        // Refusals are logged and counted by `reload`.
                        let _ = running.reload(loaded).await;
                    }
                },
                failed = running.failed() => {
                    if let Some(e) = failed {
                        tracing::error!(error = %e, "a listener failed; stopping");
                    }
                    break ExitCode::from(1);
                }
            }
        };
        running.shutdown().await;
        if let Some(e) = span_exporter {
            e.stop().await;
        }
        tracing::info!("stopped");
        code
    })
}
