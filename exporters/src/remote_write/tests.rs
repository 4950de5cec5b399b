//! Remote write against an in-process receiver that decodes the real wire format.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use http::{HeaderMap, StatusCode};
use parking_lot::Mutex;
use prost::Message;
use weir_pipeline::otlp::metrics::v1::{
    AggregationTemporality, Exemplar, ResourceMetrics, exemplar,
};
use weir_pipeline::{Batch, Bundle, ExportError, Exporter, RequestContext, Signal, TenantId};

use super::wire::{Encoder, STALE_NAN, TimeSeries, WriteRequest};
use super::{RemoteWriteConfig, RemoteWriteExporter};
use crate::shared::prom::Label;
use crate::shared::prom::tests::{
    counter, delta_point, histogram, histogram_point, kv, number, only, resource,
};

/// A status and headers to answer with.
type Answer = (StatusCode, Vec<(&'static str, &'static str)>);

/// What the receiver got, and what it answers (204 when `answer` is `None`).
#[derive(Default)]
struct Receiver {
    requests: Mutex<Vec<(HeaderMap, Bytes)>>,
    answer: Mutex<Option<Answer>>,
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    r.requests.lock().push((headers, body));
    let answer = r.answer.lock().clone();
    match answer {
        None => StatusCode::NO_CONTENT.into_response(),
        Some((status, hs)) => {
            let mut resp = (status, "out of order sample\n").into_response();
            for (k, v) in hs {
                resp.headers_mut()
                    .insert(k, http::HeaderValue::from_static(v));
            }
            resp
        }
    }
}

async fn receiver() -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver::default());
    let app = Router::new()
        .route("/api/v1/write", post(receive))
        .with_state(Arc::clone(&r));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/api/v1/write",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (r, url)
}

fn exporter(url: &str, edit: impl FnOnce(&mut RemoteWriteConfig)) -> RemoteWriteExporter {
    crate::install_crypto_provider();
    let mut cfg: RemoteWriteConfig =
        serde_yaml_ng::from_str(&format!("endpoint: {url}")).expect("config");
    edit(&mut cfg);
    RemoteWriteExporter::new("prometheusremotewrite", &cfg).expect("exporter")
}

fn bundle(tenant: &str, resources: Vec<ResourceMetrics>) -> Arc<Bundle> {
    let mut ctx = RequestContext::for_tests();
    ctx.tenant = TenantId::new(tenant).expect("tenant");
    Arc::new(Bundle::single(Arc::new(Batch::new(
        ctx,
        Signal::Metrics(resources),
    ))))
}

fn decode(body: &[u8]) -> WriteRequest {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .expect("snappy");
    WriteRequest::decode(raw.as_slice()).expect("WriteRequest")
}

fn labels(ts: &TimeSeries) -> Vec<(&str, &str)> {
    ts.labels
        .iter()
        .map(|l| (l.name.as_str(), l.value.as_str()))
        .collect()
}

fn series<'a>(req: &'a WriteRequest, name: &str) -> Vec<&'a TimeSeries> {
    req.timeseries
        .iter()
        .filter(|t| {
            t.labels
                .iter()
                .any(|l| l.name == "__name__" && l.value == name)
        })
        .collect()
}

fn app_metrics() -> Vec<ResourceMetrics> {
    let mut requests = number(
        6.0,
        vec![kv("status", "500"), kv("HTTP.Method", "GET")],
        5000,
    );
    let ex = Exemplar {
        trace_id: vec![0x11; 16],
        span_id: vec![0x22; 8],
        time_unix_nano: 4_000_000_000,
        value: Some(exemplar::Value::AsDouble(0.3)),
        ..Default::default()
    };
    requests.exemplars = vec![ex.clone()];
    let mut duration = histogram_point(vec![0.1, 1e6], vec![1, 2, 0], 1.5, 5000);
    duration.exemplars = vec![ex];
    vec![resource(
        vec![
            kv("service.name", "api"),
            kv("service.instance.id", "i-1"),
            kv("host.name", "n1"),
        ],
        vec![
            counter(
                "http.requests",
                AggregationTemporality::Cumulative,
                vec![requests],
            ),
            histogram("http.server.duration", "s", vec![duration]),
        ],
    )]
}

