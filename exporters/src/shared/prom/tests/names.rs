//! Metric and label names: one test per rule.

use crate::shared::prom::TranslationStrategy::{self, *};
use crate::shared::prom::names::{
    NameKind::{self, *},
    Names, is_legacy_label_name, is_legacy_metric_name, label_name, metric_name,
};

fn name(n: &str, unit: &str, kind: NameKind) -> Option<String> {
    metric_name(n, unit, kind, "", UnderscoreEscapingWithSuffixes)
}

fn with(strategy: TranslationStrategy, n: &str, unit: &str, kind: NameKind) -> Option<String> {
    metric_name(n, unit, kind, "", strategy)
}

#[test]
fn counters_get_total_once_and_at_the_end() {
    assert_eq!(
        name("http.requests", "", MonotonicCounter).as_deref(),
        Some("http_requests_total")
    );
    assert_eq!(
        name("http.requests", "{request}", MonotonicCounter).as_deref(),
        Some("http_requests_total")
    );
    assert_eq!(
        name("requests_total", "1", MonotonicCounter).as_deref(),
        Some("requests_total")
    );
    assert_eq!(
        name("total.requests", "", MonotonicCounter).as_deref(),
        Some("requests_total")
    );
    assert_eq!(
        name("auth.failures", "1", MonotonicCounter).as_deref(),
        Some("auth_failures_total")
    );
    // A non-monotonic sum is a gauge: no `_total`, and no `_ratio` either.
    assert_eq!(
        name("queue.depth", "1", NonMonotonicCounter).as_deref(),
        Some("queue_depth")
    );
}

#[test]
fn unit_suffixes_follow_the_unit_table() {
    assert_eq!(
        name("http.server.duration", "s", Histogram).as_deref(),
        Some("http_server_duration_seconds")
    );
    assert_eq!(
        name("rpc.duration", "ms", Histogram).as_deref(),
        Some("rpc_duration_milliseconds")
    );
    assert_eq!(
        name("memory.usage", "By", Gauge).as_deref(),
        Some("memory_usage_bytes")
    );
    assert_eq!(
        name("net.io", "By/s", MonotonicCounter).as_deref(),
        Some("net_io_bytes_per_second_total")
    );
    assert_eq!(
        name("requests", "1/s", Gauge).as_deref(),
        Some("requests_per_second")
    );
    assert_eq!(
        name("disk", "TiBy", Gauge).as_deref(),
        Some("disk_tebibytes")
    );
    assert_eq!(name("temp", "Cel", Gauge).as_deref(), Some("temp_celsius"));
    assert_eq!(name("load", "%", Gauge).as_deref(), Some("load_percent"));
    // Unknown units pass through, escaped; braces mean an annotation, not a unit.
    assert_eq!(
        name("jobs", "job-runs", Gauge).as_deref(),
        Some("jobs_job_runs")
    );
    assert_eq!(
        name("jobs", "{jobs}/s", Gauge).as_deref(),
        Some("jobs_per_second")
    );
    // The suffix is not repeated when a token already is it.
    assert_eq!(
        name("latency.seconds", "s", Histogram).as_deref(),
        Some("latency_seconds")
    );
    assert_eq!(
        name("seconds.spent", "s", Gauge).as_deref(),
        Some("seconds_spent")
    );
}

#[test]
fn ratio_only_for_gauges_of_unit_one() {
    assert_eq!(
        name("cpu.utilization", "1", Gauge).as_deref(),
        Some("cpu_utilization_ratio")
    );
    assert_eq!(name("hit_ratio", "1", Gauge).as_deref(), Some("hit_ratio"));
    assert_eq!(
        name("cpu.utilization", "", Gauge).as_deref(),
        Some("cpu_utilization")
    );
    assert_eq!(
        name("events", "1", MonotonicCounter).as_deref(),
        Some("events_total")
    );
    assert_eq!(name("events", "1", Histogram).as_deref(), Some("events"));
}

#[test]
fn invalid_characters_split_tokens_and_runs_of_underscores_collapse() {
    assert_eq!(name("a..b__c-d", "", Gauge).as_deref(), Some("a_b_c_d"));
    assert_eq!(
        name("_leading.and.trailing_", "", Gauge).as_deref(),
        Some("leading_and_trailing")
    );
    assert_eq!(
        name("ns:sub.metric", "", Gauge).as_deref(),
        Some("ns:sub_metric")
    );
    assert_eq!(name("größe", "", Gauge).as_deref(), Some("gr_e"));
}

#[test]
fn names_starting_with_a_digit_get_an_underscore() {
    assert_eq!(
        name("2xx.responses", "", MonotonicCounter).as_deref(),
        Some("_2xx_responses_total")
    );
    assert_eq!(
        with(
            UnderscoreEscapingWithoutSuffixes,
            "5xx.count",
            "1",
            MonotonicCounter
        )
        .as_deref(),
        Some("_5xx_count")
    );
    // With a namespace in front the name no longer starts with a digit.
    assert_eq!(
        metric_name("2xx", "", Gauge, "app", UnderscoreEscapingWithSuffixes).as_deref(),
        Some("app_2xx")
    );
}

