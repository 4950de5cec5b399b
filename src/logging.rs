//! weir's own logs: JSON lines on stderr by default, a console format for terminals; and the
//! hook for weir's own traces ([`crate::telemetry`]).
//!
//! The level filter comes from `WEIR_LOG`, else from `service.telemetry.logs.level`, else
//! `info`. A bare level is weir's own: `debug` means weir's debug lines, with its dependencies
//! (HTTP/2, gRPC, TLS) kept at `info`; a full env-filter expression
//! (`info,weir_exporters=debug`, `h2=trace`) is taken as written. A bad filter falls back to
//! `info` with a warning rather than failing start-up. The filter applies to logs only: weir's
//! own spans are recorded whatever the log level.
//!
//! Colour (ANSI escapes) is used in the console format only when stderr is a terminal.

use std::io::IsTerminal;

use tracing_subscriber::filter::{EnvFilter, LevelFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

use crate::config::service::LogEncoding;
use crate::telemetry::layer::SelfTraceLayer;

/// Installs the global subscriber, with `self_trace` when weir traces itself. Calling it twice
/// is harmless (the second call does nothing).
pub fn init(level: Option<&str>, encoding: LogEncoding, self_trace: Option<SelfTraceLayer>) {
    let from_env = std::env::var("WEIR_LOG").ok();
    let wanted = from_env.as_deref().or(level).unwrap_or("info");
    let (filter, bad) = match EnvFilter::try_new(filter_expression(wanted)) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e.to_string())),
    };
    let logs = match encoding {
        LogEncoding::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        LogEncoding::Console => fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    let spans = self_trace.map(|l| {
        l.with_filter(filter_fn(|meta| {
            meta.is_span() && meta.name().starts_with("weir.")
        }))
    });
    let installed = tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init();
    if installed.is_ok()
        && let Some(e) = bad
    {
        tracing::warn!(filter = wanted, error = %e, "bad log filter; using info");
    }
}

/// The env-filter expression for `wanted`: a bare level applies to weir's crates (every target
/// starting `weir`), with dependencies no more verbose than `info`; anything else as written.
fn filter_expression(wanted: &str) -> String {
    let trimmed = wanted.trim();
    match trimmed.parse::<LevelFilter>() {
        Ok(level) if !trimmed.contains(['=', ',']) => {
            let others = level.min(LevelFilter::INFO);
            format!("{others},weir={level}")
        }
        _ => wanted.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_level_is_weirs_own() {
        assert_eq!(filter_expression("debug"), "info,weir=debug");
        assert_eq!(filter_expression("TRACE"), "info,weir=trace");
        assert_eq!(filter_expression("warn"), "warn,weir=warn");
        assert_eq!(filter_expression("off"), "off,weir=off");
    }

    #[test]
    fn an_expression_is_taken_as_written() {
        assert_eq!(filter_expression("h2=trace"), "h2=trace");
        assert_eq!(
            filter_expression("info,weir_exporters=debug"),
            "info,weir_exporters=debug"
        );
        assert_eq!(filter_expression("nonsense["), "nonsense[");
    }
}
