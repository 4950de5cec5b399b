//! The page: state rules, both formats, and the endpoint over loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use weir_pipeline::otlp::metrics::v1::{
    AggregationTemporality, Exemplar, ResourceMetrics, exemplar,
};
use weir_pipeline::{Batch, Bundle, Exporter, RequestContext, Signal, TenantId};

use super::render::{Format, Options, render};
use super::state::{Problem, State};
use super::{PrometheusConfig, PrometheusExporter};
use crate::shared::prom::tests::{
    counter, delta_point, gauge, histogram, histogram_point, kv, number, only, resource, sum,
};
use crate::shared::prom::{Point, Settings, Skipped, Translator};

pub(super) fn ctx(tenant: &str) -> RequestContext {
    let mut ctx = RequestContext::for_tests();
    ctx.tenant = TenantId::new(tenant).expect("tenant id");
    ctx
}

fn settings() -> Settings {
    Settings {
        tenant_label: "tenant".into(),
        ..Settings::default()
    }
}

/// Applies `resources` of `tenant` to `state` at `now`; the problems reported.
pub(super) fn apply(
    state: &mut State,
    resources: &[ResourceMetrics],
    tenant: &str,
    now: Instant,
) -> Vec<Problem> {
    let translator = Translator::new(settings());
    let ctx = ctx(tenant);
    let mut problems = Vec::new();
    let mut skipped = Skipped::default();
    translator.translate(tenant, resources, 0, &mut skipped, &mut |p: &Point<'_>| {
        problems.extend(state.update(p, &ctx, now).problem);
    });
    problems
}

pub(super) fn page(state: &State, format: Format) -> String {
    let mut out = String::new();
    let opts = Options {
        format,
        utf8: false,
        timestamps: false,
    };
    render(state, opts, &mut out);
    out
}

fn exemplar() -> Exemplar {
    Exemplar {
        trace_id: vec![0xab; 16],
        span_id: vec![0xcd; 8],
        time_unix_nano: 1_700_000_000_250_000_000,
        value: Some(exemplar::Value::AsDouble(0.25)),
        ..Default::default()
    }
}

pub(super) fn app_metrics(requests: f64) -> Vec<ResourceMetrics> {
    let mut counter_point = number(requests, vec![kv("status", "500")], 1000);
    counter_point.exemplars = vec![exemplar()];
    let mut duration = histogram_point(vec![0.1, 1.0], vec![1, 1, 0], 0.75, 1000);
    duration.exemplars = vec![exemplar()];
    vec![resource(
        vec![kv("service.name", "api")],
        vec![
            counter(
                "http.requests",
                AggregationTemporality::Cumulative,
                vec![counter_point],
            ),
            histogram("http.server.duration", "s", vec![duration]),
            gauge("queue.depth", "", vec![number(4.0, vec![], 1000)]),
        ],
    )]
}

const LABELS: &str = r#"job="api",otel_scope_name="scope",otel_scope_version="1.0""#;

#[test]
fn text_page_has_help_type_and_samples() {
    let mut state = State::new(0, Duration::from_secs(300));
    assert!(apply(&mut state, &app_metrics(3.0), "t1", Instant::now()).is_empty());
    let text = page(&state, Format::Text);
    for line in [
        "# HELP http_requests_total http.requests help\n# TYPE http_requests_total counter\n"
            .to_owned(),
        format!("http_requests_total{{{LABELS},status=\"500\",tenant=\"t1\"}} 3\n"),
        format!("http_server_duration_seconds_bucket{{{LABELS},tenant=\"t1\",le=\"0.1\"}} 1\n"),
        format!("http_server_duration_seconds_bucket{{{LABELS},tenant=\"t1\",le=\"+Inf\"}} 2\n"),
        format!("http_server_duration_seconds_sum{{{LABELS},tenant=\"t1\"}} 0.75\n"),
        format!("http_server_duration_seconds_count{{{LABELS},tenant=\"t1\"}} 2\n"),
        format!("# TYPE queue_depth gauge\nqueue_depth{{{LABELS},tenant=\"t1\"}} 4\n"),
    ] {
        assert!(text.contains(&line), "missing {line:?} in\n{text}");
    }
    assert!(
        !text.contains('#') || !text.contains(" # {"),
        "no exemplars in text 0.0.4"
    );
    assert!(!text.contains("# EOF"));
}

