//! The `load_balancing` exporter's configuration: the OpenTelemetry Collector's
//! `loadbalancing` exporter keys (`routing_key`, `routing_attributes`, `protocol.otlp`,
//! `resolver.static`, `resolver.dns`), plus weir's `routing_key: tenant` and `down_for`.

use std::time::Duration;

use serde::Deserialize;
use weir_pipeline::balance::{KeyName, RoutingKey};
use weir_pipeline::spec::Spec;

use crate::otlp::OtlpConfig;
use crate::shared::endpoint::EndpointError;

/// Keys of the Collector's `loadbalancing` exporter that weir does not implement: the
/// Kubernetes and AWS Cloud Map resolvers, the queue in front of the balancer (each endpoint
/// has its own, from `protocol.otlp.sending_queue`), and the `otlp` exporter's own unsupported
/// keys under `protocol.otlp`.
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] = &[
    "resolver.k8s",
    "resolver.aws_cloud_map",
    "resolver.dns.quarantine",
    "timeout",
    "sending_queue",
    "retry_on_failure",
    "protocol.otlp.auth",
    "protocol.otlp.authority",
    "protocol.otlp.balancer_name",
    "protocol.otlp.compression_params",
    "protocol.otlp.keepalive",
    "protocol.otlp.middlewares",
    "protocol.otlp.read_buffer_size",
    "protocol.otlp.write_buffer_size",
    "protocol.otlp.wait_for_ready",
    "protocol.otlp.tls.insecure_skip_verify",
    "protocol.otlp.tls.ca_pem",
    "protocol.otlp.tls.cert_pem",
    "protocol.otlp.tls.key_pem",
    "protocol.otlp.tls.server_name_override",
    "protocol.otlp.tls.include_system_ca_certs_pool",
    "protocol.otlp.tls.min_version",
    "protocol.otlp.tls.max_version",
    "protocol.otlp.tls.cipher_suites",
    "protocol.otlp.tls.curve_preferences",
    "protocol.otlp.tls.reload_interval",
    "protocol.otlp.sending_queue.storage",
    "protocol.otlp.sending_queue.wait_for_result",
];

/// The `load_balancing` exporter kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const SPEC: Spec = Spec {
    aliases: &["loadbalancing"],
    unsupported: UNSUPPORTED_COLLECTOR_KEYS,
    queue: Some(&["protocol", "otlp", "sending_queue"]),
    ..Spec::named("load_balancing")
};

/// The port a hostname without one is reached on (OTLP/gRPC's).
pub const DEFAULT_PORT: u16 = 4317;

/// Configuration of a `load_balancing` exporter.
///
/// ```yaml
/// exporters:
///   load_balancing:
///     routing_key: traceID
///     protocol:
///       otlp: { tls: { insecure: true }, timeout: 5s }
///     resolver:
///       static: { hostnames: [weir-tail-0:4317, weir-tail-1:4317] }
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadBalancingConfig {
    /// What keeps records together: `traceID` (traces and logs), `service`, `resource`,
    /// `metric` and `streamID` (metrics), `attributes` (the values of `routing_attributes`), or
    /// weir's `tenant`. Unset: `traceID` for traces, `service` for metrics and logs.
    pub routing_key: Option<KeyName>,
    /// With `routing_key: attributes`: the attribute names whose values form the key, each
    /// looked up on the resource, then the scope, then the record.
    pub routing_attributes: Vec<String>,
    /// How each endpoint is reached.
    pub protocol: Protocol,
    /// Where the endpoints come from.
    pub resolver: Resolver,
    /// weir's key: how long an endpoint that gave a batch up after its retries is passed
    /// over (its keys go to their next endpoint), `30s` by default.
    #[serde(with = "humantime_serde")]
    pub down_for: Duration,
}

impl Default for LoadBalancingConfig {
    fn default() -> Self {
        Self {
            routing_key: None,
            routing_attributes: Vec::new(),
            protocol: Protocol::default(),
            resolver: Resolver::default(),
            down_for: Duration::from_secs(30),
        }
    }
}

