//! What bounds the OTLP receivers under abuse: the timeouts and caps of their config, and the
//! two budgets they draw from while serving.
//!
//! - [`ConnectionBudget`]: file descriptors for client connections, shared by every OTLP
//!   listener of the process (by default the descriptor limit minus a reserve, so the admin
//!   listener and the exporters always keep descriptors); a listener's own `max_connections`
//!   caps it further. A connection past either cap is closed at once (see [`super::conn`]).
//! - [`InflightBytes`]: bytes of request bodies being read by one receiver
//!   (`max_inflight_bytes`). A request that would pass it is refused with 503 / UNAVAILABLE and
//!   a retry hint instead of growing memory.
//!
//! Neither budget fails: taking from one either succeeds or says no; what was taken returns
//! when the guard is dropped. Config problems are reported with the key's dotted path.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use weir_pipeline::Metrics;
use weir_pipeline::metrics::catalogue;

use super::config::{GrpcConfig, HttpConfig, OtlpReceiverConfig};

/// Descriptors kept out of the connection budget: the admin listener, exporters' outbound
/// connections, files and the runtime's own. At least this many, or an eighth of the limit.
pub const FD_RESERVE: u64 = 64;
/// Used when the descriptor limit cannot be read (not Linux).
const FALLBACK_FD_LIMIT: u64 = 1024;

/// The TLS handshake (and HTTP/1 headers) on the gRPC listener, which has no such key.
pub const GRPC_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a write to a gRPC client may stay blocked, as on HTTP by default.
pub const GRPC_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) fn default_read_header_timeout() -> Duration {
    Duration::from_secs(10)
}
pub(super) fn default_read_timeout() -> Duration {
    Duration::from_secs(60)
}
pub(super) fn default_idle_timeout() -> Duration {
    Duration::from_secs(60)
}
pub(super) fn default_write_timeout() -> Duration {
    Duration::from_secs(30)
}
pub(super) fn default_max_concurrent_streams() -> u32 {
    100
}
pub(super) fn default_max_inflight_bytes() -> u64 {
    64 * 1024 * 1024
}

/// `keepalive` of the gRPC protocol, in the Collector's shape.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KeepaliveConfig {
    /// How connections are kept alive or closed by the server.
    #[serde(default)]
    pub server_parameters: ServerParameters,
}

/// `keepalive.server_parameters`: the Collector's names, weir's defaults.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerParameters {
    /// A connection with no call in flight for this long is closed. Default: 5m.
    #[serde(default = "default_max_connection_idle", with = "humantime_serde")]
    pub max_connection_idle: Duration,
    /// A connection open this long is asked to close (GOAWAY) once its calls are done.
    /// Default: unset (no limit).
    #[serde(default, with = "humantime_serde")]
    pub max_connection_age: Option<Duration>,
    /// After `max_connection_age`, how long calls in flight may still take before the
    /// connection is cut. Default: unset (they may finish).
    #[serde(default, with = "humantime_serde")]
    pub max_connection_age_grace: Option<Duration>,
    /// After this long without frames from the client, the server pings it. Default: 2h.
    #[serde(default = "default_keepalive_time", with = "humantime_serde")]
    pub time: Duration,
    /// A client that does not answer a ping within this long is disconnected. Default: 20s.
    #[serde(default = "default_keepalive_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for ServerParameters {
    fn default() -> Self {
        Self {
            max_connection_idle: default_max_connection_idle(),
            max_connection_age: None,
            max_connection_age_grace: None,
            time: default_keepalive_time(),
            timeout: default_keepalive_timeout(),
        }
    }
}

fn default_max_connection_idle() -> Duration {
    Duration::from_secs(5 * 60)
}
fn default_keepalive_time() -> Duration {
    Duration::from_secs(2 * 60 * 60)
}
fn default_keepalive_timeout() -> Duration {
    Duration::from_secs(20)
}

impl OtlpReceiverConfig {
    /// Timeouts and caps that parse but cannot be used, as (dotted path, message).
    pub fn limit_problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.max_inflight_bytes == 0 {
            out.push(("max_inflight_bytes".into(), "must be more than 0".into()));
        }
        if let Some(h) = &self.protocols.http {
            out.extend(h.problems());
        }
        if let Some(g) = &self.protocols.grpc {
            out.extend(g.problems());
        }
        out
    }
}

fn positive(out: &mut Vec<(String, String)>, path: &str, d: Duration) {
    if d.is_zero() {
        out.push((path.into(), "must be more than 0s".into()));
    }
}