#[test]
fn openmetrics_page_has_exemplars_and_eof() {
    let mut state = State::new(0, Duration::from_secs(300));
    apply(&mut state, &app_metrics(3.0), "t1", Instant::now());
    let om = page(&state, Format::OpenMetrics);
    let ids = r#"span_id="cdcdcdcdcdcdcdcd",trace_id="abababababababababababababababab""#;
    for line in [
        "# TYPE http_requests counter\n".to_owned(),
        format!(
            "http_requests_total{{{LABELS},status=\"500\",tenant=\"t1\"}} 3 # {{{ids}}} 0.25 1700000000.250\n"
        ),
        // 0.25 is in (0.1, 1]: the exemplar is on that bucket.
        format!("http_server_duration_seconds_bucket{{{LABELS},tenant=\"t1\",le=\"0.1\"}} 1\n"),
        format!(
            "http_server_duration_seconds_bucket{{{LABELS},tenant=\"t1\",le=\"1\"}} 2 # {{{ids}}} 0.25 1700000000.250\n"
        ),
    ] {
        assert!(om.contains(&line), "missing {line:?} in\n{om}");
    }
    assert!(om.ends_with("# EOF\n"));
}

#[test]
fn openmetrics_names_the_unit_of_families_whose_name_carries_it() {
    let mut state = State::new(0, Duration::from_secs(300));
    let point = || vec![number(1.0, vec![], 1000)];
    let mut metrics = app_metrics(3.0);
    metrics[0].scope_metrics[0].metrics.extend([
        gauge("cpu.utilization", "1", point()),
        sum(
            "process.cpu.time",
            "s",
            true,
            AggregationTemporality::Cumulative,
            point(),
        ),
        gauge("net.rate", "By/s", point()),
        // The unit is one of the name's tokens already, but not its end: no `# UNIT`.
        gauge("seconds.left", "s", point()),
    ]);
    assert!(apply(&mut state, &metrics, "t1", Instant::now()).is_empty());
    let om = page(&state, Format::OpenMetrics);
    for lines in [
        "# TYPE http_server_duration_seconds histogram\n\
         # UNIT http_server_duration_seconds seconds\n",
        "# TYPE cpu_utilization_ratio gauge\n# UNIT cpu_utilization_ratio ratio\n",
        // A counter's family name has no `_total`, so the unit is its end.
        "# TYPE process_cpu_time_seconds counter\n# UNIT process_cpu_time_seconds seconds\n",
        "# TYPE net_rate_bytes_per_second gauge\n# UNIT net_rate_bytes_per_second bytes_per_second\n",
    ] {
        assert!(om.contains(lines), "missing {lines:?} in\n{om}");
    }
    let units: Vec<&str> = om.lines().filter(|l| l.starts_with("# UNIT ")).collect();
    assert_eq!(
        units.len(),
        4,
        "no unit for {{request}}, none, or a name not ending in it: {om}"
    );
    assert!(om.contains("# TYPE seconds_left gauge\n"), "{om}");
    let text = page(&state, Format::Text);
    assert!(
        !text.contains("# UNIT"),
        "the text format has no unit lines:\n{text}"
    );
}

