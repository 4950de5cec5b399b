//! The config: the documented shape, inheritance in overrides, and every problem a user can make.

use super::super::config::{Kind, Limits};
use super::super::rate::{Burst, PerSecond, Rate};
use super::super::{MAX_RATE, UNSUPPORTED_COLLECTOR_KEYS};
use super::*;
use crate::read_error::read_error;

fn parse(yaml: &str) -> Result<TenantLimitConfig, String> {
    serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())
}

fn problems(yaml: &str) -> Vec<(String, String)> {
    parse(yaml).expect("parses").problems()
}

fn keys(yaml: &str) -> Vec<String> {
    problems(yaml).into_iter().map(|(k, _)| k).collect()
}

fn rate(per_second: u64, burst: u64) -> Option<Rate> {
    Some(Rate {
        per_second: PerSecond::new(per_second).expect("valid rate"),
        burst: Burst::new(burst).expect("valid burst"),
    })
}

fn tenant(id: &str) -> TenantId {
    TenantId::new(id).expect("valid tenant")
}

#[test]
fn the_briefs_example_reads_and_is_valid() {
    let cfg = parse(
        "{ records_per_second: 5000, burst: 10000, overrides: { big-co: { records_per_second: 50000 } } }",
    )
    .expect("parses");
    assert_eq!(cfg.records_per_second.map(PerSecond::get), Some(5000));
    assert_eq!(cfg.burst.map(Burst::get), Some(10000));
    assert_eq!(
        cfg.overrides[&tenant("big-co")]
            .records_per_second
            .map(PerSecond::get),
        Some(50000)
    );
    assert_eq!(cfg.problems(), vec![]);
    assert!(UNSUPPORTED_COLLECTOR_KEYS.is_empty());
}

#[test]
fn empty_config_limits_nothing() {
    let cfg = parse("{}").expect("parses");
    assert_eq!(cfg, TenantLimitConfig::default());
    assert_eq!(cfg.problems(), vec![]);
    for kind in Kind::ALL {
        assert_eq!(cfg.rate(None, kind), None);
    }
    let (p, _) = limit("{}");
    assert!(passed(&send(&p, "a", 1_000_000, 1 << 30)));
    assert_eq!(p.tracked_tenants(), 0, "an unlimited tenant is not tracked");
}

#[test]
fn a_burst_left_out_is_one_second_of_the_rate() {
    let cfg = parse("{ bytes_per_second: 1000, requests_per_second: 5, requests_burst: 1 }")
        .expect("parses");
    assert_eq!(cfg.rate(None, Kind::Records), None);
    assert_eq!(cfg.rate(None, Kind::Bytes), rate(1000, 1000));
    assert_eq!(cfg.rate(None, Kind::Requests), rate(5, 1));
}

#[test]
fn overrides_inherit_what_they_leave_out() {
    let cfg = parse(
        "
records_per_second: 5000
burst: 10000
bytes_per_second: 1000000
overrides:
  big-co: { records_per_second: 50000 }
  small: { records_per_second: 100 }
  bursty: { burst: 30000 }
  exact: { records_per_second: 50000, burst: 20000, requests_per_second: 10 }
",
    )
    .expect("parses");
    assert_eq!(cfg.problems(), vec![]);
    let over = |t: &str| cfg.overrides.get(&tenant(t)).copied();
    let r = |t: &str, kind| cfg.rate(over(t).as_ref(), kind);
    // An inherited burst is raised to one second at the override's own rate ...
    assert_eq!(r("big-co", Kind::Records), rate(50000, 50000));
    // ... and kept when it is larger.
    assert_eq!(r("small", Kind::Records), rate(100, 10000));
    assert_eq!(r("bursty", Kind::Records), rate(5000, 30000));
    assert_eq!(r("exact", Kind::Records), rate(50000, 20000));
    // Kinds an override does not touch are the top level's; a kind only the override limits
    // is limited for that tenant alone.
    assert_eq!(r("big-co", Kind::Bytes), rate(1_000_000, 1_000_000));
    assert_eq!(r("exact", Kind::Requests), rate(10, 10));
    assert_eq!(cfg.rate(None, Kind::Requests), None);
    assert_eq!(over("nobody"), None);
    assert_eq!(
        cfg.rate(Some(&Limits::default()), Kind::Records),
        rate(5000, 10000)
    );
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let err = parse("{ records_per_second: 5, burts: 10 }").expect_err("typo");
    assert!(err.contains("burts"), "{err}");
    let err = parse("{ overrides: { a: { records_per_sec: 5 } } }").expect_err("typo");
    assert!(err.contains("records_per_sec"), "{err}");
    let err = parse("{ records_per_second: -1 }").expect_err("negative");
    assert!(err.contains("-1"), "{err}");
}