impl HttpConfig {
    fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let p = "protocols.http.";
        positive(
            &mut out,
            &format!("{p}read_header_timeout"),
            self.read_header_timeout,
        );
        positive(&mut out, &format!("{p}read_timeout"), self.read_timeout);
        positive(&mut out, &format!("{p}write_timeout"), self.write_timeout);
        positive(&mut out, &format!("{p}idle_timeout"), self.idle_timeout);
        if self.max_connections == Some(0) {
            out.push((format!("{p}max_connections"), "must be more than 0".into()));
        }
        out
    }
}

impl GrpcConfig {
    fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let p = "protocols.grpc.";
        if self.max_concurrent_streams == 0 {
            out.push((
                format!("{p}max_concurrent_streams"),
                "must be more than 0".into(),
            ));
        }
        if self.max_connections == Some(0) {
            out.push((format!("{p}max_connections"), "must be more than 0".into()));
        }
        positive(&mut out, &format!("{p}read_timeout"), self.read_timeout);
        let k = "protocols.grpc.keepalive.server_parameters.";
        let s = &self.keepalive.server_parameters;
        positive(
            &mut out,
            &format!("{k}max_connection_idle"),
            s.max_connection_idle,
        );
        positive(&mut out, &format!("{k}time"), s.time);
        positive(&mut out, &format!("{k}timeout"), s.timeout);
        if let Some(age) = s.max_connection_age {
            positive(&mut out, &format!("{k}max_connection_age"), age);
        }
        out
    }
}

/// File descriptors for client connections, shared by every OTLP listener.
#[derive(Clone, Debug)]
pub struct ConnectionBudget {
    shared: Arc<Semaphore>,
    size: usize,
}

impl ConnectionBudget {
    /// A budget of `size` connections.
    pub fn new(size: usize) -> Self {
        Self {
            shared: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// The default: the process's descriptor limit minus [`FD_RESERVE`] (or an eighth of the
    /// limit when that is more).
    pub fn from_fd_limit() -> Self {
        let limit = soft_fd_limit().unwrap_or(FALLBACK_FD_LIMIT);
        let size = budget_for(limit);
        tracing::info!(
            fd_limit = limit,
            connections = size,
            "connection budget of the OTLP listeners"
        );
        Self::new(usize::try_from(size).unwrap_or(usize::MAX))
    }

    /// How many connections the budget holds in all.
    pub fn size(&self) -> usize {
        self.size
    }

    /// A gate for one listener: this budget, capped further by `own` when set.
    pub fn gate(&self, own: Option<u32>) -> ConnectionGate {
        ConnectionGate {
            shared: Arc::clone(&self.shared),
            own: own.map(|n| Arc::new(Semaphore::new(n as usize))),
        }
    }
}

/// The connections a budget of `fd_limit` descriptors allows.
pub fn budget_for(fd_limit: u64) -> u64 {
    let reserve = FD_RESERVE.max(fd_limit / 8);
    fd_limit.saturating_sub(reserve).max(1)
}

/// The soft `RLIMIT_NOFILE`, read from `/proc/self/limits`.
fn soft_fd_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => Some(u64::MAX),
        n => n.parse().ok(),
    }
}

/// Admission of connections to one listener.
#[derive(Clone, Debug)]
pub struct ConnectionGate {
    shared: Arc<Semaphore>,
    own: Option<Arc<Semaphore>>,
}

/// A connection's place in the budgets, given back when dropped.
#[derive(Debug)]
pub struct Admission {
    _shared: OwnedSemaphorePermit,
    _own: Option<OwnedSemaphorePermit>,
}

impl ConnectionGate {
    /// A place for one more connection, or `None` when a cap is reached.
    pub fn admit(&self) -> Option<Admission> {
        let own = match &self.own {
            Some(s) => Some(Arc::clone(s).try_acquire_owned().ok()?),
            None => None,
        };
        let shared = Arc::clone(&self.shared).try_acquire_owned().ok()?;
        Some(Admission {
            _shared: shared,
            _own: own,
        })
    }
}

/// Bytes of request bodies one receiver is reading (`max_inflight_bytes`), shown in
/// `weir_receiver_inflight_bytes`.
#[derive(Clone)]
pub struct InflightBytes {
    inner: Arc<Inflight>,
}

struct Inflight {
    used: AtomicUsize,
    max: usize,
    receiver: Arc<str>,
    metrics: Metrics,
}

