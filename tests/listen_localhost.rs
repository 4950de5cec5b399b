//! Where weir listens: an endpoint with no host (`:4317`, or a bare port) binds localhost only,
//! as the Collector's listeners do since v0.104; one that names a host binds that host.

mod common;

use common::Weir;

#[test]
fn endpoints_without_a_host_bind_localhost() {
    let weir = Weir::start(
        "\
receivers:
  otlp:
    protocols:
      grpc: { endpoint: ':0' }
      http: { endpoint: '0' }
exporters:
  debug: { format: json, path: {OUT} }
service:
  admin: { endpoint: ':0' }
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
",
    );
    for (listener, addr) in [
        ("otlp/grpc", weir.grpc_addr),
        ("otlp/http", weir.http_addr),
        ("admin", weir.admin_addr),
    ] {
        assert_eq!(
            addr.ip(),
            std::net::Ipv4Addr::LOCALHOST,
            "{listener} bound {addr}"
        );
        assert_ne!(addr.port(), 0, "{listener}");
    }
}

#[test]
fn an_endpoint_with_a_host_binds_that_host() {
    let weir = Weir::start(
        "\
receivers:
  otlp:
    protocols:
      grpc: { endpoint: '0.0.0.0:0' }
      http: { endpoint: 'localhost:0' }
exporters:
  debug: { format: json, path: {OUT} }
service:
  admin: { endpoint: '127.0.0.1:0' }
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
",
    );
    assert!(weir.grpc_addr.ip().is_unspecified(), "{}", weir.grpc_addr);
    assert_eq!(weir.http_addr.ip(), std::net::Ipv4Addr::LOCALHOST);
}
