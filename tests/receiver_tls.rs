//! TLS and mutual TLS on both OTLP receivers, with the real binary: a client presenting a
//! certificate signed by `client_ca_file` is served and its subject CN is the tenant
//! (`tenant.from: [client_cert]`); a client without one, or with one from another CA, is refused
//! at the handshake and nothing is recorded; weir keeps serving after such a client; the TLS files
//! are read when the receiver binds, not when the config is validated. What was served balances
//! in the loss ledger.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use rcgen::ExtendedKeyUsagePurpose;
use serde_json::json;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use common::pki::{ClientCert, ca, leaf};
use common::{DEBUG_AND_ADMIN, Weir, ledger};

/// A CA, weir's server certificate (localhost, 127.0.0.1) and a client certificate whose
/// subject CN is `team-a`, written as PEM files into a temp dir.
struct Pki {
    dir: tempfile::TempDir,
    ca: String,
    client: ClientCert,
}

impl Pki {
    fn new() -> Self {
        let ca = ca("weir test CA");
        let server = leaf(&ca, "weir", ExtendedKeyUsagePurpose::ServerAuth);
        let client = leaf(&ca, "team-a", ExtendedKeyUsagePurpose::ClientAuth);
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text).expect("write PEM");
        };
        write("ca.pem", &ca.pem());
        write("server.pem", &server.cert);
        write("server-key.pem", &server.key);
        Self {
            dir,
            ca: ca.pem(),
            client,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `tls:` with the server certificate and, with `mtls`, client verification.
    fn tls_yaml(&self, mtls: bool) -> String {
        let show = |p: PathBuf| p.to_str().expect("UTF-8 path").to_owned();
        let ca = if mtls {
            format!(", client_ca_file: {}", show(self.path("ca.pem")))
        } else {
            String::new()
        };
        format!(
            "{{ cert_file: {}, key_file: {}{ca} }}",
            show(self.path("server.pem")),
            show(self.path("server-key.pem"))
        )
    }

    /// weir's config: both protocols over TLS, the tenant from the client certificate, every
    /// signal to the debug exporter.
    fn config(&self, mtls: bool) -> String {
        self.config_from(mtls, "[client_cert]")
    }

    /// [`Pki::config`] with the tenant sources `from`.
    fn config_from(&self, mtls: bool, from: &str) -> String {
        let tls = self.tls_yaml(mtls);
        format!(
            "\
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: 127.0.0.1:0, tls: {tls} }}
      http: {{ endpoint: 127.0.0.1:0, tls: {tls} }}
    tenant: {{ from: {from}, default: default }}
{DEBUG_AND_ADMIN}  pipelines:
    traces:  {{ receivers: [otlp], exporters: [debug] }}
"
        )
    }
}

fn trace_json() -> Vec<u8> {
    serde_json::to_vec(&json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": "eee19b7ec3c1b174",
            "name": "GET /cart",
            "startTimeUnixNano": "1", "endTimeUnixNano": "2"
        }]}]
    }]}))
    .expect("json")
}

fn trace_request() -> ExportTraceServiceRequest {
    let service = KeyValue {
        key: "service.name".into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue("checkout".into())),
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![service],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![7; 16],
                    span_id: vec![9; 8],
                    name: "GET /cart".into(),
                    start_time_unix_nano: 1,
                    end_time_unix_nano: 2,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// An HTTPS client trusting only the test CA, presenting `identity` when given.
fn https_client(ca: &str, identity: Option<&ClientCert>) -> reqwest::Client {
    weir::install_crypto_provider();
    let root = reqwest::Certificate::from_pem(ca.as_bytes()).expect("CA PEM");
    let mut builder = reqwest::Client::builder().tls_certs_only([root]);
    if let Some(id) = identity {
        let pem = format!("{}{}", id.cert, id.key);
        builder =
            builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).expect("identity PEM"));
    }
    builder.build().expect("build HTTPS client")
}

async fn post_traces(weir: &Weir, client: &reqwest::Client) -> Result<u16, reqwest::Error> {
    post_traces_as(weir, client, trace_json(), None).await
}

