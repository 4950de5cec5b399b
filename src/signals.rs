//! The stop signals: SIGTERM and SIGINT end `weir run` and `weir sink`; SIGHUP is caught and
//! ignored with a warning. Installing a handler cannot fail in a way that matters: when the
//! Unix handlers cannot be installed, Ctrl-C alone is waited for.

/// Installs the SIGTERM and SIGINT handlers now; the future resolves with the name of the
/// first of them to arrive. SIGHUP, which would otherwise end the process, is caught and
/// ignored with a warning: weir does not reload its configuration yet.
pub fn stop_signal() -> futures::future::BoxFuture<'static, &'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(mut term), Ok(mut int), Ok(mut hup)) => Box::pin(async move {
                loop {
                    tokio::select! {
                        _ = term.recv() => return "SIGTERM",
                        _ = int.recv() => return "SIGINT",
                        _ = hup.recv() => tracing::warn!(
                            signal = "SIGHUP",
                            "reload not supported yet; configuration unchanged"
                        ),
                    }
                }
            }),
            _ => Box::pin(async {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }),
        }
    }
    #[cfg(not(unix))]
    {
        Box::pin(async {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        })
    }
}