impl InflightBytes {
    /// A budget of `max` bytes for `receiver`.
    pub fn new(receiver: &str, max: u64, metrics: Metrics) -> Self {
        Self {
            inner: Arc::new(Inflight {
                used: AtomicUsize::new(0),
                max: usize::try_from(max).unwrap_or(usize::MAX),
                receiver: Arc::from(receiver),
                metrics,
            }),
        }
    }

    /// The configured maximum.
    pub fn max(&self) -> usize {
        self.inner.max
    }

    /// Bytes taken now.
    pub fn used(&self) -> usize {
        self.inner.used.load(Ordering::Acquire)
    }

    /// Takes `n` bytes, or `None` when that would pass the maximum.
    pub fn reserve(&self, n: usize) -> Option<Reservation> {
        let mut r = Reservation {
            budget: self.clone(),
            held: 0,
        };
        r.grow(n).then_some(r)
    }
}

impl Inflight {
    fn take(&self, n: usize) -> bool {
        let taken = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&t| t <= self.max)
            })
            .is_ok();
        if taken {
            self.show();
        }
        taken
    }

    fn give(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
        self.show();
    }

    fn show(&self) {
        let used = self.used.load(Ordering::Acquire);
        self.metrics
            .counter(catalogue::RECEIVER_INFLIGHT_BYTES, &[&self.receiver])
            .set(u64::try_from(used).unwrap_or(u64::MAX));
    }
}

/// Bytes held in an [`InflightBytes`] budget, returned on drop.
pub struct Reservation {
    budget: InflightBytes,
    held: usize,
}

impl Reservation {
    /// Takes `n` more bytes; `false` (holding what it held) when the budget has no room.
    pub fn grow(&mut self, n: usize) -> bool {
        if n == 0 {
            return true;
        }
        let ok = self.budget.inner.take(n);
        if ok {
            self.held += n;
        }
        ok
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.held
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.held > 0 {
            self.budget.inner.give(self.held);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_keeps_a_reserve() {
        assert_eq!(budget_for(512), 448);
        assert_eq!(budget_for(1024), 896);
        assert_eq!(budget_for(100), 36);
        assert_eq!(budget_for(10), 1);
        assert_eq!(budget_for(1 << 20), (1 << 20) - (1 << 17));
    }

    #[test]
    fn a_gate_admits_up_to_its_own_cap_and_the_shared_one() {
        let budget = ConnectionBudget::new(3);
        let a = budget.gate(Some(2));
        let b = budget.gate(None);
        let a1 = a.admit().expect("first");
        let _a2 = a.admit().expect("second");
        assert!(a.admit().is_none(), "own cap of 2");
        let _b1 = b.admit().expect("shared room for one more");
        assert!(b.admit().is_none(), "shared budget of 3");
        drop(a1);
        assert!(
            b.admit().is_some(),
            "a closed connection gives its place back"
        );
    }

    #[test]
    fn inflight_bytes_are_bounded_and_given_back() {
        let metrics = Metrics::new();
        let budget = InflightBytes::new("otlp", 100, metrics.clone());
        let mut r = budget.reserve(60).expect("room");
        assert!(budget.reserve(41).is_none());
        assert!(r.grow(40));
        assert!(!r.grow(1));
        assert_eq!(r.held(), 100);
        assert_eq!(
            metrics.value(catalogue::RECEIVER_INFLIGHT_BYTES, &["otlp"]),
            Some(100)
        );
        drop(r);
        assert_eq!(budget.used(), 0);
        assert_eq!(
            metrics.value(catalogue::RECEIVER_INFLIGHT_BYTES, &["otlp"]),
            Some(0)
        );
    }

    #[test]
    fn zero_limits_are_named_by_path() {
        let c: OtlpReceiverConfig = serde_yaml_ng::from_str(
            "max_inflight_bytes: 0\nprotocols:\n  http: { read_timeout: 0s, max_connections: 0 }\n  \
             grpc: { max_concurrent_streams: 0, keepalive: { server_parameters: { max_connection_idle: 0s } } }\n",
        )
        .expect("parses");
        let paths: Vec<String> = c.limit_problems().into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                "max_inflight_bytes",
                "protocols.http.read_timeout",
                "protocols.http.max_connections",
                "protocols.grpc.max_concurrent_streams",
                "protocols.grpc.keepalive.server_parameters.max_connection_idle",
            ]
        );
    }
}
