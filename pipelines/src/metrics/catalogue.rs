//! Every metric weir exposes about itself: one catalogue, so no component can invent a name the
//! documentation does not list.

use super::MetricDef;
use super::MetricKind::{Counter, Gauge, Histogram};

/// Records taken by a receiver.
pub const RECEIVER_ACCEPTED_RECORDS: MetricDef = MetricDef {
    name: "weir_receiver_accepted_records_total",
    help: "Records (spans, data points, log records) a receiver accepted.",
    labels: &["signal", "receiver", "tenant"],
    kind: Counter,
};
/// Records a receiver refused, by reason.
pub const RECEIVER_REFUSED_RECORDS: MetricDef = MetricDef {
    name: "weir_receiver_refused_records_total",
    help: "Records a receiver refused, by reason.",
    labels: &["signal", "receiver", "tenant", "reason"],
    kind: Counter,
};
/// Requests a receiver refused before reading their body (so their records are unknown), by
/// reason.
pub const RECEIVER_REFUSED_REQUESTS: MetricDef = MetricDef {
    name: "weir_receiver_refused_requests_total",
    help: "Requests a receiver refused before reading their body (their records unknown), by reason (memory_limited, queue_full).",
    labels: &["signal", "receiver", "reason"],
    kind: Counter,
};
/// Bytes (after decompression) of accepted requests.
pub const RECEIVER_ACCEPTED_BYTES: MetricDef = MetricDef {
    name: "weir_receiver_accepted_bytes_total",
    help: "Bytes of accepted requests, measured after decompression.",
    labels: &["signal", "receiver", "tenant"],
    kind: Counter,
};
/// Records an exporter sent.
pub const EXPORTER_SENT_RECORDS: MetricDef = MetricDef {
    name: "weir_exporter_sent_records_total",
    help: "Records an exporter delivered.",
    labels: &["signal", "exporter"],
    kind: Counter,
};
/// Records an exporter failed to send.
pub const EXPORTER_FAILED_RECORDS: MetricDef = MetricDef {
    name: "weir_exporter_failed_records_total",
    help: "Records an exporter failed to deliver, by reason.",
    labels: &["signal", "exporter", "reason"],
    kind: Counter,
};
/// Records an endpoint of a `load_balancing` exporter handed to another endpoint.
pub const EXPORTER_REROUTED_RECORDS: MetricDef = MetricDef {
    name: "weir_exporter_rerouted_records_total",
    help: "Records an endpoint of a load_balancing exporter handed to other endpoints after giving up on its backend (or while it was marked down).",
    labels: &["signal", "exporter"],
    kind: Counter,
};
/// Endpoints a `load_balancing` exporter routes over.
pub const LOADBALANCER_ENDPOINTS: MetricDef = MetricDef {
    name: "weir_loadbalancer_endpoints",
    help: "Endpoints a load_balancing exporter routes over now, from its resolver.",
    labels: &["exporter"],
    kind: Gauge,
};
/// Configuration reloads, by result.
pub const CONFIG_RELOADS: MetricDef = MetricDef {
    name: "weir_config_reloads_total",
    help: "Configuration reloads (SIGHUP), by result (success, invalid, failed).",
    labels: &["result"],
    kind: Counter,
};

