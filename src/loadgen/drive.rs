//! Runs the load: the pool of pre-encoded requests, the per-tenant headers, and the workers
//! (`--concurrency` of them, spread over the connections) that take numbered tickets, wait for
//! a ticket's slot when a rate is set (slot `k` starts `k × records / rate` seconds after the
//! start, so pacing never drifts), send, and count.
//!
//! How it fails: [`build_pool`] returns an [`EncodeError`]; [`connect`] returns the first
//! connection's [`ClientError`] (the caller exits 1: nothing could be sent). Failures while
//! running are counted, never returned.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use tokio::time::Instant;

use super::args::{Compression, Plan, Protocol, Stop};
use super::client::{ClientError, Connection, Connector};
use super::encode::{EncodeError, encode};
use super::generate::{Shape, request, tenant_name};
use super::reply::{self, Reply};
use super::stats::Stats;
use super::summary::Progress;

/// How long one request may take before it counts as a `timeout` error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Distinct requests built per tenant, at most.
const VARIANTS: usize = 16;
/// Requests built over all tenants, at most (each tenant gets at least one).
const POOL: usize = 256;

/// One pre-encoded request.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Tenant index.
    pub tenant: usize,
    /// Records in it.
    pub records: u64,
    /// The bytes sent.
    pub body: Bytes,
}

/// Builds and encodes the pool, tenants interleaved so that consecutive tickets go to
/// consecutive tenants.
pub fn build_pool(plan: &Plan) -> Result<Vec<Prepared>, EncodeError> {
    let shape = Shape {
        signal: plan.signal,
        records: plan.records,
        attributes: plan.attributes,
        sensitive: plan.sensitive,
    };
    let variants = (POOL / plan.tenants).clamp(1, VARIANTS);
    let mut rng = rand::rng();
    let mut pool = Vec::with_capacity(variants * plan.tenants);
    for variant in 0..variants {
        for tenant in 0..plan.tenants {
            let req = request(&shape, &tenant_name(tenant), variant, &mut rng);
            pool.push(Prepared {
                tenant,
                records: plan.records as u64,
                body: encode(&req, plan.protocol, plan.compression)?,
            });
        }
    }
    Ok(pool)
}

/// The headers of `tenant`'s requests.
pub fn headers(plan: &Plan, tenant: usize) -> HeaderMap {
    let mut h = HeaderMap::new();
    let gzip = plan.compression == Compression::Gzip;
    match plan.protocol {
        Protocol::Grpc => {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/grpc"),
            );
            h.insert(header::TE, HeaderValue::from_static("trailers"));
            if gzip {
                h.insert("grpc-encoding", HeaderValue::from_static("gzip"));
            }
        }
        Protocol::HttpProtobuf | Protocol::HttpJson => {
            let ct = if plan.protocol == Protocol::HttpJson {
                "application/json"
            } else {
                "application/x-protobuf"
            };
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            if gzip {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            if let Ok(host) = HeaderValue::from_str(&plan.target.authority()) {
                h.insert(header::HOST, host);
            }
        }
    }
    h.insert(
        header::USER_AGENT,
        HeaderValue::from_static(concat!("weir-loadgen/", env!("CARGO_PKG_VERSION"))),
    );
    if let Ok(t) = HeaderValue::from_str(&tenant_name(tenant)) {
        h.insert("x-scope-orgid", t);
    }
    for (k, v) in &plan.headers {
        h.insert(k.clone(), v.clone());
    }
    h
}

/// Opens `plan.connections` connections; the first failure is returned.
pub async fn connect(plan: &Plan) -> Result<Vec<Arc<Connection>>, ClientError> {
    let connector = Arc::new(Connector::new(
        plan.target.clone(),
        plan.protocol == Protocol::Grpc,
        &plan.target.path(plan.protocol, plan.signal),
    )?);
    let mut out = Vec::with_capacity(plan.connections);
    for _ in 0..plan.connections {
        out.push(Arc::new(Connection::open(Arc::clone(&connector)).await?));
    }
    Ok(out)
}

struct Shared {
    pool: Vec<Prepared>,
    headers: Vec<HeaderMap>,
    grpc: bool,
    signal: super::args::SignalArg,
    next: AtomicU64,
    start: Instant,
    stop: Stop,
    /// Seconds between two requests' slots, when paced.
    interval: Option<f64>,
    progress: Arc<Progress>,
}

/// Sends until the plan's stop; returns the merged stats and the time from start to the last
/// answer.
pub async fn run(
    plan: &Plan,
    pool: Vec<Prepared>,
    conns: Vec<Arc<Connection>>,
    progress: Arc<Progress>,
) -> (Stats, Duration) {
    let shared = Arc::new(Shared {
        headers: (0..plan.tenants).map(|t| headers(plan, t)).collect(),
        pool,
        grpc: plan.protocol == Protocol::Grpc,
        signal: plan.signal,
        next: AtomicU64::new(0),
        start: Instant::now(),
        stop: plan.stop,
        interval: plan.rate.map(|r| plan.records as f64 / r),
        progress,
    });
    let workers: Vec<_> = (0..plan.concurrency)
        .map(|i| {
            let conn = Arc::clone(&conns[i % conns.len()]);
            tokio::spawn(worker(Arc::clone(&shared), conn, plan.tenants))
        })
        .collect();
    let mut total = Stats::new(plan.tenants);
    for w in workers {
        if let Ok(stats) = w.await {
            total.merge(&stats);
        }
    }
    (total, shared.start.elapsed())
}

async fn worker(shared: Arc<Shared>, conn: Arc<Connection>, tenants: usize) -> Stats {
    let mut stats = Stats::new(tenants);
    let deadline = match shared.stop {
        Stop::Duration(d) => Some(shared.start + d),
        Stop::Count(_) => None,
    };
    loop {
        let ticket = shared.next.fetch_add(1, Ordering::Relaxed);
        if let Stop::Count(n) = shared.stop
            && ticket >= n
        {
            break;
        }
        if let Some(interval) = shared.interval {
            let slot = shared.start + Duration::from_secs_f64(interval * ticket as f64);
            if deadline.is_some_and(|d| slot >= d) {
                break;
            }
            tokio::time::sleep_until(slot).await;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let item = &shared.pool[(ticket % shared.pool.len() as u64) as usize];
        let req = conn
            .connector()
            .request(item.body.clone(), &shared.headers[item.tenant]);
        let sent = Instant::now();
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, conn.send(req)).await;
        let took = sent.elapsed();
        let reply = match answer {
            Err(_) => {
                stats.failed("timeout", item.records, None);
                None
            }
            Ok(Err(_)) => {
                stats.failed("transport", item.records, None);
                None
            }
            Ok(Ok(a)) => Some(if shared.grpc {
                reply::grpc(
                    shared.signal,
                    a.status,
                    &a.headers,
                    a.trailers.as_ref(),
                    &a.body,
                )
            } else {
                reply::http(shared.signal, a.status, &a.headers, &a.body)
            }),
        };
        match reply {
            Some(Reply::Ok { rejected }) => {
                stats.ok(item.tenant, item.records, rejected, took);
                shared
                    .progress
                    .acked
                    .fetch_add(item.records - rejected.min(item.records), Ordering::Relaxed);
            }
            Some(Reply::Failed(name)) => stats.failed(&name, item.records, Some(took)),
            None => {}
        }
        shared.progress.requests.fetch_add(1, Ordering::Relaxed);
    }
    stats
}
