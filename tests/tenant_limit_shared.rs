//! `tenant_limit` shared through a real Redis by three weir replicas: a tenant sent to all three
//! at once is held to its one limit (not three), a quiet neighbour is untouched, a hung Redis
//! costs at most its timeout per request and the replicas fall back to their own limits, and
//! shared limiting resumes when Redis answers again, and again after Redis is killed and
//! started empty. A store that cannot be reached is answered
//! at once by `fallback: deny` (503, unavailable) or `allow` (everything passes). TLS (rustls on ring, a private CA) and an
//! ACL user's password reach a Redis that requires both; a wrong password admits nothing.
//!
//! Every phase is a measured window of real time with traffic paced by the sender (not a sleep
//! waiting for something); state changes are polled with deadlines.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rcgen::ExtendedKeyUsagePurpose;

use common::http::traces_body;
use common::pki;
use common::redis::Redis;
use common::{DEBUG_AND_ADMIN, OTLP_RECEIVER, Weir, debian_tools, http_client};

/// Records per second and burst of the hot tenant.
const RATE: u64 = 200;
const BURST: u64 = 200;
/// Records each replica takes ahead per round trip.
const LOCAL_BUDGET: u64 = 20;
/// Spans per request.
const SPANS: u64 = 10;
/// The Redis round-trip timeout.
const TIMEOUT: Duration = Duration::from_millis(100);

fn config(store: &str, fallback: &str, local_budget: u64) -> String {
    format!(
        "{OTLP_RECEIVER}    tenant:
      from: [{{ header: X-Scope-OrgID }}]
processors:
  tenant_limit:
    records_per_second: {RATE}
    burst: {BURST}
    overrides:
      quiet: {{ records_per_second: 1000, burst: 1000 }}
    store:
      redis: {{ endpoint: '{store}', timeout: {timeout}ms }}
      local_budget: {local_budget}
      fallback: {fallback}
      retry_interval: 500ms
{DEBUG_AND_ADMIN}  pipelines:
    traces: {{ receivers: [otlp], processors: [tenant_limit], exporters: [debug] }}
",
        timeout = TIMEOUT.as_millis()
    )
}

/// What one sender saw: records admitted and requests refused, by status, plus the slowest
/// answer. Reset between windows.
#[derive(Default)]
struct Tally {
    admitted: AtomicU64,
    refused_429: AtomicU64,
    other: AtomicU64,
    slowest_ms: AtomicU64,
}

impl Tally {
    fn take(&self) -> (u64, u64, u64, u64) {
        (
            self.admitted.swap(0, Ordering::SeqCst),
            self.refused_429.swap(0, Ordering::SeqCst),
            self.other.swap(0, Ordering::SeqCst),
            self.slowest_ms.swap(0, Ordering::SeqCst),
        )
    }
}

/// Sends `SPANS` spans as `tenant` to `url` every `every` until `stop`, counting into `tally`.
fn sender(
    url: String,
    tenant: &'static str,
    every: Duration,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = http_client();
        let body = traces_body(&[(None, SPANS)]);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !stop.load(Ordering::SeqCst) {
            tick.tick().await;
            let started = Instant::now();
            let sent = client
                .post(&url)
                .header("content-type", "application/json")
                .header("x-scope-orgid", tenant)
                .body(body.clone())
                .send()
                .await;
            let ms = started.elapsed().as_millis() as u64;
            tally.slowest_ms.fetch_max(ms, Ordering::SeqCst);
            match sent.map(|r| r.status().as_u16()) {
                Ok(200) => tally.admitted.fetch_add(SPANS, Ordering::SeqCst),
                Ok(429) => tally.refused_429.fetch_add(1, Ordering::SeqCst),
                _ => tally.other.fetch_add(1, Ordering::SeqCst),
            };
        }
    })
}

/// Polls `cond` every 50 ms until it holds, for at most `within`.
async fn until<F: std::future::Future<Output = bool>>(
    within: Duration,
    what: &str,
    mut cond: impl FnMut() -> F,
) {
    let deadline = Instant::now() + within;
    while !cond().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await; // polling a condition
    }
}