/// POSTs `body` over HTTPS, with an `X-Scope-OrgID` header when given.
async fn post_traces_as(
    weir: &Weir,
    client: &reqwest::Client,
    body: Vec<u8>,
    header: Option<&str>,
) -> Result<u16, reqwest::Error> {
    let mut req = client
        .post(format!(
            "https://localhost:{}/v1/traces",
            weir.http_addr.port()
        ))
        .header("content-type", "application/json")
        .body(body);
    if let Some(tenant) = header {
        req = req.header("x-scope-orgid", tenant);
    }
    let resp = req.send().await?;
    Ok(resp.status().as_u16())
}

/// Exports one span over gRPC with TLS, presenting `identity` when given.
async fn grpc_export(weir: &Weir, ca: &str, identity: Option<&ClientCert>) -> Result<(), String> {
    weir::install_crypto_provider();
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some(id) = identity {
        tls = tls.identity(Identity::from_pem(&id.cert, &id.key));
    }
    let endpoint: Endpoint = Channel::from_shared(format!("https://{}", weir.grpc_addr))
        .map_err(|e| e.to_string())?
        .tls_config(tls)
        .map_err(|e| e.to_string())?;
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    TraceServiceClient::new(channel)
        .export(trace_request())
        .await
        .map(drop)
        .map_err(|status| format!("export: {status:?}"))
}