#[tokio::test]
async fn writes_snappy_protobuf_with_the_remote_write_headers() {
    let (rx, url) = receiver().await;
    let exp = exporter(&url, |c| {
        c.external_labels.insert("cluster".into(), "eu1".into());
    });
    exp.export(bundle("team-a", app_metrics()))
        .await
        .expect("export");
    let requests = rx.requests.lock().clone();
    assert_eq!(requests.len(), 1);
    let (headers, body) = &requests[0];
    for (k, v) in [
        ("content-encoding", "snappy"),
        ("content-type", "application/x-protobuf"),
        ("x-prometheus-remote-write-version", "0.1.0"),
        ("x-scope-orgid", "team-a"),
    ] {
        assert_eq!(headers[k], v, "{k}");
    }
    let req = decode(body);
    for ts in &req.timeseries {
        let names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
        assert!(
            names.windows(2).all(|w| w[0] < w[1]),
            "labels sorted and unique: {names:?}"
        );
    }
    let counter = series(&req, "http_requests_total");
    assert_eq!(
        labels(counter[0]),
        [
            ("HTTP_Method", "GET"),
            ("__name__", "http_requests_total"),
            ("cluster", "eu1"),
            ("instance", "i-1"),
            ("job", "api"),
            ("otel_scope_name", "scope"),
            ("otel_scope_version", "1.0"),
            ("status", "500"),
        ]
    );
    assert_eq!(
        (counter[0].samples[0].value, counter[0].samples[0].timestamp),
        (6.0, 5000)
    );
    let ex = &counter[0].exemplars[0];
    assert_eq!((ex.value, ex.timestamp), (0.3, 4000));
    assert_eq!(ex.labels[1].value, "11111111111111111111111111111111");

    let buckets = series(&req, "http_server_duration_seconds_bucket");
    let le: Vec<(&str, f64, usize)> = buckets
        .iter()
        .map(|t| {
            let le = t.labels.iter().find(|l| l.name == "le").expect("le");
            (le.value.as_str(), t.samples[0].value, t.exemplars.len())
        })
        .collect();
    assert_eq!(le, [("0.1", 1.0, 0), ("1e+06", 3.0, 1), ("+Inf", 3.0, 0)]);
    assert_eq!(
        series(&req, "http_server_duration_seconds_sum")[0].samples[0].value,
        1.5
    );
    assert_eq!(
        series(&req, "http_server_duration_seconds_count")[0].samples[0].value,
        3.0
    );
    let info = series(&req, "target_info");
    assert!(labels(info[0]).contains(&("host_name", "n1")));
    assert_eq!(info[0].samples[0].timestamp, 5000);
    assert!(req.metadata.is_empty(), "send_metadata is off");
}

#[tokio::test]
async fn stale_points_become_staleness_markers() {
    let (rx, url) = receiver().await;
    let exp = exporter(&url, |_| {});
    let mut gone = number(0.0, vec![], 7000);
    gone.flags = 1;
    gone.value = None;
    let rm = only(counter(
        "jobs",
        AggregationTemporality::Cumulative,
        vec![gone],
    ));
    exp.export(bundle("t", rm)).await.expect("export");
    let req = decode(&rx.requests.lock()[0].1);
    let s = &series(&req, "jobs_total")[0].samples[0];
    assert_eq!(
        (s.value.to_bits(), s.timestamp),
        (STALE_NAN.to_bits(), 7000)
    );
    assert!(
        series(&req, "target_info").is_empty(),
        "a stale point alone makes no target_info"
    );
}

