//! Tests of the `loki` exporter against a fake Loki that decodes the real wire format.

mod config;
mod errors;
mod fake;
mod partial;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use weir_pipeline::otlp::common::v1::{AnyValue, any_value::Value};
use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::test_util::kv;
use weir_pipeline::{Batch, Bundle, Exporter, Signal, TenantId};

use super::*;
use crate::shared::fixtures::{batch, install_ring};
use fake::{FakeLoki, GotStream};

const TRACE: [u8; 16] = [0xab; 16];
const SPAN: [u8; 8] = [0xcd; 8];

/// A log record: `body` at `nanos`, severity number `sev` (text from it), `attrs`.
fn log(body: &str, nanos: u64, sev: i32, attrs: &[(&str, &str)]) -> LogRecord {
    let text = match sev {
        9 => "INFO",
        13 => "WARN",
        17 => "ERROR",
        _ => "",
    };
    LogRecord {
        time_unix_nano: nanos,
        severity_number: sev,
        severity_text: text.into(),
        body: Some(AnyValue {
            value: Some(Value::StringValue(body.into())),
        }),
        attributes: attrs.iter().map(|(k, v)| kv(k, v)).collect(),
        ..Default::default()
    }
}

/// Resource logs of a resource with `attrs` (none at all: no resource).
fn resource_logs(attrs: &[(&str, &str)], records: Vec<LogRecord>) -> ResourceLogs {
    ResourceLogs {
        resource: (!attrs.is_empty()).then(|| Resource {
            attributes: attrs.iter().map(|(k, v)| kv(k, v)).collect(),
            ..Default::default()
        }),
        scope_logs: vec![ScopeLogs {
            log_records: records,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn logs_batch(tenant: &str, resources: Vec<ResourceLogs>) -> Arc<Batch> {
    batch(tenant, Signal::Logs(resources))
}

fn bundle(parts: Vec<Arc<Batch>>) -> Arc<Bundle> {
    Arc::new(Bundle::of(parts).expect("one tenant"))
}

fn config(fake: &FakeLoki) -> LokiConfig {
    LokiConfig {
        endpoint: fake.url().parse().ok(),
        ..Default::default()
    }
}

fn exporter(cfg: &LokiConfig) -> LokiExporter {
    install_ring();
    LokiExporter::new("loki/test", cfg).expect("exporter")
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Structured metadata as a map: JSON objects do not keep their order.
fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    labels(pairs)
}

fn meta_of(entry: &fake::Got) -> BTreeMap<String, String> {
    let map: BTreeMap<_, _> = entry.metadata.iter().cloned().collect();
    assert_eq!(map.len(), entry.metadata.len(), "no name twice: {entry:?}");
    map
}

/// Two batches of tenant `acme`: checkout (env prod) with three records out of time order,
/// cart (no env, no severity, only an observed time), and a record with no resource at all.
fn two_batches() -> (Arc<Bundle>, [String; 2]) {
    let mut paid = log(
        "b later",
        3_000,
        9,
        &[
            ("http.route", "/pay"),
            ("request.id", "req-1"),
            ("user.id", "u1"),
        ],
    );
    paid.trace_id = TRACE.to_vec();
    paid.span_id = SPAN.to_vec();
    let first = logs_batch(
        "acme",
        vec![resource_logs(
            &[
                ("service.name", "checkout"),
                ("deployment.environment.name", "prod"),
            ],
            vec![
                paid,
                log("a earlier", 1_000, 9, &[("http.route", "/pay")]),
                log("warned", 2_000, 13, &[]),
            ],
        )],
    );
    let mut cart = log("cart line", 0, 0, &[]);
    cart.observed_time_unix_nano = 500;
    let second = logs_batch(
        "acme",
        vec![
            resource_logs(&[("service.name", "cart")], vec![cart]),
            resource_logs(&[], vec![log("anon", 0, 0, &[])]),
        ],
    );
    let ids = [
        first.ctx.request_id.as_str().to_owned(),
        second.ctx.request_id.as_str().to_owned(),
    ];
    (bundle(vec![first, second]), ids)
}

fn labelled_config(fake: &FakeLoki) -> LokiConfig {
    let yaml = format!(
        "endpoint: {}\nlabels:\n  resource: {{ deployment.environment.name: env }}\n  \
         attributes: [http.route]\nstructured_metadata: {{ attributes: [user.id] }}\n",
        fake.url()
    );
    serde_yaml_ng::from_str(&yaml).expect("config")
}

/// What `two_batches` must become, whatever the body format.
fn check_two_batches(streams: &[GotStream], ids: &[String; 2], before: u64) {
    let got: Vec<_> = streams.iter().map(|s| s.labels.clone()).collect();
    assert_eq!(
        got,
        [
            labels(&[
                ("env", "prod"),
                ("http_route", "/pay"),
                ("level", "info"),
                ("service_name", "checkout")
            ]),
            labels(&[
                ("env", "prod"),
                ("level", "warn"),
                ("service_name", "checkout")
            ]),
            labels(&[("service_name", "cart")]),
            labels(&[("service_name", "unknown_service")]),
        ],
        "one stream per label set, in first-seen order"
    );
    let lines: Vec<Vec<&str>> = streams
        .iter()
        .map(|s| s.entries.iter().map(|e| e.line.as_str()).collect())
        .collect();
    assert_eq!(
        lines,
        [
            vec!["a earlier", "b later"],
            vec!["warned"],
            vec!["cart line"],
            vec!["anon"]
        ]
    );
    let pay = &streams[0].entries;
    assert_eq!(
        (pay[0].nanos, pay[1].nanos),
        (1_000, 3_000),
        "sorted by time"
    );
    assert_eq!(
        meta_of(&pay[1]),
        meta(&[
            ("trace_id", &"ab".repeat(16)),
            ("span_id", &"cd".repeat(8)),
            ("request_id", "req-1"),
            ("severity_text", "INFO"),
            ("severity_number", "9"),
            ("user_id", "u1"),
        ])
    );
    assert_eq!(
        meta_of(&pay[0]),
        meta(&[
            ("request_id", &ids[0]),
            ("severity_text", "INFO"),
            ("severity_number", "9")
        ]),
        "no ids on the record: the request's id links it to weir's own logs"
    );
    assert_eq!(
        streams[2].entries[0].nanos, 500,
        "observed time when there is no time"
    );
    assert_eq!(
        meta_of(&streams[2].entries[0]),
        meta(&[("request_id", &ids[1])])
    );
    let anon = streams[3].entries[0].nanos;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as i128;
    assert!(
        anon >= i128::from(before) - 1_000_000_000 && anon <= now,
        "arrival time {anon}"
    );
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64
}

#[tokio::test]
async fn a_bundle_is_one_snappy_protobuf_push_of_sorted_streams() {
    let fake = FakeLoki::start().await;
    let before = now_nanos();
    let (bundle, ids) = two_batches();
    exporter(&labelled_config(&fake))
        .export(bundle)
        .await
        .expect("pushed");
    let pushes = fake.pushes();
    assert_eq!(pushes.len(), 1, "one push per bundle");
    let push = &pushes[0];
    assert_eq!(push.path, "/loki/api/v1/push");
    assert_eq!(push.content_type.as_deref(), Some("application/x-protobuf"));
    assert_eq!(push.tenant.as_deref(), Some("acme"));
    check_two_batches(&push.streams, &ids, before);
}

#[tokio::test]
async fn json_pushes_carry_the_same_streams_gzipped_or_not() {
    let fake = FakeLoki::start().await;
    let before = now_nanos();
    let (bundle, ids) = two_batches();
    let mut cfg = labelled_config(&fake);
    cfg.format = PushFormat::Json;
    exporter(&cfg).export(bundle.clone()).await.expect("gzip");
    cfg.compression = Some(BodyCompression::None);
    exporter(&cfg).export(bundle).await.expect("plain");
    let pushes = fake.pushes();
    assert_eq!(pushes[0].content_encoding.as_deref(), Some("gzip"));
    assert_eq!(pushes[1].content_encoding, None);
    for push in &pushes {
        assert_eq!(push.content_type.as_deref(), Some("application/json"));
        check_two_batches(&push.streams, &ids, before);
    }
}

#[tokio::test]
async fn without_structured_metadata_json_lines_carry_the_trace() {
    let fake = FakeLoki::start().await;
    let mut cfg = labelled_config(&fake);
    cfg.structured_metadata.enabled = false;
    cfg.line_format = LineFormat::Json;
    let (bundle, _) = two_batches();
    exporter(&cfg).export(bundle).await.expect("pushed");
    let push = &fake.pushes()[0];
    assert!(
        push.streams
            .iter()
            .flat_map(|s| &s.entries)
            .all(|e| e.metadata.is_empty())
    );
    let line: serde_json::Value =
        serde_json::from_str(&push.streams[0].entries[1].line).expect("json");
    assert_eq!(
        line,
        serde_json::json!({"body": "b later", "severity": "INFO", "trace_id": "ab".repeat(16),
            "span_id": "cd".repeat(8),
            "attributes": {"http.route": "/pay", "request.id": "req-1", "user.id": "u1"}})
    );
}

#[tokio::test]
async fn the_guard_moves_configured_labels_of_new_sets_to_metadata() {
    let fake = FakeLoki::start().await;
    let mut cfg = labelled_config(&fake);
    cfg.max_label_sets_per_tenant = 2;
    let routes = |tenant: &str| {
        let mut records: Vec<_> = ["/a", "/b", "/c", "/d", "/a"]
            .iter()
            .enumerate()
            .map(|(i, r)| log(&format!("hit {r}"), i as u64 + 1, 9, &[("http.route", r)]))
            .collect();
        // Default labels only: taken past the limit, not counted, nothing moved.
        records.push(log("no route", 6, 9, &[]));
        bundle(vec![logs_batch(
            tenant,
            vec![resource_logs(&[("service.name", "api")], records)],
        )])
    };
    let exp = exporter(&cfg);
    exp.export(routes("small")).await.expect("pushed");
    exp.export(routes("other")).await.expect("pushed");
    let pushes = fake.pushes();
    for push in &pushes {
        let sets: Vec<_> = push
            .streams
            .iter()
            .map(|s| s.labels.get("http_route").cloned())
            .collect();
        assert_eq!(
            sets,
            [Some("/a".to_owned()), Some("/b".to_owned()), None],
            "two sets kept per tenant, the rest folded into the default labels"
        );
        let folded = &push.streams[2];
        assert_eq!(
            folded.labels,
            labels(&[("level", "info"), ("service_name", "api")])
        );
        let moved: Vec<_> = folded
            .entries
            .iter()
            .map(|e| {
                e.metadata
                    .iter()
                    .find(|(k, _)| k == "http_route")
                    .map(|(_, v)| v.as_str())
            })
            .collect();
        assert_eq!(
            moved,
            [Some("/c"), Some("/d"), None],
            "the label went to structured metadata"
        );
        assert_eq!(push.streams[0].entries.len(), 2, "a known set still passes");
    }
    assert_eq!(exp.stats().labels_moved, 4, "two entries per tenant");
}

#[tokio::test]
async fn the_tenant_is_the_batch_s_a_fixed_one_or_none() {
    let fake = FakeLoki::start().await;
    let one = || {
        bundle(vec![logs_batch(
            "team-a",
            vec![resource_logs(&[], vec![log("x", 1, 9, &[])])],
        )])
    };
    let mut cfg = config(&fake);
    exporter(&cfg).export(one()).await.expect("batch tenant");
    cfg.tenant_id = TenantId::new("fixed").ok();
    exporter(&cfg).export(one()).await.expect("fixed tenant");
    cfg.tenant_id = None;
    cfg.headers
        .insert("x-scope-orgid", "from-headers")
        .expect("valid header");
    cfg.headers
        .insert("Authorization", "Basic abc")
        .expect("valid header");
    exporter(&cfg).export(one()).await.expect("header");
    cfg.headers = Headers::default();
    cfg.tenant_header = TenantHeader::none();
    exporter(&cfg).export(one()).await.expect("no tenant");
    let tenants: Vec<_> = fake.pushes().into_iter().map(|p| p.tenant).collect();
    assert_eq!(
        tenants,
        [
            Some("team-a".into()),
            Some("fixed".into()),
            Some("from-headers".into()),
            None
        ]
    );
    assert_eq!(fake.pushes()[2].authorization.as_deref(), Some("Basic abc"));
}

#[tokio::test]
async fn an_endpoint_without_a_path_gets_the_push_path_and_empty_bundles_send_nothing() {
    let fake = FakeLoki::start().await;
    let cfg = LokiConfig {
        endpoint: format!("http://{}", fake.addr).parse().ok(),
        ..Default::default()
    };
    let exp = exporter(&cfg);
    exp.export(bundle(vec![logs_batch("a", vec![])]))
        .await
        .expect("nothing to send");
    assert!(fake.pushes().is_empty());
    exp.export(bundle(vec![logs_batch(
        "a",
        vec![resource_logs(&[], vec![log("x", 1, 0, &[])])],
    )]))
    .await
    .expect("pushed");
    assert_eq!(fake.pushes()[0].path, PUSH_PATH);
    assert_eq!(fake.pushes()[0].lines(), ["x"]);
}
