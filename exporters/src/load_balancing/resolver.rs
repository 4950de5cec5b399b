//! The DNS resolver: looks a name up every `interval` and routes over its addresses.
//!
//! A lookup that fails, times out or finds nothing keeps the endpoints as they were (logged
//! at warn); before the first success there is no endpoint and batches are refused
//! (retryable), with lookups retried every second. The task ends when the balancer drains or
//! is dropped (a reload replaced it).

use std::sync::{Arc, Weak};

use tokio::time::{sleep, timeout};
use weir_pipeline::balance::Balancer;

use super::{DnsResolver, FIRST_LOOKUP_RETRY};

/// Starts resolving `dns` for `balancer`.
pub(super) fn spawn_dns(balancer: &Arc<Balancer>, dns: DnsResolver) {
    let weak: Weak<Balancer> = Arc::downgrade(balancer);
    let mut stopping = balancer.stopping();
    tokio::spawn(async move {
        loop {
            let Some(b) = weak.upgrade() else { return };
            let found = lookup(&dns).await;
            let wait = match found {
                Ok(endpoints) => {
                    if let Err(e) = b.set_endpoints(&endpoints) {
                        tracing::warn!(exporter = %b.id(), error = %e, "load balancing endpoints unchanged");
                    }
                    dns.interval
                }
                Err(e) => {
                    tracing::warn!(exporter = %b.id(), hostname = %dns.hostname, error = %e, "DNS lookup failed; endpoints unchanged");
                    if b.endpoints().is_empty() {
                        FIRST_LOOKUP_RETRY.min(dns.interval)
                    } else {
                        dns.interval
                    }
                }
            };
            drop(b);
            tokio::select! {
                _ = sleep(wait) => {}
                _ = stopping.wait_for(|s| *s) => return,
            }
        }
    });
}

/// The addresses of `dns.hostname` as sorted `ip:port` endpoints.
async fn lookup(dns: &DnsResolver) -> Result<Vec<String>, String> {
    let found = timeout(
        dns.timeout,
        tokio::net::lookup_host((dns.hostname.as_str(), dns.port)),
    )
    .await
    .map_err(|_| format!("timed out after {:?}", dns.timeout))?
    .map_err(|e| e.to_string())?;
    let mut endpoints: Vec<String> = found.map(|a| a.to_string()).collect();
    endpoints.sort();
    endpoints.dedup();
    if endpoints.is_empty() {
        return Err("no address".into());
    }
    Ok(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn localhost_resolves_to_loopback_endpoints_on_the_port() {
        let dns = DnsResolver {
            hostname: "localhost".into(),
            port: 4999,
            ..DnsResolver::default()
        };
        let endpoints = lookup(&dns).await.expect("localhost resolves");
        assert!(!endpoints.is_empty());
        for e in &endpoints {
            assert!(e == "127.0.0.1:4999" || e == "[::1]:4999", "{e}");
        }
    }

    #[tokio::test]
    async fn an_unknown_name_is_an_error() {
        let dns = DnsResolver {
            hostname: "no-such-host.invalid".into(),
            timeout: Duration::from_secs(5),
            ..DnsResolver::default()
        };
        assert!(lookup(&dns).await.is_err());
    }
}