#[test]
fn conflicts_and_limits_are_dropped_counted_and_reported_once() {
    let mut state = State::new(2, Duration::from_secs(300));
    let now = Instant::now();
    apply(&mut state, &app_metrics(1.0), "t1", now);
    // The same name as a gauge: a type conflict. A gauge named like the histogram's `_count`
    // would clash on the page: a name conflict.
    let clash = vec![resource(
        vec![],
        vec![
            gauge("http.requests.total", "", vec![number(1.0, vec![], 1)]),
            gauge(
                "http.server.duration.seconds.count",
                "",
                vec![number(1.0, vec![], 1)],
            ),
        ],
    )];
    let problems = apply(&mut state, &clash, "t1", now);
    let reasons: Vec<&str> = problems.iter().map(|p| p.reason).collect();
    assert_eq!(reasons, ["type_conflict", "name_conflict"]);
    assert!(
        apply(&mut state, &clash, "t1", now).is_empty(),
        "reported once"
    );
    // Two tenants fill the limit of 2 series for queue_depth; a third is refused.
    apply(&mut state, &app_metrics(1.0), "t2", now);
    let problems = apply(&mut state, &app_metrics(1.0), "t3", now);
    assert!(
        problems
            .iter()
            .any(|p| p.metric == "queue_depth" && p.reason == "series_limit")
    );
    let text = page(&state, Format::Text);
    for line in [
        "weir_prometheus_exporter_dropped_points_total{metric=\"http_requests_total\",reason=\"type_conflict\"} 2\n",
        "weir_prometheus_exporter_dropped_points_total{metric=\"queue_depth\",reason=\"series_limit\"} 1\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains("tenant=\"t3\""), "{text}");
    assert_eq!(text.matches("# TYPE http_requests_total").count(), 1);
}

#[test]
fn help_conflicts_keep_the_first_help() {
    let mut state = State::new(0, Duration::from_secs(300));
    let now = Instant::now();
    apply(&mut state, &app_metrics(1.0), "t1", now);
    let mut other = app_metrics(2.0);
    other[0].scope_metrics[0].metrics[0].description = "another help".into();
    let problems = apply(&mut state, &other, "t1", now);
    assert_eq!(
        problems.iter().map(|p| p.reason).collect::<Vec<_>>(),
        ["help_conflict"]
    );
    let text = page(&state, Format::Text);
    assert!(text.contains("# HELP http_requests_total http.requests help\n"));
    assert!(
        text.contains("status=\"500\",tenant=\"t1\"} 2\n"),
        "the value still updates"
    );
}

#[test]
fn series_expire_and_stale_markers_remove_them() {
    let mut state = State::new(0, Duration::from_secs(60));
    let t0 = Instant::now();
    apply(&mut state, &app_metrics(1.0), "t1", t0);
    let mut stale = number(0.0, vec![kv("status", "500")], 2000);
    stale.flags = 1;
    let stale = vec![resource(
        vec![kv("service.name", "api")],
        vec![sum(
            "http.requests",
            "",
            true,
            AggregationTemporality::Cumulative,
            vec![stale],
        )],
    )];
    apply(&mut state, &stale, "t1", t0);
    assert!(!page(&state, Format::Text).contains("http_requests_total{"));
    state.expire(t0 + Duration::from_secs(59));
    assert!(page(&state, Format::Text).contains("queue_depth{"));
    state.expire(t0 + Duration::from_secs(61));
    assert_eq!(page(&state, Format::Text), "", "everything expired");
    // An expired family frees its names.
    assert!(
        apply(
            &mut state,
            &app_metrics(1.0),
            "t1",
            t0 + Duration::from_secs(62)
        )
        .is_empty()
    );
}

#[test]
fn deltas_add_up_on_the_page() {
    let mut state = State::new(0, Duration::from_secs(300));
    let now = Instant::now();
    for (value, end) in [(2.0, 10), (3.0, 20), (3.0, 20)] {
        let rm = only(counter(
            "jobs",
            AggregationTemporality::Delta,
            vec![delta_point(value, end, 10)],
        ));
        apply(&mut state, &rm, "t1", now);
    }
    assert!(page(&state, Format::Text).contains(
        "jobs_total{otel_scope_name=\"scope\",otel_scope_version=\"1.0\",tenant=\"t1\"} 5\n"
    ));
}