#[test]
fn zero_and_out_of_range_numbers_are_refused_when_read() {
    for (yaml, says) in [
        (
            "{ records_per_second: 0 }",
            "records_per_second: must be at least 1; leave the key out",
        ),
        (
            "{ bytes_per_second: 1000000001 }",
            "bytes_per_second: 1000000001 is above 1000000000 per second",
        ),
        (
            "{ requests_per_second: 1, requests_burst: 0 }",
            "requests_burst: must be at least 1",
        ),
        (
            "{ bytes_per_second: 10, bytes_burst: 4294967296 }",
            "bytes_burst: 4294967296 is above 4294967295",
        ),
        (
            "{ overrides: { a: { burst: 0 } } }",
            "overrides.a.burst: must be at least 1",
        ),
    ] {
        let err = read_error::<TenantLimitConfig>(yaml);
        assert!(err.starts_with(says), "{yaml}: {err}");
    }
    let cfg = parse("{ bytes_per_second: 1000000000, bytes_burst: 4294967295 }").expect("edges");
    assert!(cfg.problems().is_empty());
    assert_eq!(cfg.bytes_per_second.map(PerSecond::get), Some(MAX_RATE));
}

#[test]
fn a_burst_without_a_rate_is_a_problem() {
    let all = problems("{ burst: 10 }");
    assert_eq!(all[0].0, "burst");
    assert!(all[0].1.contains("records_per_second"), "{}", all[0].1);
    let all = problems("{ overrides: { a: { bytes_burst: 10 } } }");
    assert_eq!(all[0].0, "overrides.a.bytes_burst");
    assert!(all[0].1.contains("top level"), "{}", all[0].1);
    // A rate inherited from the top level is enough.
    assert!(problems("{ bytes_per_second: 5, overrides: { a: { bytes_burst: 10 } } }").is_empty());
}

#[test]
fn override_tenant_ids_follow_the_tenant_rules_when_read() {
    for (yaml, says) in [
        (
            "{ overrides: { ok.id: {}, 'a/b': {} } }",
            "overrides.a/b: tenant id holds '/'",
        ),
        (
            "{ overrides: { 'x y': {} } }",
            "overrides.x y: tenant id holds ' '",
        ),
        ("{ overrides: { '..': {} } }", "tenant id may not be"),
    ] {
        let err = read_error::<TenantLimitConfig>(yaml);
        assert!(err.contains(says), "{yaml}: {err}");
    }
    let cfg = parse("{ records_per_second: 5, overrides: { ok.id: { records_per_second: 9 } } }")
        .expect("a valid id");
    let p = TenantLimit::with_clock(&cfg, FakeRelativeClock::default());
    assert!(passed(&send(&p, "ok.id", 9, 0)), "the override applies");
}

#[test]
fn a_store_reads_with_its_defaults() {
    let cfg = parse("{ records_per_second: 5, store: { redis: { endpoint: 'redis://r:6379' } } }")
        .expect("parses");
    let store = cfg.store.as_ref().expect("a store");
    assert_eq!(store.local_budget, 0);
    assert_eq!(store.fallback, super::super::store::Fallback::Local);
    assert_eq!(store.retry_interval, Duration::from_secs(1));
    assert_eq!(store.redis.timeout, Duration::from_millis(100));
    assert_eq!(store.redis.key_prefix, "weir:tenant_limit:");
    assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
    assert!(
        parse("{ store: { redis: { endpoint: 'redis://r' }, fallback: maybe } }")
            .expect_err("unknown fallback")
            .contains("maybe")
    );
}

#[test]
fn store_problems_are_reported_under_store() {
    let yaml = |store: &str| format!("{{ records_per_second: 5, store: {store} }}");
    let cases = [
        (
            "{ redis: { endpoint: 'http://r:6379' } }",
            "store.redis.endpoint",
        ),
        (
            "{ redis: { endpoint: 'redis://u:pw@r:6379' } }",
            "store.redis.endpoint",
        ),
        (
            "{ redis: { endpoint: 'redis://r', timeout: 0s } }",
            "store.redis.timeout",
        ),
        (
            "{ redis: { endpoint: 'redis://r' }, retry_interval: 0s }",
            "store.retry_interval",
        ),
        (
            "{ redis: { endpoint: 'redis://r', tls: { ca_file: /ca.pem } } }",
            "store.redis.tls.ca_file",
        ),
    ];
    for (store, key) in cases {
        assert_eq!(keys(&yaml(store)), [key], "{store}");
    }
    assert!(
        keys(&yaml(
            "{ redis: { endpoint: 'rediss://r', tls: { ca_file: /ca.pem } } }"
        ))
        .is_empty()
    );
    // A local budget needs records to be the only limited kind, overrides included.
    let budget = "store: { redis: { endpoint: 'redis://r' }, local_budget: 10 }";
    assert!(keys(&format!("{{ records_per_second: 5, {budget} }}")).is_empty());
    assert_eq!(
        keys(&format!(
            "{{ records_per_second: 5, bytes_per_second: 9, {budget} }}"
        )),
        ["store.local_budget"]
    );
    assert_eq!(
        keys(&format!(
            "{{ records_per_second: 5, overrides: {{ a: {{ requests_per_second: 1 }} }}, {budget} }}"
        )),
        ["store.local_budget"]
    );
}