/// Send attempts that were retried.
pub const EXPORTER_RETRIES: MetricDef = MetricDef {
    name: "weir_exporter_retries_total",
    help: "Send attempts an exporter retried after a retryable failure.",
    labels: &["exporter"],
    kind: Counter,
};
/// Records in an exporter's queue now.
pub const EXPORTER_QUEUE_RECORDS: MetricDef = MetricDef {
    name: "weir_exporter_queue_records",
    help: "Records waiting in an exporter's queue.",
    labels: &["exporter"],
    kind: Gauge,
};
/// What an exporter's queue holds now, in its sizer's unit (requests, items or bytes).
pub const EXPORTER_QUEUE_SIZE: MetricDef = MetricDef {
    name: "weir_exporter_queue_size",
    help: "What an exporter's queue holds now, counted by its sizer (requests, items or bytes); compare with weir_exporter_queue_capacity_records.",
    labels: &["exporter"],
    kind: Gauge,
};
/// An exporter's queue capacity, in its sizer's unit.
pub const EXPORTER_QUEUE_CAPACITY: MetricDef = MetricDef {
    name: "weir_exporter_queue_capacity_records",
    help: "Capacity of an exporter's queue, counted by its sizer (requests, items or bytes).",
    labels: &["exporter"],
    kind: Gauge,
};
/// Bytes an exporter's queue holds against `sending_queue.max_bytes` now.
pub const EXPORTER_QUEUE_BYTES: MetricDef = MetricDef {
    name: "weir_exporter_queue_bytes",
    help: "Bytes (of requests, after decompression) an exporter's queue holds against sending_queue.max_bytes: waiting, being sent or retried; compare with weir_exporter_queue_max_bytes.",
    labels: &["exporter"],
    kind: Gauge,
};
/// An exporter queue's byte bound, `sending_queue.max_bytes`.
pub const EXPORTER_QUEUE_MAX_BYTES: MetricDef = MetricDef {
    name: "weir_exporter_queue_max_bytes",
    help: "An exporter queue's byte bound (sending_queue.max_bytes), whatever its sizer.",
    labels: &["exporter"],
    kind: Gauge,
};
/// Always 1: the unit an exporter's queue counts its size and capacity in, as the `sizer` label.
pub const EXPORTER_QUEUE_SIZER: MetricDef = MetricDef {
    name: "weir_exporter_queue_sizer_info",
    help: "Always 1; the sizer label is the unit (requests, items or bytes) of weir_exporter_queue_size and weir_exporter_queue_capacity_records.",
    labels: &["exporter", "sizer"],
    kind: Gauge,
};
/// Bytes an exporter's disk queue takes in its directory.
pub const EXPORTER_QUEUE_DISK_BYTES: MetricDef = MetricDef {
    name: "weir_exporter_queue_disk_bytes",
    help: "Bytes an exporter's disk queue (sending_queue.storage) takes in its directory, against sending_queue.max_bytes.",
    labels: &["exporter"],
    kind: Gauge,
};
/// Age of the oldest record an exporter's disk queue holds.
pub const EXPORTER_QUEUE_OLDEST_AGE: MetricDef = MetricDef {
    name: "weir_exporter_queue_oldest_record_age_seconds",
    help: "Seconds since the oldest request an exporter's disk queue holds arrived (0 when empty).",
    labels: &["exporter"],
    kind: Gauge,
};
/// Records read back from a disk queue at start.
pub const EXPORTER_REPLAYED_RECORDS: MetricDef = MetricDef {
    name: "weir_exporter_replayed_records_total",
    help: "Records read back from an exporter's disk queue at start; possibly_duplicate=\"true\" when a send of them had begun before weir stopped.",
    labels: &["signal", "exporter", "possibly_duplicate"],
    kind: Counter,
};
/// Damaged entries found in a disk queue.
pub const EXPORTER_DISK_CORRUPT: MetricDef = MetricDef {
    name: "weir_exporter_disk_corrupt_total",
    help: "Damaged entries (torn writes, failed checksums) found in an exporter's disk queue and skipped; their records, when known, are in weir_records_dropped_total{reason=\"corrupt_on_disk\"}.",
    labels: &["exporter"],
    kind: Counter,
};
/// The loss ledger: every record lost after it was accepted, by reason.
pub const RECORDS_DROPPED: MetricDef = MetricDef {
    name: "weir_records_dropped_total",
    help: "Records accepted by weir and then lost, by exporter, tenant and reason.",
    labels: &["signal", "exporter", "tenant", "reason"],
    kind: Counter,
};
/// Error events the `sentry` exporter did not send because Sentry had just taken another copy
/// of the same exception (its `dedupe_window`): not a loss.
pub const SENTRY_DEDUPLICATED: MetricDef = MetricDef {
    name: "weir_sentry_deduplicated_total",
    help: "Error events a sentry exporter skipped as copies of an exception Sentry had just taken (not lost).",
    labels: &["exporter"],
    kind: Counter,
};

