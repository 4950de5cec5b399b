//! The `load_balancing` exporter (the Collector's `loadbalancing`): spreads records over
//! several OTLP/gRPC endpoints by a routing key, so that every span of a trace (or every
//! point of a stream, every record of a service or tenant) reaches the same endpoint.
//!
//! The engine half is [`weir_pipeline::balance`]: rendezvous hashing, the split of a batch by
//! key, one queue per endpoint, and the hand-over of a dead endpoint's share. This module
//! reads the config, builds each endpoint's `otlp` exporter and queue, and runs the resolver
//! ([`resolver`]).
//!
//! Failure: [`start`] (given settings the loader validated) fails with a [`BuildError`] when an
//! endpoint's exporter cannot be built (a TLS file cannot be read). A DNS lookup that fails or
//! times out keeps the endpoints found before, logged at warn.

mod config;
mod resolver;

use std::sync::Arc;
use std::time::Duration;

use weir_pipeline::balance::Balancer;
use weir_pipeline::queue::{DeliverySettings, QueueConfig};
use weir_pipeline::{BuildError, Metrics};

pub use config::{
    DnsResolver, LoadBalancingConfig, Protocol, Resolver, SPEC, StaticResolver,
    UNSUPPORTED_COLLECTOR_KEYS, with_port,
};

use crate::otlp::OtlpGrpcExporter;

/// Starts the exporter `id`: its endpoints' queues (each with `queue`, the endpoint queue
/// settings after a pipeline's `batch` is mapped onto them) and its resolver. Must run inside
/// a Tokio runtime.
pub fn start(
    id: &str,
    cfg: &LoadBalancingConfig,
    queue: QueueConfig,
    metrics: Metrics,
) -> Result<Arc<Balancer>, BuildError> {
    let failed = |message: String| BuildError::whole(id, message);
    let key = cfg.key();
    let endpoint_cfg = cfg.clone();
    let otlp = &cfg.protocol.otlp;
    let delivery = DeliverySettings {
        queue,
        retry: otlp.retry_on_failure.clone(),
        timeout: otlp.timeout,
        storage: None,
    };
    let balancer = Balancer::new(
        id,
        key,
        cfg.down_for,
        delivery,
        Box::new(move |endpoint, exporter_id| {
            let otlp = endpoint_cfg
                .endpoint_config(endpoint)
                .map_err(|e| e.to_string())?;
            let exporter = OtlpGrpcExporter::new(exporter_id, &otlp).map_err(|e| e.to_string())?;
            Ok(Arc::new(exporter))
        }),
        metrics,
    );
    match (cfg.static_endpoints(), &cfg.resolver.dns) {
        (_, Some(dns)) => resolver::spawn_dns(&balancer, dns.clone()),
        (Some(endpoints), None) => balancer.set_endpoints(&endpoints).map_err(failed)?,
        (None, None) => return Err(failed("resolver: required".into())),
    }
    Ok(balancer)
}

/// The static endpoints of `cfg` applied to a running balancer (a reload that changed only
/// `resolver.static.hostnames`). Fails, leaving the endpoints as they were, when a new
/// endpoint's exporter cannot be built.
pub fn set_static(balancer: &Arc<Balancer>, cfg: &LoadBalancingConfig) -> Result<(), String> {
    match cfg.static_endpoints() {
        Some(endpoints) => balancer.set_endpoints(&endpoints),
        None => Err("not a static resolver".into()),
    }
}

/// True when `a` and `b` differ only in `resolver.static.hostnames`: a running exporter can
/// take the new list without being rebuilt.
pub fn only_hostnames_differ(a: &LoadBalancingConfig, b: &LoadBalancingConfig) -> bool {
    let strip = |c: &LoadBalancingConfig| {
        let mut c = c.clone();
        c.resolver.fixed = c.resolver.fixed.map(|_| StaticResolver::default());
        c
    };
    a.static_endpoints().is_some() && b.static_endpoints().is_some() && strip(a) == strip(b)
}

/// How long [`resolver`] waits before a retry when a lookup fails at start (no endpoint yet).
const FIRST_LOOKUP_RETRY: Duration = Duration::from_secs(1);