/// `protocol`: the exporter each endpoint gets.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Protocol {
    /// The `otlp` exporter's keys (its queue and retries are per endpoint); `endpoint` is
    /// filled in per endpoint and must not be set.
    pub otlp: OtlpConfig,
}

/// `resolver`: a fixed list or a DNS name. With both, `dns` is used (as in the Collector).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Resolver {
    /// A fixed list of endpoints.
    #[serde(rename = "static")]
    pub fixed: Option<StaticResolver>,
    /// A name whose addresses are the endpoints, looked up again every `interval`.
    pub dns: Option<DnsResolver>,
}

/// `resolver.static`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StaticResolver {
    /// `host:port` (or `host`, port 4317) of each endpoint.
    pub hostnames: Vec<String>,
}

/// `resolver.dns`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsResolver {
    /// The name to look up, e.g. a Kubernetes headless service.
    pub hostname: String,
    /// The port on every address, `4317` by default.
    pub port: u16,
    /// How often to look the name up again, `5s` by default.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Longest wait for one lookup, `1s` by default; after a failed lookup the endpoints stay
    /// as they were.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for DnsResolver {
    fn default() -> Self {
        Self {
            hostname: String::new(),
            port: DEFAULT_PORT,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
        }
    }
}

impl LoadBalancingConfig {
    /// The routing key (`None`: each signal's default).
    pub fn key(&self) -> Option<RoutingKey> {
        self.routing_key
            .map(|name| RoutingKey::new(name, &self.routing_attributes))
    }

    /// The `otlp` settings of one endpoint (`host:port` from the resolver); fails when the
    /// resolver gave something that is not a gRPC endpoint.
    pub fn endpoint_config(&self, endpoint: &str) -> Result<OtlpConfig, EndpointError> {
        Ok(OtlpConfig {
            endpoint: Some(endpoint.parse()?),
            ..self.protocol.otlp.clone()
        })
    }

    /// The static endpoints as `host:port`, when the static resolver is the one used.
    pub fn static_endpoints(&self) -> Option<Vec<String>> {
        if self.resolver.dns.is_some() {
            return None;
        }
        let fixed = self.resolver.fixed.as_ref()?;
        Some(fixed.hostnames.iter().map(|h| with_port(h)).collect())
    }

    /// `(key, message)` for each invalid setting. Pure: resolves no name.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(RoutingKey::Attributes(names)) = self.key()
            && names.is_empty()
        {
            out.push((
                "routing_attributes".into(),
                "routing_key: attributes needs at least one attribute name".into(),
            ));
        }
        if self.protocol.otlp.endpoint.is_some() {
            out.push((
                "protocol.otlp.endpoint".into(),
                "set per endpoint from the resolver; remove it".into(),
            ));
        }
        if !self.protocol.otlp.sending_queue.enabled {
            out.push((
                "protocol.otlp.sending_queue.enabled".into(),
                "each endpoint needs its queue (its share moves to the others from it); remove this".into(),
            ));
        }
        if self.down_for.is_zero() {
            out.push(("down_for".into(), "must be more than 0s".into()));
        }
        match (&self.resolver.fixed, &self.resolver.dns) {
            (None, None) => out.push((
                "resolver".into(),
                "required: static (hostnames) or dns (hostname)".into(),
            )),
            (_, Some(dns)) => {
                if dns.hostname.trim().is_empty() {
                    out.push(("resolver.dns.hostname".into(), "required".into()));
                }
                if dns.interval.is_zero() || dns.timeout.is_zero() {
                    out.push((
                        "resolver.dns".into(),
                        "interval and timeout must be more than 0s".into(),
                    ));
                }
            }
            (Some(fixed), None) => {
                if fixed.hostnames.is_empty() {
                    out.push((
                        "resolver.static.hostnames".into(),
                        "at least one endpoint is required".into(),
                    ));
                }
            }
        }
        // The endpoint settings, checked as the first endpoint would get them.
        let sample = self
            .static_endpoints()
            .and_then(|e| e.into_iter().next())
            .unwrap_or_else(|| format!("localhost:{DEFAULT_PORT}"));
        match self.endpoint_config(&sample) {
            Err(e) => out.push(("resolver".into(), e.to_string())),
            Ok(otlp) => out.extend(
                otlp.problems()
                    .into_iter()
                    .map(|(key, message)| (format!("protocol.otlp.{key}"), message)),
            ),
        }
        out
    }
}

