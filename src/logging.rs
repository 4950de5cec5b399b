//! weir's own logs: JSON lines on stderr by default, a console format for terminals.
//!
//! The level filter comes from `WEIR_LOG` (env-filter syntax, e.g. `info,weir_exporters=debug`),
//! else from `service.telemetry.logs.level`, else `info`. A bad filter falls back to `info` with
//! a warning rather than failing start-up.

use tracing_subscriber::EnvFilter;

use crate::config::service::LogEncoding;

/// Installs the global subscriber. Calling it twice is harmless (the second call does nothing).
pub fn init(level: Option<&str>, encoding: LogEncoding) {
    let from_env = std::env::var("WEIR_LOG").ok();
    let wanted = from_env.as_deref().or(level).unwrap_or("info");
    let (filter, bad) = match EnvFilter::try_new(wanted) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e.to_string())),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match encoding {
        LogEncoding::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogEncoding::Console => builder.try_init(),
    };
    if installed.is_ok()
        && let Some(e) = bad
    {
        tracing::warn!(filter = wanted, error = %e, "bad log filter; using info");
    }
}