/// Values a redaction processor masked, hashed or dropped, by reason.
pub const REDACTED_VALUES: MetricDef = MetricDef {
    name: "weir_redacted_values_total",
    help: "Values a redaction processor masked, hashed or dropped, by reason.",
    labels: &["processor", "reason"],
    kind: Counter,
};
/// Records a filter processor dropped because a condition matched them: chosen, not lost.
pub const RECORDS_FILTERED: MetricDef = MetricDef {
    name: "weir_records_filtered_total",
    help: "Records (spans, log records, data points) a filter processor dropped on purpose: a condition matched them.",
    labels: &["signal", "processor"],
    kind: Counter,
};
/// Trace or span ids the enrich processor found invalid and left alone, by source.
pub const ENRICH_INVALID_IDS: MetricDef = MetricDef {
    name: "weir_enrich_invalid_ids_total",
    help: "Trace or span ids the enrich processor found invalid and left alone, by source.",
    labels: &["processor", "source"],
    kind: Counter,
};
/// Round trips to a `tenant_limit`'s shared store that failed, by reason (`timeout`, `error`);
/// each puts the processor on its fallback for `retry_interval`.
pub const TENANT_LIMIT_STORE_FAILURES: MetricDef = MetricDef {
    name: "weir_tenant_limit_store_failures_total",
    help: "Round trips to a tenant_limit's shared store that failed (reason timeout or error); each starts retry_interval on the fallback.",
    labels: &["processor", "reason"],
    kind: Counter,
};
/// Requests a `tenant_limit` decided by its fallback because its shared store was given up.
pub const TENANT_LIMIT_FALLBACK_REQUESTS: MetricDef = MetricDef {
    name: "weir_tenant_limit_fallback_requests_total",
    help: "Requests a tenant_limit decided by its fallback (local, allow or deny) while its shared store was unreachable.",
    labels: &["processor", "fallback"],
    kind: Counter,
};
/// 1 while a `tenant_limit` decides through its shared store, 0 while on its fallback.
pub const TENANT_LIMIT_STORE_UP: MetricDef = MetricDef {
    name: "weir_tenant_limit_store_up",
    help: "1 while a tenant_limit decides through its shared store, 0 while on its fallback.",
    labels: &["processor"],
    kind: Gauge,
};
/// Malformed trace or span ids removed from log records and exemplars on arrival, by field.
pub const RECEIVER_INVALID_IDS: MetricDef = MetricDef {
    name: "weir_receiver_invalid_ids_total",
    help: "Malformed trace or span ids a receiver removed from log records and exemplars (the record is kept, not associated with a trace), by field.",
    labels: &["receiver", "field"],
    kind: Counter,
};

/// Client connections an OTLP listener closed at once because a connection cap was reached.
pub const CONNECTIONS_REFUSED: MetricDef = MetricDef {
    name: "weir_receiver_connections_refused_total",
    help: "Client connections an OTLP listener closed on arrival because max_connections or the shared connection budget was reached.",
    labels: &["listener"],
    kind: Counter,
};
/// Client connections an OTLP listener holds open now.
pub const OPEN_CONNECTIONS: MetricDef = MetricDef {
    name: "weir_receiver_open_connections",
    help: "Client connections an OTLP listener holds open now.",
    labels: &["listener"],
    kind: Gauge,
};
/// Requests or connections a receiver cut for being too slow, by what was late.
pub const RECEIVER_TIMEOUTS: MetricDef = MetricDef {
    name: "weir_receiver_timeouts_total",
    help: "Requests or connections an OTLP listener cut for being too slow, by phase (header, body, write).",
    labels: &["listener", "phase"],
    kind: Counter,
};
/// Requests waiting, body unread, for room in a full exporter queue (`overflow_wait`).
pub const RECEIVER_WAITING_REQUESTS: MetricDef = MetricDef {
    name: "weir_receiver_waiting_requests",
    help: "Requests waiting, body unread, for room in a full exporter queue (sending_queue.overflow_wait).",
    labels: &["receiver"],
    kind: Gauge,
};
/// Bytes of request bodies a receiver is reading now (compare with `max_inflight_bytes`).
pub const RECEIVER_INFLIGHT_BYTES: MetricDef = MetricDef {
    name: "weir_receiver_inflight_bytes",
    help: "Bytes of request bodies a receiver is reading now; past max_inflight_bytes requests get 503 / UNAVAILABLE.",
    labels: &["receiver"],
    kind: Gauge,
};

/// weir's resident memory at the last check of its `memory_limiter`.
pub const MEMORY_USAGE_BYTES: MetricDef = MetricDef {
    name: "weir_memory_usage_bytes",
    help: "weir's resident memory (RSS) at the memory_limiter's last check, in bytes.",
    labels: &[],
    kind: Gauge,
};
/// The hard limit of the `memory_limiter`.
pub const MEMORY_LIMIT_BYTES: MetricDef = MetricDef {
    name: "weir_memory_limit_bytes",
    help: "The memory_limiter's limit in bytes; receivers refuse requests from limit - spike on.",
    labels: &[],
    kind: Gauge,
};

