//! OTLP protobuf field numbers the wire processors and counters write or walk, named once
//! (from the `opentelemetry-proto` messages; `tables` holds the full schema the view checks).
//! Constants only: nothing here fails.

/// `Export*ServiceRequest.resource_{spans,logs,metrics}`.
pub const REQUEST_RESOURCES: u32 = 1;
/// `Resource{Spans,Logs,Metrics}.resource`.
pub const RESOURCE: u32 = 1;
/// `Resource{Spans,Logs,Metrics}.scope_{spans,logs,metrics}`.
pub const RESOURCE_SCOPES: u32 = 2;
/// `Scope{Spans,Logs,Metrics}.{spans,log_records,metrics}`.
pub const SCOPE_RECORDS: u32 = 2;
/// `Resource.attributes`.
pub const RESOURCE_ATTRIBUTES: u32 = 1;
/// `InstrumentationScope.attributes`.
pub const SCOPE_ATTRIBUTES: u32 = 3;
/// `Span.attributes`.
pub const SPAN_ATTRIBUTES: u32 = 9;
/// `Span.Event.attributes`.
pub const EVENT_ATTRIBUTES: u32 = 3;
/// `Span.Link.attributes`.
pub const LINK_ATTRIBUTES: u32 = 4;
/// `LogRecord.body`.
pub const LOG_BODY: u32 = 5;
/// `LogRecord.attributes`.
pub const LOG_ATTRIBUTES: u32 = 6;
/// `Metric`'s data fields: gauge, sum, histogram, exponential histogram, summary.
pub const METRIC_DATA: [u32; 5] = [5, 7, 9, 10, 11];
/// `{Gauge,Sum,Histogram,ExponentialHistogram,Summary}.data_points`.
pub const DATA_POINTS: u32 = 1;
