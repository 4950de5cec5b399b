//! The `load_balancing` exporter's config as a Collector user writes it: the old
//! `loadbalancing` name still loads, and each mistake is named at its key and line.

mod common;

use common::config::{expect_errors, load};
use weir::config::ExporterConfig;

fn config(exporter: &str, signal: &str) -> String {
    format!(
        "\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
exporters:
{exporter}
service:
  pipelines:
    {signal}:
      receivers: [otlp]
      exporters: [loadbalancing]
"
    )
}

const COLLECTOR: &str = "  loadbalancing:
    protocol:
      otlp:
        tls: { insecure: true }
        timeout: 1s
    resolver:
      static:
        hostnames: [backend-1:4317, backend-2]";

#[test]
fn the_collectors_loadbalancing_config_loads() {
    let cfg = load(&config(COLLECTOR, "traces")).expect("valid");
    let Some(ExporterConfig::LoadBalancing(lb)) = cfg.exporters.values().next() else {
        panic!("a load_balancing exporter")
    };
    assert_eq!(
        lb.static_endpoints(),
        Some(vec![
            "backend-1:4317".to_owned(),
            "backend-2:4317".to_owned()
        ])
    );
    assert_eq!(lb.key(), None, "each signal's default");
}

#[test]
fn a_routing_key_that_cannot_route_the_pipelines_signal() {
    let text = config(&format!("{COLLECTOR}\n    routing_key: streamID"), "traces");
    expect_errors(
        &text,
        &[(
            "exporters.loadbalancing.routing_key",
            15,
            "cannot route traces (pipeline traces); it routes metrics",
        )],
    );
}

#[test]
fn an_unknown_routing_key_lists_those_weir_has() {
    let text = config(&format!("{COLLECTOR}\n    routing_key: traceid"), "logs");
    expect_errors(
        &text,
        &[(
            "exporters.loadbalancing.routing_key",
            15,
            "weir has: traceID, service, resource, metric, streamID, attributes, tenant",
        )],
    );
}

#[test]
fn the_kubernetes_resolver_is_not_supported() {
    let text = config(
        &COLLECTOR.replace(
            "    resolver:\n",
            "    resolver:\n      k8s: { service: tail }\n",
        ),
        "traces",
    );
    expect_errors(
        &text,
        &[(
            "exporters.loadbalancing.resolver.k8s",
            13,
            "not supported by weir: resolver.k8s",
        )],
    );
}

#[test]
fn an_endpoint_under_protocol_otlp_is_refused() {
    let text = config(
        &COLLECTOR.replace(
            "        timeout: 1s",
            "        timeout: 1s\n        endpoint: x:4317",
        ),
        "traces",
    );
    expect_errors(
        &text,
        &[(
            "exporters.loadbalancing.protocol.otlp.endpoint",
            12,
            "set per endpoint from the resolver",
        )],
    );
}
