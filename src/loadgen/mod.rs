//! `weir loadgen`: an OTLP load generator cheap enough to share a small machine with the
//! collector it measures. It builds a pool of distinct requests once (per tenant, with varied
//! ids and values, [`generate`]), encodes and compresses them once ([`encode`]), then sends
//! the same bytes over `--connections` hand-opened connections ([`client`]) from
//! `--concurrency` workers, paced or flat out ([`drive`]). It reads each answer for its
//! status and `partial_success` ([`reply`]), and prints a summary ([`summary`], [`stats`]).
//! The secrets it plants in attributes are shared with `weir sink` ([`secrets`]).
//!
//! How it fails: exit 2 for flags that cannot run (clap's own errors included), exit 1 when
//! no connection could be opened at the start or the summary file cannot be written, exit 0
//! otherwise, even when the collector refused every request.

pub mod args;
mod client;
mod drive;
pub mod encode;
pub mod generate;
mod reply;
pub mod secrets;
mod stats;
mod summary;

use std::process::ExitCode;
use std::sync::Arc;

pub use args::LoadgenArgs;

/// Runs `weir loadgen` with `args`.
pub fn run(args: &LoadgenArgs) -> ExitCode {
    let plan = match args.plan() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("weir loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("weir loadgen: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let pool = match drive::build_pool(&plan) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("weir loadgen: cannot build the requests: {e}");
                return ExitCode::from(1);
            }
        };
        let conns = match drive::connect(&plan).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("weir loadgen: cannot connect to {}: {e}", plan.endpoint);
                return ExitCode::from(1);
            }
        };
        if plan.protocol != args::Protocol::Grpc && plan.concurrency > plan.connections {
            eprintln!(
                "weir loadgen: HTTP/1.1 carries one request per connection at a time: at most \
                 {} of the {} workers are in flight",
                plan.connections, plan.concurrency
            );
        }
        let progress = Arc::new(summary::Progress::default());
        let printer = progress.spawn_printer();
        let (stats, elapsed) = drive::run(&plan, pool, conns, progress).await;
        if let Some(p) = printer {
            p.abort();
            eprintln!();
        }
        let summary =
            summary::Summary::new(plan.signal.name(), plan.protocol.name(), &stats, elapsed);
        print!("{}", summary.lines(&plan.endpoint));
        if let Some(path) = &plan.summary_json
            && let Err(e) = summary.write_json(path)
        {
            eprintln!("weir loadgen: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
        ExitCode::SUCCESS
    })
}