#[test]
fn utf8_names_are_escaped_unless_the_scraper_takes_them() {
    let mut state = State::new(0, Duration::from_secs(300));
    let translator = Translator::new(Settings {
        strategy: crate::shared::prom::TranslationStrategy::NoUtf8EscapingWithSuffixes,
        scope_labels: false,
        ..Settings::default()
    });
    let rm = vec![resource(
        vec![],
        vec![gauge(
            "cpu.temp",
            "Cel",
            vec![number(1.5, vec![kv("core.id", "3")], 1000)],
        )],
    )];
    let ctx = ctx("t1");
    translator.translate("t1", &rm, 0, &mut Skipped::default(), &mut |p: &Point<
        '_,
    >| {
        state.update(p, &ctx, Instant::now());
    });
    let mut out = String::new();
    let mut opts = Options {
        format: Format::Text,
        utf8: false,
        timestamps: true,
    };
    render(&state, opts, &mut out);
    assert!(
        out.contains("# TYPE cpu_temp_celsius gauge\ncpu_temp_celsius{core_id=\"3\"} 1.5 1000\n"),
        "{out}"
    );
    out.clear();
    opts.utf8 = true;
    render(&state, opts, &mut out);
    assert!(
        out.contains(
            "# TYPE \"cpu.temp_celsius\" gauge\n{\"cpu.temp_celsius\",\"core.id\"=\"3\"} 1.5 1000\n"
        ),
        "{out}"
    );
}

pub(super) fn bundle(tenant: &str, resources: Vec<ResourceMetrics>) -> Arc<Bundle> {
    Arc::new(Bundle::single(Arc::new(Batch::new(
        ctx(tenant),
        Signal::Metrics(resources),
    ))))
}

async fn get(addr: std::net::SocketAddr, accept: &str, gzip: bool) -> (String, Vec<u8>) {
    crate::install_crypto_provider();
    let client = reqwest::Client::builder().build().expect("client");
    let mut req = client
        .get(format!("http://{addr}/metrics"))
        .header("accept", accept);
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let resp = req.send().await.expect("GET /metrics");
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    (ct, resp.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn endpoint_serves_what_was_exported() {
    let cfg = PrometheusConfig {
        endpoint: "127.0.0.1:0".into(),
        enable_open_metrics: true,
        ..PrometheusConfig::default()
    };
    let exporter = PrometheusExporter::bind("prometheus", &cfg)
        .await
        .expect("bind");
    exporter
        .export(bundle("team-a", app_metrics(7.0)))
        .await
        .expect("export");
    let addr = exporter.local_addr();

    let (ct, body) = get(addr, "text/plain;version=0.0.4", false).await;
    assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
    let text = String::from_utf8(body).expect("utf-8");
    assert!(
        text.contains("status=\"500\",tenant=\"team-a\"} 7\n"),
        "{text}"
    );

    let (ct, body) = get(addr, "application/openmetrics-text;version=1.0.0", true).await;
    assert!(
        ct.starts_with("application/openmetrics-text; version=1.0.0"),
        "{ct}"
    );
    let mut om = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut om)
        .expect("gzip");
    assert!(
        om.ends_with("# EOF\n") && om.contains(" # {span_id="),
        "{om}"
    );
}

#[tokio::test]
async fn bind_reports_bad_settings_and_busy_ports() {
    let bad = PrometheusConfig {
        endpoint: "nowhere".into(),
        ..PrometheusConfig::default()
    };
    let err = PrometheusExporter::bind("prometheus/x", &bad)
        .await
        .expect_err("invalid");
    assert!(
        err.key.as_deref() == Some("endpoint") && err.to_string().contains("endpoint"),
        "{err}"
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = PrometheusConfig {
        endpoint: taken.local_addr().expect("addr").to_string(),
        ..PrometheusConfig::default()
    };
    let err = PrometheusExporter::bind("prometheus/x", &busy)
        .await
        .expect_err("in use");
    assert!(err.to_string().contains("cannot listen on"), "{err}");
}
