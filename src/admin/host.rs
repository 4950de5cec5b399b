//! The admin listener answers only requests that name it by an IP address, `localhost`, or a
//! name in `service.admin.allowed_hosts`. A web page could otherwise point a name it controls
//! at 127.0.0.1 (DNS rebinding) and read `/metrics` or the ops page from the victim's browser.
//! Any other `Host` is answered 421, counted in `weir_auth_failures_total{reason="bad_host"}`
//! and logged at warn at most once a minute, with the name escaped. A request without a
//! `Host` (HTTP/1.0; no browser sends one) passes.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use parking_lot::Mutex;
use weir_pipeline::Metrics;
use weir_pipeline::metrics::catalogue;

/// How often a refused `Host` is logged at most.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The names the admin listener answers to, beyond IP literals and `localhost`.
#[derive(Clone)]
pub struct AllowedHosts {
    names: Arc<[String]>,
    metrics: Metrics,
    last_warn: Arc<Mutex<Option<Instant>>>,
}

impl AllowedHosts {
    /// `names` from `service.admin.allowed_hosts`.
    pub fn new(names: &[String], metrics: Metrics) -> Self {
        Self {
            names: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
            metrics,
            last_warn: Arc::default(),
        }
    }

    /// True when a request naming `host` (`name[:port]`, `[v6]:port`) may be answered.
    pub fn allows(&self, host: &str) -> bool {
        let name = match host.strip_prefix('[') {
            Some(rest) => {
                return rest
                    .split(']')
                    .next()
                    .is_some_and(|ip| ip.parse::<IpAddr>().is_ok());
            }
            None => match host.rsplit_once(':') {
                Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
                _ => host,
            },
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        name.parse::<IpAddr>().is_ok()
            || name.eq_ignore_ascii_case("localhost")
            || self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }
}

/// `router` with every request's `Host` checked.
pub fn guard<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    hosts: AllowedHosts,
) -> Router<S> {
    router.layer(middleware::from_fn_with_state(hosts, check))
}

async fn check(State(hosts): State<AllowedHosts>, request: Request, next: Next) -> Response {
    let named = request
        .headers()
        .get(header::HOST)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
    match named {
        Some(host) if !hosts.allows(&host) => {
            hosts
                .metrics
                .counter(catalogue::AUTH_FAILURES, &["bad_host"])
                .add(1);
            let now = Instant::now();
            let mut last = hosts.last_warn.lock();
            if last.is_none_or(|t| now.duration_since(t) >= WARN_EVERY) {
                *last = Some(now);
                tracing::warn!(
                    host = %host.escape_debug(),
                    "admin request refused: the Host it names is not allowed (service.admin.allowed_hosts)"
                );
            }
            (
                StatusCode::MISDIRECTED_REQUEST,
                "this host name is not served here: name weir by IP address, localhost, or a name in service.admin.allowed_hosts\n",
            )
                .into_response()
        }
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_localhost_and_listed_names_are_allowed_others_not() {
        let hosts = AllowedHosts::new(&["Weir.Internal".into()], Metrics::new());
        for ok in [
            "127.0.0.1",
            "127.0.0.1:8888",
            "10.2.3.4:8888",
            "[::1]:8888",
            "[fe80::1]",
            "localhost",
            "LOCALHOST:8888",
            "localhost.",
            "weir.internal:8888",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "attacker.example",
            "attacker.example:8888",
            "127.0.0.1.nip.io",
            "localhost.attacker.example",
            "[not-an-ip]:80",
            "",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
    }
}
