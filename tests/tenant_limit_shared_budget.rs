//! `tenant_limit`'s shared store, what a request spends in Redis: with `local_budget` a replica
//! takes records ahead and admits the tenant's next requests from them without a round trip
//! (shown by pausing Redis: they still pass, with no failure counted, and only the request past
//! the budget meets the hung Redis); a request refused after `tenant_limit` admitted part of it
//! (another tenant's part of the same request was over its limit) gets that part's records back
//! in Redis; a request of exactly the burst passes an empty bucket whatever the rate.

mod common;

use std::time::{Duration, Instant};

use serde_json::Value;

use common::http::traces_body;
use common::redis::Redis;
use common::{DEBUG_AND_ADMIN, OTLP_RECEIVER, Weir, debian_tools};

/// weir with a shared `tenant_limit` of `rate` records/s (burst one second), the tenant from
/// the resource attribute `tenant.id`, `fallback: deny` (a request Redis did not decide is
/// refused with 503) and `local_budget`.
fn config(redis: &Redis, rate: u64, local_budget: u64) -> String {
    format!(
        "{OTLP_RECEIVER}    tenant:
      from: [{{ resource: tenant.id }}]
processors:
  tenant_limit:
    records_per_second: {rate}
    store:
      redis: {{ endpoint: '{url}', timeout: 200ms }}
      local_budget: {local_budget}
      fallback: deny
      retry_interval: 10s
{DEBUG_AND_ADMIN}  pipelines:
    traces: {{ receivers: [otlp], processors: [tenant_limit], exporters: [debug] }}
",
        url = redis.url()
    )
}

async fn post(weir: &Weir, parts: &[(&str, u64)]) -> u16 {
    let parts: Vec<(Option<&str>, u64)> = parts.iter().map(|(t, n)| (Some(*t), *n)).collect();
    weir.post_json("/v1/traces", traces_body(&parts), &[])
        .await
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_budget_admits_the_next_requests_without_asking_redis() {
    if !debian_tools(&[("redis-server", "redis-server")]) {
        return;
    }
    let redis = Redis::start();
    // 10 records per request; the first takes 50 more ahead.
    let weir = Weir::start(&config(&redis, 10_000, 50));
    assert_eq!(post(&weir, &[("hot", 10)]).await, 200);
    assert_eq!(weir.limit_store_status("tenant_limit").await, "healthy");
    redis.pause();
    for i in 0..5 {
        assert_eq!(
            post(&weir, &[("hot", 10)]).await,
            200,
            "request {i} from the budget"
        );
    }
    assert_eq!(
        weir.limit_store_failures("tenant_limit").await,
        0.0,
        "no round trip was tried"
    );
    // The budget is spent: the next request asks the hung Redis, times out, and `deny` answers.
    let started = Instant::now();
    assert_eq!(post(&weir, &[("hot", 10)]).await, 503);
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "it waited for Redis"
    );
    assert_eq!(weir.limit_store_failures("tenant_limit").await, 1.0);
    redis.resume();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_admitted_then_refused_with_its_request_is_refunded_in_redis() {
    if !debian_tools(&[("redis-server", "redis-server")]) {
        return;
    }
    let redis = Redis::start();
    // 20 records a second, burst 20: a tenant's 20 records spend its whole burst.
    let weir = Weir::start(&config(&redis, 20, 0));
    // `full` spends its burst, so its next part is refused.
    assert_eq!(post(&weir, &[("full", 20)]).await, 200);
    // `alpha`'s 20 records pass tenant_limit, then the request is refused for `full`'s part.
    assert_eq!(post(&weir, &[("alpha", 20), ("full", 20)]).await, 429);
    // Refunded in Redis (off the request's path, so polled): alpha's whole burst passes again
    // at once, which it could not if its 20 records were still spent (1 s to refill).
    let deadline = Instant::now() + Duration::from_millis(500);
    loop {
        match post(&weir, &[("alpha", 20)]).await {
            200 => break,
            code => assert!(
                Instant::now() < deadline,
                "alpha's records were not given back: {code}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(10)).await; // polling a condition
    }
    let stored: Vec<Value> = weir.records_of("traces");
    let tenants: Vec<&str> = stored.iter().filter_map(|r| r["tenant"].as_str()).collect();
    assert_eq!(
        tenants,
        ["full", "alpha"],
        "only the admitted requests reached the exporter"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_burst_fits_an_empty_bucket_whatever_the_rate() {
    if !debian_tools(&[("redis-server", "redis-server")]) {
        return;
    }
    let redis = Redis::start();
    // Rates whose microseconds per record are not whole numbers (333333.3…, 142857.1…, …).
    let rates = [3, 7, 30, 9_999];
    let overrides: Vec<String> = rates
        .iter()
        .map(|r| format!("      t{r}: {{ records_per_second: {r} }}\n"))
        .collect();
    let cfg = config(&redis, 1, 0).replace(
        "    store:",
        &format!("    overrides:\n{}    store:", overrides.concat()),
    );
    let weir = Weir::start(&cfg);
    for rate in rates {
        let tenant = format!("t{rate}");
        assert_eq!(
            post(&weir, &[(&tenant, rate)]).await,
            200,
            "{tenant}: its burst"
        );
        // A second burst needs a second of refill; far less has passed.
        assert_eq!(
            post(&weir, &[(&tenant, rate)]).await,
            429,
            "{tenant}: again"
        );
    }
}