#[tokio::test]
async fn deltas_are_sent_as_running_totals_and_retries_do_not_double_count() {
    let (rx, url) = receiver().await;
    let exp = exporter(&url, |c| c.send_metadata = true);
    let delta = |v: f64, end: u64| {
        let p = delta_point(v, end, 1000);
        bundle(
            "t",
            only(counter("jobs", AggregationTemporality::Delta, vec![p])),
        )
    };
    exp.export(delta(2.0, 2000)).await.expect("first");
    let second = delta(3.0, 3000);
    exp.export(Arc::clone(&second)).await.expect("second");
    exp.export(second).await.expect("the same bundle retried");
    let values: Vec<f64> = rx
        .requests
        .lock()
        .iter()
        .map(|(_, b)| series(&decode(b), "jobs_total")[0].samples[0].value)
        .collect();
    assert_eq!(values, [2.0, 5.0, 5.0]);
    let req = decode(&rx.requests.lock()[0].1);
    assert_eq!(req.metadata[0].metric_family_name, "jobs_total");
    assert_eq!(
        (req.metadata[0].r#type, req.metadata[0].help.as_str()),
        (1, "jobs help")
    );
}

#[tokio::test]
async fn answers_map_to_retryable_and_permanent() {
    let (rx, url) = receiver().await;
    let exp = exporter(&url, |_| {});
    *rx.answer.lock() = Some((StatusCode::TOO_MANY_REQUESTS, vec![("retry-after", "7")]));
    match exp.export(bundle("t", app_metrics())).await {
        Err(ExportError::Retryable { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
        }
        other => panic!("429 must be retryable: {other:?}"),
    }
    *rx.answer.lock() = Some((StatusCode::SERVICE_UNAVAILABLE, vec![]));
    assert!(
        exp.export(bundle("t", app_metrics()))
            .await
            .expect_err("503")
            .is_retryable()
    );
    *rx.answer.lock() = Some((StatusCode::BAD_REQUEST, vec![]));
    let err = exp
        .export(bundle("t", app_metrics()))
        .await
        .expect_err("400");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("out of order sample"), "{err}");
    // Nothing listening: retryable.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let gone = exporter(&format!("http://{addr}/api/v1/write"), |_| {});
    assert!(
        gone.export(bundle("t", app_metrics()))
            .await
            .expect_err("refused")
            .is_retryable()
    );
}

#[tokio::test]
async fn big_bundles_are_split_and_a_configured_header_beats_the_tenant() {
    let (rx, url) = receiver().await;
    let exp = exporter(&url, |c| {
        c.max_batch_size_bytes = 1024;
        c.headers
            .insert("X-Scope-OrgID", "fixed")
            .expect("valid header");
    });
    let points = (0..100)
        .map(|i| number(1.0, vec![kv("i", &i.to_string())], 1000))
        .collect();
    let rm = only(counter("jobs", AggregationTemporality::Cumulative, points));
    exp.export(bundle("team-a", rm)).await.expect("export");
    let requests = rx.requests.lock().clone();
    assert!(requests.len() > 1, "split into {} requests", requests.len());
    let total: usize = requests
        .iter()
        .map(|(_, b)| decode(b).timeseries.len())
        .sum();
    assert_eq!(total, 100);
    for (headers, body) in &requests {
        assert_eq!(headers["x-scope-orgid"], "fixed");
        let raw = snap::raw::Decoder::new()
            .decompress_vec(body)
            .expect("snappy");
        assert!(raw.len() <= 1024, "{} bytes", raw.len());
    }
}

#[test]
fn encoder_bytes_are_what_prost_encodes() {
    let labels = [
        Label::new("a", "1"),
        Label::new("le", "attr"),
        Label::new("z", "2"),
    ];
    let mut enc = Encoder::new(1 << 20);
    let ex = crate::shared::prom::PromExemplar {
        labels: vec![("trace_id", "ab".into())],
        value: 0.5,
        time_ms: None,
    };
    enc.series(
        &labels,
        &[("__name__", "x_bucket"), ("le", "0.5")],
        0.0,
        1234,
        &[&ex],
    );
    enc.series(&[], &[("__name__", "y")], -2.5, -1, &[]);
    enc.metadata(3, "x", "help", "");
    let body = enc.finish().remove(0);
    let decoded = WriteRequest::decode(body.as_slice()).expect("decodes");
    assert_eq!(decoded.encode_to_vec(), body, "byte-identical to prost");
    assert_eq!(
        labels_of(&decoded.timeseries[0]),
        [
            ("__name__", "x_bucket"),
            ("a", "1"),
            ("le", "0.5"),
            ("z", "2")
        ]
    );
    assert_eq!(decoded.timeseries[0].exemplars[0].timestamp, 1234);
    assert_eq!(decoded.timeseries[1].samples[0].timestamp, -1);
}

fn labels_of(ts: &TimeSeries) -> Vec<(&str, &str)> {
    labels(ts)
}

#[test]
fn new_refuses_bad_settings() {
    crate::install_crypto_provider();
    let err = RemoteWriteExporter::new("prometheusremotewrite", &RemoteWriteConfig::default())
        .expect_err("no endpoint");
    assert!(err.to_string().contains("endpoint"), "{err}");
}
