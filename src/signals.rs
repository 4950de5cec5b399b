//! The signals weir answers: SIGTERM and SIGINT stop `weir run` and `weir sink`; SIGHUP asks
//! `weir run` to reload its config ([`Signals`]) and is ignored, with a warning, by `weir
//! sink`. Installing a handler cannot fail in a way that matters: when the Unix handlers cannot
//! be installed, Ctrl-C alone is waited for (and there is no reload).

use futures::future::BoxFuture;

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Stop, for this signal (`SIGTERM`, `SIGINT`).
    Stop(&'static str),
    /// Read the config again (SIGHUP).
    Reload,
}

/// The signals of `weir run`, installed when made.
pub struct Signals {
    #[cfg(unix)]
    unix: Option<UnixSignals>,
}

#[cfg(unix)]
struct UnixSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the SIGTERM, SIGINT and SIGHUP handlers now (SIGHUP would otherwise end the
    /// process). Must run inside a Tokio runtime.
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let unix = match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
                signal(SignalKind::hangup()),
            ) {
                (Ok(term), Ok(int), Ok(hup)) => Some(UnixSignals { term, int, hup }),
                _ => None,
            };
            Self { unix }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// The next signal.
    pub async fn next(&mut self) -> Event {
        #[cfg(unix)]
        if let Some(s) = &mut self.unix {
            return tokio::select! {
                _ = s.term.recv() => Event::Stop("SIGTERM"),
                _ = s.int.recv() => Event::Stop("SIGINT"),
                _ = s.hup.recv() => Event::Reload,
            };
        }
        let _ = tokio::signal::ctrl_c().await;
        Event::Stop("SIGINT")
    }
}

/// For `weir sink`: resolves with the name of the first stop signal; SIGHUP is ignored with a
/// warning (the sink has no config to reload).
pub fn stop_signal() -> BoxFuture<'static, &'static str> {
    let mut signals = Signals::install();
    Box::pin(async move {
        loop {
            match signals.next().await {
                Event::Stop(name) => return name,
                Event::Reload => {
                    tracing::warn!(
                        signal = "SIGHUP",
                        "weir sink has no config to reload; ignored"
                    )
                }
            }
        }
    })
}