/// `host:port`, with the default port added to a bare host.
pub fn with_port(host: &str) -> String {
    let h = host.trim();
    let bare_v6 = h.starts_with('[') && h.ends_with(']');
    let has_port = !bare_v6
        && h.rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    if has_port || h.contains("://") {
        h.to_string()
    } else {
        format!("{h}:{DEFAULT_PORT}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> LoadBalancingConfig {
        serde_yaml_ng::from_str(yaml).expect("parses")
    }

    #[test]
    fn collector_yaml_parses() {
        let cfg = parse(
            r#"
routing_key: service
protocol:
  otlp:
    tls: { insecure: true }
    timeout: 1s
resolver:
  static:
    hostnames: [backend-1:4317, backend-2]
"#,
        );
        assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
        assert_eq!(cfg.key(), Some(RoutingKey::Service));
        assert_eq!(
            cfg.static_endpoints(),
            Some(vec!["backend-1:4317".into(), "backend-2:4317".into()])
        );
        assert_eq!(
            cfg.endpoint_config("backend-2:4317")
                .expect("host:port")
                .timeout,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn dns_wins_over_static_and_has_the_collectors_defaults() {
        let cfg = parse("resolver: { static: { hostnames: [a] }, dns: { hostname: tail.svc } }");
        assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
        assert_eq!(cfg.static_endpoints(), None);
        let dns = cfg.resolver.dns.expect("dns");
        assert_eq!(
            (dns.port, dns.interval, dns.timeout),
            (4317, Duration::from_secs(5), Duration::from_secs(1))
        );
    }

    #[test]
    fn problems_name_their_keys() {
        let cfg = parse(
            r#"
protocol: { otlp: { endpoint: x:4317 } }
resolver: { static: { hostnames: [] } }
"#,
        );
        let keys: Vec<String> = cfg.problems().into_iter().map(|(k, _)| k).collect();
        for k in ["protocol.otlp.endpoint", "resolver.static.hostnames"] {
            assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
        }
        let attrs = parse("routing_key: attributes\nresolver: { static: { hostnames: [a] } }");
        assert_eq!(attrs.problems()[0].0, "routing_attributes");
        assert_eq!(parse("{}").problems()[0].0, "resolver");
        let brotli: Result<LoadBalancingConfig, _> = serde_yaml_ng::from_str(
            "resolver: { static: { hostnames: [a] } }\nprotocol: { otlp: { compression: brotli } }",
        );
        let err = brotli
            .expect_err("brotli is no gRPC compression")
            .to_string();
        assert!(err.contains("unknown compression \"brotli\""), "{err}");
        let key: Result<LoadBalancingConfig, _> = serde_yaml_ng::from_str("routing_key: traceid");
        let err = key.expect_err("names are case-sensitive").to_string();
        assert!(
            err.contains("unknown routing_key \"traceid\"; weir has: traceID"),
            "{err}"
        );
    }

    #[test]
    fn every_unsupported_otlp_key_is_unsupported_under_protocol() {
        for key in crate::otlp::UNSUPPORTED_COLLECTOR_KEYS {
            let prefixed = format!("protocol.otlp.{key}");
            assert!(
                UNSUPPORTED_COLLECTOR_KEYS.contains(&prefixed.as_str()),
                "{prefixed}"
            );
        }
    }

    #[test]
    fn bare_hosts_get_the_otlp_port() {
        assert_eq!(with_port("a"), "a:4317");
        assert_eq!(with_port("a:4000"), "a:4000");
        assert_eq!(with_port("[::1]"), "[::1]:4317");
        assert_eq!(with_port("[::1]:5"), "[::1]:5");
        assert_eq!(with_port("http://a:1"), "http://a:1");
    }
}
