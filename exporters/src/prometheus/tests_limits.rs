//! The page's bounds: expiry work linear in what expires, the `max_metrics` and `max_series`
//! limits, and refused points reported to the loss ledger (but never `target_info`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use weir_pipeline::{Exporter, RequestContext};

use super::render::Format;
use super::state::State;
use super::tests::{app_metrics, apply, bundle, ctx, page};
use super::{PrometheusConfig, PrometheusExporter, expiry_period};
use crate::shared::prom::tests::{gauge, kv, number, resource};
use crate::shared::prom::{Family, MetricType, Point, Value};

/// Puts a gauge point of family `name` with one label `k="v"`; why it was refused.
fn put(
    state: &mut State,
    name: &Arc<str>,
    v: &str,
    ctx: &RequestContext,
    now: Instant,
) -> Option<&'static str> {
    let labels = [crate::shared::prom::Label::new("k", v)];
    let point = Point {
        family: Family {
            name,
            kind: MetricType::Gauge,
            help: "",
            unit: "",
        },
        labels: &labels,
        value: Value::Number(1.0),
        start_ms: 0,
        time_ms: 1,
        delta: false,
        stale: false,
        exemplars: &[],
    };
    state.update(&point, ctx, now).dropped
}

/// Puts a gauge point that must be kept.
fn gauge_point(state: &mut State, name: &Arc<str>, v: &str, ctx: &RequestContext, now: Instant) {
    assert_eq!(put(state, name, v, ctx, now), None, "{name} {v}");
}

/// The work [`State::expire`] does when `families` families of one series each all expire.
fn expiry_work(families: usize) -> usize {
    let expiration = Duration::from_secs(60);
    let mut state = State::new(0, expiration);
    let ctx = ctx("t1");
    let t0 = Instant::now();
    let names: Vec<Arc<str>> = (0..families)
        .map(|i| Arc::from(format!("m{i}").as_str()))
        .collect();
    for name in &names {
        gauge_point(&mut state, name, "a", &ctx, t0);
    }
    assert_eq!(state.series_count(), families);
    let work = state.expire(t0 + expiration);
    assert_eq!(state.series_count(), 0);
    assert!(state.families().is_empty(), "every family expired");
    // Their names are free again: the same names come back without a conflict.
    for name in &names {
        gauge_point(&mut state, name, "b", &ctx, t0 + expiration);
    }
    work
}

#[test]
fn expiry_work_is_linear_in_the_expired_families() {
    let (n, twice) = (expiry_work(2_000), expiry_work(4_000));
    assert!(n >= 2_000, "every family is visited: {n}");
    // Quadratic expiry (each removed family scanning every reserved name) does 4x the work
    // for twice the families; linear does 2x.
    assert!(twice <= 2 * n, "n: {n}, 2n: {twice}");
}

#[test]
fn expiry_keeps_live_series_and_the_names_of_live_families() {
    let expiration = Duration::from_secs(60);
    let mut state = State::new(0, expiration);
    let ctx = ctx("t1");
    let t0 = Instant::now();
    let (old, live): (Arc<str>, Arc<str>) = (Arc::from("old"), Arc::from("live"));
    gauge_point(&mut state, &old, "a", &ctx, t0);
    gauge_point(&mut state, &live, "a", &ctx, t0);
    gauge_point(&mut state, &live, "b", &ctx, t0 + Duration::from_secs(30));
    state.expire(t0 + expiration);
    assert_eq!(state.series_count(), 1);
    let text = page(&state, Format::Text);
    assert!(
        text.contains("live{k=\"b\"} 1\n") && !text.contains("old"),
        "{text}"
    );
}

#[test]
fn metric_and_series_limits_refuse_new_ones_and_count_them() {
    let mut state = State::new(0, Duration::from_secs(60)).limited(2, 3);
    let ctx = ctx("t1");
    let now = Instant::now();
    let [a, b, c]: [Arc<str>; 3] = ["a", "b", "c"].map(Arc::from);
    gauge_point(&mut state, &a, "1", &ctx, now);
    gauge_point(&mut state, &b, "1", &ctx, now);
    assert_eq!(put(&mut state, &c, "1", &ctx, now), Some("metric_limit"));
    gauge_point(&mut state, &b, "2", &ctx, now);
    assert_eq!(state.series_count(), 3);
    assert_eq!(put(&mut state, &a, "2", &ctx, now), Some("series_limit"));
    assert_eq!(
        put(&mut state, &a, "1", &ctx, now),
        None,
        "known series still update"
    );
    let text = page(&state, Format::Text);
    for line in [
        "weir_prometheus_exporter_dropped_points_total{metric=\"c\",reason=\"metric_limit\"} 1\n",
        "weir_prometheus_exporter_dropped_points_total{metric=\"a\",reason=\"series_limit\"} 1\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains("# TYPE c "), "{text}");
}

#[test]
fn a_family_refused_for_the_series_limit_leaves_no_trace() {
    let mut state = State::new(0, Duration::from_secs(60)).limited(10, 1);
    let ctx = ctx("t1");
    let now = Instant::now();
    let [a, b]: [Arc<str>; 2] = ["a", "b"].map(Arc::from);
    gauge_point(&mut state, &a, "1", &ctx, now);
    // `b` is refused for the page's series limit: no empty `b` family stays behind.
    let problems = apply(
        &mut state,
        &[resource(
            vec![],
            vec![gauge("b", "", vec![number(1.0, vec![], 1)])],
        )],
        "t1",
        now,
    );
    assert!(problems.iter().any(|p| p.reason == "series_limit"));
    assert_eq!(state.families().len(), 1);
    assert!(!page(&state, Format::Text).contains("# TYPE b "));
    // Once `a` expires, `b` fits.
    state.expire(now + Duration::from_secs(60));
    gauge_point(&mut state, &b, "1", &ctx, now + Duration::from_secs(60));
}

#[tokio::test]
async fn refused_points_reach_the_ledger_but_target_info_does_not() {
    let cfg = PrometheusConfig {
        endpoint: "127.0.0.1:0".into(),
        max_metrics: 2,
        ..PrometheusConfig::default()
    };
    let exporter = PrometheusExporter::bind("prometheus", &cfg)
        .await
        .expect("bind");
    // Three metrics (one point each) and a resource attribute that makes a `target_info`:
    // two fit, the third metric's point and `target_info` are refused.
    let mut metrics = app_metrics(1.0);
    metrics[0]
        .resource
        .as_mut()
        .expect("resource")
        .attributes
        .push(kv("host.name", "h1"));
    let sent = exporter
        .export(bundle("t1", metrics))
        .await
        .expect("export");
    assert_eq!(sent.rejected, [("metric_limit", 1)]);
}

#[test]
fn expiry_runs_a_tenth_of_the_expiration_within_bounds() {
    assert_eq!(
        expiry_period(Duration::from_secs(300)),
        Duration::from_secs(10)
    );
    assert_eq!(
        expiry_period(Duration::from_secs(30)),
        Duration::from_secs(3)
    );
    assert_eq!(
        expiry_period(Duration::from_millis(10)),
        Duration::from_millis(100)
    );
}