#[test]
fn names_with_nothing_valid_left_are_refused() {
    assert_eq!(name("...", "", Gauge), None);
    assert_eq!(name("", "", Gauge), None);
    assert_eq!(
        with(UnderscoreEscapingWithoutSuffixes, "é.ü", "", Gauge),
        None
    );
}

#[test]
fn namespace_goes_first() {
    assert_eq!(
        metric_name(
            "http.requests",
            "",
            MonotonicCounter,
            "shop",
            UnderscoreEscapingWithSuffixes
        )
        .as_deref(),
        Some("shop_http_requests_total")
    );
    let names = Names::new(UnderscoreEscapingWithSuffixes, "my-shop");
    assert_eq!(names.metric("x", "", Gauge).as_deref(), Some("my_shop_x"));
}

#[test]
fn without_suffixes_only_escapes() {
    let s = UnderscoreEscapingWithoutSuffixes;
    assert_eq!(
        with(s, "http.server.duration", "s", Histogram).as_deref(),
        Some("http_server_duration")
    );
    assert_eq!(
        with(s, "http.requests", "", MonotonicCounter).as_deref(),
        Some("http_requests")
    );
    assert_eq!(with(s, "a__b", "", Gauge).as_deref(), Some("a__b"));
}

#[test]
fn utf8_strategies_keep_names() {
    let s = NoUtf8EscapingWithSuffixes;
    assert_eq!(
        with(s, "http.requests", "", MonotonicCounter).as_deref(),
        Some("http.requests_total")
    );
    assert_eq!(
        with(s, "http.server.duration", "s", Histogram).as_deref(),
        Some("http.server.duration_seconds")
    );
    assert_eq!(
        with(s, "cpu.util", "1", Gauge).as_deref(),
        Some("cpu.util_ratio")
    );
    assert_eq!(
        with(s, "io", "By/s", MonotonicCounter).as_deref(),
        Some("io_bytes_per_second_total")
    );
    assert_eq!(
        with(s, "reqs_total", "", MonotonicCounter).as_deref(),
        Some("reqs_total")
    );
    assert_eq!(
        with(NoTranslation, "http.requests", "s", MonotonicCounter).as_deref(),
        Some("http.requests")
    );
}

#[test]
fn label_names_are_sanitised() {
    let l = |k| label_name(k, true);
    assert_eq!(l("http.method").as_deref(), Some("http_method"));
    assert_eq!(l("123abc").as_deref(), Some("key_123abc"));
    assert_eq!(l("_private").as_deref(), Some("key_private"));
    assert_eq!(l("__reserved__").as_deref(), Some("__reserved__"));
    assert_eq!(l("größe").as_deref(), Some("gr__e"));
    assert_eq!(l(".").as_deref(), Some("key_"));
    assert_eq!(l("..").as_deref(), None, "only underscores left");
    assert_eq!(l(""), None);
    assert_eq!(
        label_name("http.method", false).as_deref(),
        Some("http.method")
    );
}

#[test]
fn legacy_name_checks() {
    assert!(is_legacy_metric_name("a:b_c9"));
    assert!(!is_legacy_metric_name("9a"));
    assert!(!is_legacy_metric_name("a.b"));
    assert!(!is_legacy_metric_name(""));
    assert!(is_legacy_label_name("_a9"));
    assert!(!is_legacy_label_name("a:b"));
}

#[test]
fn names_are_cached_per_name_unit_and_kind() {
    let names = Names::new(UnderscoreEscapingWithSuffixes, "");
    let a = names
        .metric("http.requests", "", MonotonicCounter)
        .expect("name");
    let b = names
        .metric("http.requests", "", MonotonicCounter)
        .expect("name");
    assert!(
        std::sync::Arc::ptr_eq(&a, &b),
        "second lookup is the cached Arc"
    );
    let gauge = names.metric("http.requests", "", Gauge).expect("name");
    assert_eq!(&*gauge, "http_requests");
    let l1 = names.label("http.route").expect("label");
    let l2 = names.label("http.route").expect("label");
    assert!(std::sync::Arc::ptr_eq(&l1, &l2));
    assert_eq!(names.label(".."), None);
}

#[test]
fn unit_suffix_is_what_the_name_gets_for_the_unit() {
    use crate::shared::prom::MetricType;
    use crate::shared::prom::names::unit_suffix;
    for (unit, kind, want) in [
        ("s", MetricType::Histogram, "seconds"),
        ("By/s", MetricType::Gauge, "bytes_per_second"),
        ("1", MetricType::Gauge, "ratio"),
        ("1", MetricType::Counter, ""),
        ("{request}", MetricType::Counter, ""),
        ("{packet}/s", MetricType::Gauge, "per_second"),
        ("", MetricType::Gauge, ""),
    ] {
        assert_eq!(unit_suffix(unit, kind), want, "{unit} {kind:?}");
        let built = name(
            "m",
            unit,
            match kind {
                MetricType::Gauge => NameKind::Gauge,
                MetricType::Counter => NameKind::NonMonotonicCounter,
                _ => NameKind::Histogram,
            },
        );
        if !want.is_empty() {
            assert_eq!(built, Some(format!("m_{want}")), "{unit} {kind:?}");
        }
    }
}