/// HTTP requests weir answered, by route and status (OTLP/HTTP and admin).
pub const HTTP_REQUESTS: MetricDef = MetricDef {
    name: "weir_http_requests_total",
    help: "HTTP requests weir answered, by route and status code.",
    labels: &["route", "status"],
    kind: Counter,
};
/// Time to answer HTTP requests, by route.
pub const HTTP_REQUEST_DURATION: MetricDef = MetricDef {
    name: "weir_http_request_duration_seconds",
    help: "Time from request to answer, by route.",
    labels: &["route"],
    kind: Histogram,
};
/// Requests from a web page whose origin the receiver's `cors.allowed_origins` does not allow.
pub const HTTP_CORS_REFUSED: MetricDef = MetricDef {
    name: "weir_http_cors_refused_total",
    help: "Requests (preflights included) refused because their Origin is not in cors.allowed_origins, by receiver.",
    labels: &["receiver"],
    kind: Counter,
};
/// gRPC calls weir answered, by method and status code.
pub const GRPC_REQUESTS: MetricDef = MetricDef {
    name: "weir_grpc_requests_total",
    help: "gRPC calls weir answered, by method and gRPC status code.",
    labels: &["method", "code"],
    kind: Counter,
};
/// Time to answer gRPC calls, by method.
pub const GRPC_REQUEST_DURATION: MetricDef = MetricDef {
    name: "weir_grpc_request_duration_seconds",
    help: "Time from call to answer, by gRPC method.",
    labels: &["method"],
    kind: Histogram,
};
/// Requests refused for their credentials or identity, by reason.
pub const AUTH_FAILURES: MetricDef = MetricDef {
    name: "weir_auth_failures_total",
    help: "Requests refused for their credentials or tenant identity, by reason.",
    labels: &["reason"],
    kind: Counter,
};

/// 1 while weir is ready to take traffic, 0 while starting or draining.
pub const READY: MetricDef = MetricDef {
    name: "weir_ready",
    help: "1 while weir is ready to take traffic (as /health/ready), 0 while starting or draining.",
    labels: &[],
    kind: Gauge,
};

/// The whole catalogue.
pub const ALL: &[MetricDef] = &[
    RECEIVER_ACCEPTED_RECORDS,
    RECEIVER_REFUSED_RECORDS,
    RECEIVER_REFUSED_REQUESTS,
    RECEIVER_ACCEPTED_BYTES,
    EXPORTER_SENT_RECORDS,
    EXPORTER_FAILED_RECORDS,
    EXPORTER_REROUTED_RECORDS,
    LOADBALANCER_ENDPOINTS,
    CONFIG_RELOADS,
    EXPORTER_RETRIES,
    EXPORTER_QUEUE_RECORDS,
    EXPORTER_QUEUE_CAPACITY,
    EXPORTER_QUEUE_SIZE,
    EXPORTER_QUEUE_BYTES,
    EXPORTER_QUEUE_MAX_BYTES,
    EXPORTER_QUEUE_SIZER,
    EXPORTER_QUEUE_DISK_BYTES,
    EXPORTER_QUEUE_OLDEST_AGE,
    EXPORTER_REPLAYED_RECORDS,
    EXPORTER_DISK_CORRUPT,
    RECORDS_DROPPED,
    SENTRY_DEDUPLICATED,
    REDACTED_VALUES,
    RECORDS_FILTERED,
    ENRICH_INVALID_IDS,
    TENANT_LIMIT_STORE_FAILURES,
    TENANT_LIMIT_FALLBACK_REQUESTS,
    TENANT_LIMIT_STORE_UP,
    RECEIVER_INVALID_IDS,
    CONNECTIONS_REFUSED,
    OPEN_CONNECTIONS,
    RECEIVER_WAITING_REQUESTS,
    RECEIVER_TIMEOUTS,
    RECEIVER_INFLIGHT_BYTES,
    MEMORY_USAGE_BYTES,
    MEMORY_LIMIT_BYTES,
    HTTP_REQUESTS,
    HTTP_REQUEST_DURATION,
    HTTP_CORS_REFUSED,
    GRPC_REQUESTS,
    GRPC_REQUEST_DURATION,
    AUTH_FAILURES,
    READY,
];