fn tenants(weir: &Weir) -> Vec<String> {
    weir.records_of("traces")
        .iter()
        .map(|r| r["tenant"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_client_certificate_is_served_and_its_cn_is_the_tenant() {
    let pki = Pki::new();
    let mut weir = Weir::start(&pki.config(true));

    let with_cert = https_client(&pki.ca, Some(&pki.client));
    assert_eq!(
        post_traces(&weir, &with_cert)
            .await
            .expect("HTTPS with a client cert"),
        200
    );
    assert_eq!(tenants(&weir), ["team-a"]);

    // Without a certificate, and with one from another CA: refused at the handshake.
    let without = https_client(&pki.ca, None);
    let refused = post_traces(&weir, &without).await;
    assert!(
        refused.is_err(),
        "a client without a certificate was answered: {refused:?}"
    );
    let stranger = leaf(
        &ca("another CA"),
        "team-b",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let refused = post_traces(&weir, &https_client(&pki.ca, Some(&stranger))).await;
    assert!(
        refused.is_err(),
        "a certificate from another CA was accepted: {refused:?}"
    );
    assert_eq!(
        tenants(&weir),
        ["team-a"],
        "refused clients recorded nothing"
    );

    // The refused handshakes did not stop the server; a fresh connection is served.
    let again = https_client(&pki.ca, Some(&pki.client));
    assert_eq!(
        post_traces(&weir, &again)
            .await
            .expect("served after refusals"),
        200
    );
    assert_eq!(tenants(&weir), ["team-a", "team-a"]);

    // Plain HTTP to the TLS port is no OTLP request either.
    let plain = common::http_client()
        .post(format!("http://{}/v1/traces", weir.http_addr))
        .header("content-type", "application/json")
        .body(trace_json())
        .send()
        .await;
    assert!(
        plain.is_err(),
        "plain HTTP on the TLS port was answered: {plain:?}"
    );

    ledger::assert_balanced(&weir, &[("traces", "debug")]).await;
    // Shutdown with the HTTPS loop is graceful: weir exits 0.
    assert!(weir.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_over_tls_needs_a_client_certificate_and_takes_its_cn_as_tenant() {
    let pki = Pki::new();
    let weir = Weir::start(&pki.config(true));

    grpc_export(&weir, &pki.ca, Some(&pki.client))
        .await
        .expect("gRPC with a client certificate");
    assert_eq!(tenants(&weir), ["team-a"]);

    let refused = grpc_export(&weir, &pki.ca, None).await;
    assert!(
        refused.is_err(),
        "gRPC without a client certificate was served"
    );
    assert_eq!(
        tenants(&weir),
        ["team-a"],
        "the refused client recorded nothing"
    );

    grpc_export(&weir, &pki.ca, Some(&pki.client))
        .await
        .expect("served after a refused handshake");
    assert_eq!(tenants(&weir), ["team-a", "team-a"]);
    ledger::assert_balanced(&weir, &[("traces", "debug")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_without_client_ca_serves_any_client_with_the_default_tenant() {
    let pki = Pki::new();
    let weir = Weir::start(&pki.config(false));

    let without = https_client(&pki.ca, None);
    assert_eq!(post_traces(&weir, &without).await.expect("HTTPS"), 200);
    grpc_export(&weir, &pki.ca, None)
        .await
        .expect("gRPC over TLS");
    assert_eq!(tenants(&weir), ["default", "default"]);
    ledger::assert_balanced(&weir, &[("traces", "debug")]).await;
}

fn weir_command(verb: &str, config: &Path) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
    command.arg(verb);
    if verb == "run" {
        command.arg("--config");
    }
    command.arg(config).output().expect("run weir")
}

#[test]
fn tls_files_are_read_at_bind_and_a_bad_one_is_named() {
    let pki = Pki::new();
    let missing = pki.path("missing-server.pem");
    let config = pki
        .config(true)
        .replace(
            pki.path("server.pem").to_str().expect("UTF-8"),
            missing.to_str().expect("UTF-8"),
        )
        .replace("{OUT}", pki.path("out.jsonl").to_str().expect("UTF-8"));
    let path = pki.path("weir.yaml");
    std::fs::write(&path, config).expect("write config");

    let validated = weir_command("validate", &path);
    assert!(
        validated.status.success(),
        "validation opens no file, so a missing cert_file passes it: {}",
        String::from_utf8_lossy(&validated.stderr)
    );

    let run = weir_command("run", &path);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success(),
        "weir ran without its certificate: {stderr}"
    );
    assert!(
        stderr.contains("tls.cert_file") && stderr.contains("missing-server.pem"),
        "the error names the key and the file: {stderr}"
    );
}

#[test]
fn cert_file_without_key_file_is_a_config_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("weir.yaml");
    let config = common::DEBUG_CONFIG
        .replace(
            "http: { endpoint: 127.0.0.1:0 }",
            "http: { endpoint: 127.0.0.1:0, tls: { cert_file: server.pem } }",
        )
        .replace(
            "{OUT}",
            dir.path().join("out.jsonl").to_str().expect("UTF-8"),
        );
    std::fs::write(&path, config).expect("write config");
    let out = weir_command("validate", &path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "validated: {stderr}");
    assert!(
        stderr.contains("receivers.otlp.protocols.http.tls")
            && stderr.contains("key_file is required with cert_file"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_certificate_pins_the_tenant_and_other_sources_may_only_agree() {
    let pki = Pki::new();
    // The resource and header sources are listed before the certificate: proof wins anyway.
    let weir = Weir::start(&pki.config_from(
        true,
        "[{ resource: tenant.id }, { header: X-Scope-OrgID }, client_cert]",
    ));
    let client = https_client(&pki.ca, Some(&pki.client));
    let naming = |tenant: &str| {
        serde_json::to_vec(&json!({"resourceSpans": [{
            "resource": {"attributes": [{"key": "tenant.id", "value": {"stringValue": tenant}}]},
            "scopeSpans": [{"spans": [{
                "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
                "name": "x", "startTimeUnixNano": "1", "endTimeUnixNano": "2"
            }]}]
        }]}))
        .expect("json")
    };
    let status = |r: Result<u16, reqwest::Error>| r.expect("answered");
    let post = |body, header| post_traces_as(&weir, &client, body, header);
    assert_eq!(status(post(naming("team-b"), None).await), 403);
    assert_eq!(status(post(trace_json(), Some("team-b")).await), 403);
    assert_eq!(status(post(naming("team-a"), Some("team-a")).await), 200);
    assert_eq!(status(post_traces(&weir, &client).await), 200);
    assert_eq!(
        tenants(&weir),
        ["team-a", "team-a"],
        "nothing exported as team-b"
    );
    ledger::assert_balanced(&weir, &[("traces", "debug")]).await;
}
