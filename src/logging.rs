//! weir's own logs: JSON lines on stderr by default, a console format for terminals; and the
//! hook for weir's own traces ([`crate::telemetry`]).
//!
//! The level filter comes from `WEIR_LOG` (env-filter syntax, e.g. `info,weir_exporters=debug`),
//! else from `service.telemetry.logs.level`, else `info`. A bad filter falls back to `info` with
//! a warning rather than failing start-up. The filter applies to logs only: weir's own spans are
//! recorded whatever the log level.

use tracing_subscriber::filter::{EnvFilter, filter_fn};
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
    let (filter, bad) = match EnvFilter::try_new(wanted) {
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