/// Waits until every replica's `/health` shows its shared store as `status`.
async fn every_store_reports(weirs: &[Weir], status: &str, within: Duration) {
    for w in weirs {
        let what = format!("replica {} reports its store {status}", w.http_base());
        until(within, &what, || async {
            w.limit_store_status("tenant_limit").await == status
        })
        .await;
    }
}

/// Waits until the hot tenant is refused (its burst spent), then measures `window`: records
/// admitted across the replicas (hot) and the quiet tenant's tally.
async fn measure(hot: &Tally, quiet: &Tally, window: Duration) -> (u64, (u64, u64, u64, u64)) {
    hot.take();
    until(
        Duration::from_secs(10),
        "the hot tenant's burst is spent",
        || {
            let refused = hot.refused_429.load(Ordering::SeqCst);
            async move { refused > 0 }
        },
    )
    .await;
    hot.take();
    quiet.take();
    tokio::time::sleep(window).await; // the measured window itself
    let admitted = hot.take().0;
    eprintln!("shared: {admitted} records of the hot tenant admitted in {window:?}");
    (admitted, quiet.take())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_share_one_limit_fall_back_when_redis_hangs_and_resume_after_a_restart() {
    if !debian_tools(&[("redis-server", "redis-server")]) {
        return;
    }
    let mut redis = Redis::start();
    let cfg = config(&redis.url(), "local", LOCAL_BUDGET);
    let weirs: Vec<Weir> = (0..3).map(|_| Weir::start(&cfg)).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let hot = Arc::new(Tally::default());
    let quiet = Arc::new(Tally::default());
    let mut tasks = Vec::new();
    // Offered: 3 replicas × 10 spans every 10 ms = 3000 spans/s, fifteen times the limit.
    for w in &weirs {
        let url = format!("{}/v1/traces", w.http_base());
        let every = Duration::from_millis(10);
        tasks.push(sender(
            url,
            "hot",
            every,
            Arc::clone(&hot),
            Arc::clone(&stop),
        ));
    }
    // The quiet tenant: 100 spans/s to the first replica, a tenth of its own limit.
    let url = format!("{}/v1/traces", weirs[0].http_base());
    let every = Duration::from_millis(100);
    tasks.push(sender(
        url,
        "quiet",
        every,
        Arc::clone(&quiet),
        Arc::clone(&stop),
    ));

    // Shared: one limit across the three replicas.
    let window = Duration::from_secs(5);
    let t = window.as_secs();
    let (admitted, (q_admitted, q_429, q_other, _)) = measure(&hot, &quiet, window).await;
    let low = RATE * t * 9 / 10;
    let high = RATE * t * 11 / 10 + BURST + 3 * LOCAL_BUDGET;
    assert!(
        (low..=high).contains(&admitted),
        "shared limit: {admitted} records admitted in {t} s, want {low}..={high} (one limit of \
         {RATE}/s, not three)"
    );
    assert_eq!(
        (q_429, q_other),
        (0, 0),
        "the quiet tenant is never refused"
    );
    assert!(
        q_admitted >= 40 * SPANS,
        "the quiet tenant kept sending: {q_admitted}"
    );

    // Redis hangs: each request waits at most the timeout, then the replicas' own limits decide
    // (up to three limits across the tier).
    redis.pause();
    every_store_reports(&weirs, "fallback", Duration::from_secs(5)).await;
    hot.take();
    quiet.take();
    let outage = Duration::from_secs(3);
    tokio::time::sleep(outage).await; // the measured window itself
    let (admitted, _, other, slowest) = hot.take();
    let (q_admitted, q_429, q_other, q_slowest) = quiet.take();
    eprintln!("fallback: {admitted} records in {outage:?}, slowest answer {slowest} ms");
    assert_eq!(other, 0, "no error other than 429 while Redis hangs");
    let fallback_floor = RATE * outage.as_secs() * 3 / 2;
    assert!(
        admitted >= fallback_floor,
        "the local fallback admits each replica's own limit: {admitted} records in \
         {outage:?}, want at least {fallback_floor}"
    );
    // A request stalled by the hung Redis would take the whole outage; one that waited its
    // timeout and fell back takes little more than the timeout (slack for a loaded machine).
    let bound = TIMEOUT.as_millis() as u64 + 1900;
    assert!(
        slowest.max(q_slowest) <= bound,
        "a hung Redis stalls no request past its timeout: slowest {} ms, bound {bound} ms",
        slowest.max(q_slowest)
    );
    assert_eq!(
        (q_429, q_other),
        (0, 0),
        "the quiet tenant is never refused"
    );
    assert!(q_admitted > 0);
    let h = weirs[0].health().await;
    assert_eq!(h["checks"]["limits"]["status"], "degraded", "{h}");
    assert_eq!(h["status"], "degraded", "{h}");
    let failures = weirs[0]
        .metric(
            "weir_tenant_limit_store_failures_total{processor=\"tenant_limit\",reason=\"timeout\"}",
        )
        .await;
    assert!(failures >= 1.0, "timeouts are counted: {failures}");
    let fallbacks = weirs[0]
        .metric("weir_tenant_limit_fallback_requests_total{processor=\"tenant_limit\",fallback=\"local\"}")
        .await;
    assert!(
        fallbacks >= 1.0,
        "fallback decisions are counted: {fallbacks}"
    );

    // Redis answers again: every replica returns to it, and the one limit holds again.
    redis.resume();
    every_store_reports(&weirs, "healthy", Duration::from_secs(10)).await;
    let (admitted, (_, q_429, q_other, _)) = measure(&hot, &quiet, window).await;
    assert!(
        (low..=high).contains(&admitted),
        "shared limit after Redis returned: {admitted} records in {t} s, want {low}..={high}"
    );
    assert_eq!(
        (q_429, q_other),
        (0, 0),
        "the quiet tenant is never refused"
    );

    // Redis killed and started again empty (its script cache too): the replicas reconnect,
    // send the script again, and hold the one limit from the new Redis's first burst on.
    let mut failed_before = Vec::new();
    for w in &weirs {
        failed_before.push(w.limit_store_failures("tenant_limit").await);
    }
    redis.restart();
    // Each replica's next round trip fails on its dead connection (the senders send every
    // 10 ms): it falls back for retry_interval, then finds the new Redis.
    for (w, before) in weirs.iter().zip(failed_before) {
        until(
            Duration::from_secs(5),
            "a replica notices the restart",
            || async { w.limit_store_failures("tenant_limit").await > before },
        )
        .await;
    }
    every_store_reports(&weirs, "healthy", Duration::from_secs(10)).await;
    let (admitted, (_, q_429, q_other, _)) = measure(&hot, &quiet, window).await;
    assert!(
        (low..=high).contains(&admitted),
        "shared limit after Redis restarted: {admitted} records in {t} s, want {low}..={high}"
    );
    assert_eq!(
        (q_429, q_other),
        (0, 0),
        "the quiet tenant is never refused"
    );

    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.expect("sender");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_is_answered_at_once_by_deny_or_allow() {
    // Nothing listens on this port: every connection is refused.
    let endpoint = format!("redis://127.0.0.1:{}", common::peers::free_port());
    // Requests of a whole burst each: the second would be over the limit if anything limited.
    let requests = 3;
    for (fallback, status) in [("deny", 503), ("allow", 200)] {
        let weir = Weir::start(&config(&endpoint, fallback, 0));
        for _ in 0..requests {
            let started = Instant::now();
            let resp = weir
                .post_json(
                    "/v1/traces",
                    traces_body(&[(None, BURST)]),
                    &[("x-scope-orgid", "hot")],
                )
                .await;
            assert_eq!(resp.status(), status, "fallback {fallback}");
            if fallback == "deny" {
                assert!(resp.headers().contains_key("retry-after"), "deny says when");
            }
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "answered at once"
            );
        }
        assert_eq!(weir.limit_store_status("tenant_limit").await, "fallback");
        let failures = weir.limit_store_failures("tenant_limit").await;
        let series = format!(
            "weir_tenant_limit_fallback_requests_total{{processor=\"tenant_limit\",fallback=\"{fallback}\"}}"
        );
        let decided = weir.metric(&series).await;
        // The first request asked and failed (a refused connection, retried by the client
        // within the timeout); the others did not ask. The fallback decided every one.
        assert_eq!((failures, decided), (1.0, requests as f64), "{fallback}");
        let admitted = weir.records_of("traces").len();
        let want = if fallback == "allow" { requests } else { 0 };
        assert_eq!(admitted, want, "{fallback}: requests admitted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_acl_credentials_reach_a_redis_that_requires_them() {
    if !debian_tools(&[("redis-server", "redis-server")]) {
        return;
    }
    let ca = pki::ca("redis test CA");
    let server = pki::leaf(&ca, "redis", ExtendedKeyUsagePurpose::ServerAuth);
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write PEM");
        path.to_str().expect("UTF-8 path").to_owned()
    };
    let (ca_file, cert, key) = (
        write("ca.pem", &ca.pem()),
        write("redis.pem", &server.cert),
        write("redis-key.pem", &server.key),
    );
    // TLS only, and only the ACL user `weir` may run commands.
    let redis = Redis::start_with(
        &[
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &ca_file,
            "--tls-auth-clients",
            "no",
            "--user",
            "default",
            "off",
            "--user",
            "weir",
            "on",
            ">s3cret-pass",
            "~*",
            "+@all",
        ],
        true,
    );
    // `deny`: a request Redis did not decide is refused with 503, never admitted.
    let weir_with = |password: &str| {
        let store = format!("rediss://127.0.0.1:{}", redis.port);
        let cfg = config(&store, "deny", 0).replace(
            &format!("timeout: {}ms }}", TIMEOUT.as_millis()),
            &format!(
                "timeout: 2s, username: weir, password: '{password}', tls: {{ ca_file: '{ca_file}' }} }}"
            ),
        );
        assert!(cfg.contains("ca_file"), "{cfg}");
        Weir::start(&cfg)
    };
    let weir = weir_with("s3cret-pass");
    // Until the burst is spent: only Redis can answer 429 here (a failure would be 503).
    let started = Instant::now();
    let mut codes = Vec::new();
    while codes.last() != Some(&429) && codes.len() < 200 {
        let resp = weir
            .post_json(
                "/v1/traces",
                traces_body(&[(None, SPANS)]),
                &[("x-scope-orgid", "hot")],
            )
            .await;
        codes.push(resp.status().as_u16());
    }
    let refilled = started.elapsed().as_millis() as u64 * RATE / 1000;
    let admitted = codes.iter().filter(|c| **c == 200).count() as u64 * SPANS;
    assert_eq!(codes.last(), Some(&429), "{codes:?}");
    assert!(
        codes[..codes.len() - 1].iter().all(|c| *c == 200),
        "Redis, over TLS with the ACL user, decided every request: {codes:?}"
    );
    assert!(
        (BURST..=BURST + refilled + SPANS).contains(&admitted),
        "the burst and what refilled meanwhile: {admitted} records, burst {BURST}, refilled {refilled}"
    );
    assert_eq!(weir.limit_store_status("tenant_limit").await, "healthy");

    // A wrong password is refused by Redis: the store fails and `deny` answers.
    let intruder = weir_with("wrong-pass");
    let resp = intruder
        .post_json(
            "/v1/traces",
            traces_body(&[(None, SPANS)]),
            &[("x-scope-orgid", "other")],
        )
        .await;
    assert_eq!(resp.status(), 503, "no AUTH, no admission");
    let h = intruder.health().await;
    let error = &h["checks"]["limits"]["stores"]["tenant_limit"]["last_error"]["message"];
    assert!(
        error.as_str().is_some_and(|m| !m.contains("wrong-pass")),
        "the failure is shown without the password: {h}"
    );
}
