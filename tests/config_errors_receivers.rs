//! The errors a user sees for bad receiver and admin settings (CORS, the frontend log intake,
//! timeouts and caps, gRPC keepalive, allowed admin hosts): each test asserts the path, the
//! position and the words that tell the user what to fix.

mod common;

use common::config::{GOOD, expect_errors, load};
use weir::config;

#[test]
fn collector_cors_keys_load() {
    let cfg = load(&GOOD.replace(
        "      http:\n",
        "      http:\n        cors:\n          allowed_origins: [https://app.example.com, \"https://*.example.com\"]\n          allowed_headers: [X-Scope-OrgID]\n          max_age: 7200\n",
    ))
    .expect("the Collector's cors keys are weir's");
    let config::ReceiverConfig::Otlp(otlp) = cfg.receivers.values().next().expect("otlp");
    let cors = otlp
        .protocols
        .http
        .clone()
        .and_then(|h| h.cors)
        .expect("cors");
    assert_eq!(cors.allowed_origins.len(), 2);
    assert_eq!(cors.max_age, 7200);
}

#[test]
fn bad_cors_origins_and_headers_name_their_index() {
    expect_errors(
        &GOOD.replace(
            "      http:\n",
            "      http:\n        cors:\n          allowed_origins:\n            - https://app.example.com/\n            - https://ok.example.com\n            - app.example.com\n          allowed_headers: [\"bad header\"]\n",
        ),
        &[
            (
                "receivers.otlp.protocols.http.cors.allowed_origins[0]",
                7,
                "has a path; an origin is scheme://host[:port] only",
            ),
            (
                "receivers.otlp.protocols.http.cors.allowed_origins[2]",
                9,
                "is not an origin: write scheme://host[:port]",
            ),
            (
                "receivers.otlp.protocols.http.cors.allowed_headers[0]",
                10,
                "is not a header name",
            ),
        ],
    );
}

#[test]
fn bad_frontend_log_settings_name_their_key() {
    expect_errors(
        &GOOD.replace(
            "      http:\n",
            "      http:\n        frontend_log:\n          enabled: true\n          path: api/frontend-log\n          per_ip_per_minute: 0\n          trusted_proxies: [10.0.0.0/33]\n",
        ),
        &[
            (
                "receivers.otlp.protocols.http.frontend_log.path",
                7,
                "must be a path starting with /",
            ),
            (
                "receivers.otlp.protocols.http.frontend_log.per_ip_per_minute",
                8,
                "must be at least 1",
            ),
            (
                "receivers.otlp.protocols.http.frontend_log.trusted_proxies[0]",
                9,
                "is not a CIDR",
            ),
        ],
    );
}

#[test]
fn frontend_log_needs_a_logs_pipeline() {
    expect_errors(
        &GOOD.replace(
            "      http:\n",
            "      http:\n        frontend_log:\n          enabled: true\n",
        ),
        &[(
            "receivers.otlp.protocols.http.frontend_log.enabled",
            6,
            "receiver otlp feeds no logs pipeline",
        )],
    );
}

#[test]
fn frontend_log_with_token_tenants_needs_its_own_tenant() {
    let text = GOOD.replace(
        "      http:\n",
        "      http:\n        frontend_log: { enabled: true }\n",
    ) .replace(
        "        endpoint: 127.0.0.1:0\n",
        "        endpoint: 127.0.0.1:0\n    tenant: { from: [token], tokens_file: /etc/weir/tokens.yaml }\n",
    )
    .replace(
        "      exporters: [debug]\n",
        "      exporters: [debug]\n    logs: { receivers: [otlp], exporters: [debug] }\n",
    );
    expect_errors(
        &text,
        &[(
            "receivers.otlp.protocols.http.frontend_log.tenant",
            5,
            "required when tenant.from has token",
        )],
    );
    let fixed = text.replace("{ enabled: true }", "{ enabled: true, tenant: web }");
    assert!(load(&fixed).is_ok(), "a fixed tenant is enough");
}

#[test]
fn admin_allowed_hosts_are_bare_names() {
    expect_errors(
        &format!("{GOOD}  admin:\n    allowed_hosts: [weir.internal, \"http://weir:8888\"]\n"),
        &[(
            "service.admin.allowed_hosts[1]",
            14,
            "not a host name: write the name alone",
        )],
    );
}

#[test]
fn receiver_timeouts_and_caps_must_be_positive() {
    expect_errors(
        &GOOD.replace(
            "        endpoint: 127.0.0.1:0",
            "        endpoint: 127.0.0.1:0\n        read_timeout: 0s\n        max_connections: 0",
        ),
        &[
            (
                "receivers.otlp.protocols.http.read_timeout",
                6,
                "must be more than 0s",
            ),
            (
                "receivers.otlp.protocols.http.max_connections",
                7,
                "must be more than 0",
            ),
        ],
    );
}

#[test]
fn grpc_keepalive_takes_the_collectors_server_parameters() {
    let cfg = load(&GOOD.replace(
        "      http:\n",
        "      grpc:\n        max_concurrent_streams: 8\n        keepalive:\n          \
         server_parameters: { max_connection_idle: 30s }\n      http:\n",
    ))
    .expect("valid");
    let weir::config::ReceiverConfig::Otlp(otlp) = &cfg.receivers.values().next().expect("otlp");
    let grpc = otlp.protocols.grpc.as_ref().expect("grpc");
    assert_eq!(grpc.max_concurrent_streams, 8);
    assert_eq!(
        grpc.keepalive.server_parameters.max_connection_idle,
        std::time::Duration::from_secs(30)
    );
    expect_errors(
        &GOOD.replace(
            "      http:\n",
            "      grpc:\n        keepalive:\n          enforcement_policy: { min_time: 5s }\n      \
             http:\n",
        ),
        &[(
            "receivers.otlp.protocols.grpc.keepalive.enforcement_policy",
            6,
            "not supported by weir: protocols.grpc.keepalive.enforcement_policy",
        )],
    );
}

#[test]
fn max_inflight_bytes_must_be_positive() {
    expect_errors(
        &GOOD.replace("  otlp:\n", "  otlp:\n    max_inflight_bytes: 0\n"),
        &[(
            "receivers.otlp.max_inflight_bytes",
            3,
            "must be more than 0",
        )],
    );
}

#[test]
fn tenant_sources_and_ids_are_checked_where_they_are_written() {
    let text = GOOD.replace(
        "        endpoint: 127.0.0.1:0\n",
        "        endpoint: 127.0.0.1:0\n        frontend_log: { tenant: \"web/app\" }\n    tenant:\n      from: [{ header: X-T }, cookie]\n      default: \"..\"\n",
    );
    expect_errors(
        &text,
        &[
            (
                "receivers.otlp.protocols.http.frontend_log.tenant",
                6,
                "tenant id holds '/'",
            ),
            (
                "receivers.otlp.tenant.from[1]",
                8,
                "unknown tenant source \"cookie\"; use token, client_cert",
            ),
            (
                "receivers.otlp.tenant.default",
                9,
                "tenant id may not be \".\" or \"..\"",
            ),
        ],
    );
}
