//! The OTLP messages the wire view reads, as tables of field numbers and kinds (from
//! `opentelemetry-proto` 0.33's generated code: common, resource, trace, logs and metrics, and
//! the three export requests). A field missing here is skipped as unknown, as prost skips
//! unknown fields; nothing here fails.

use super::schema::{Kind, Msg, Spec};

pub(super) const fn one(number: u32, kind: Kind) -> Spec {
    Spec {
        number,
        kind,
        repeated: false,
        oneof: false,
    }
}

pub(super) const fn many(number: u32, kind: Kind) -> Spec {
    Spec {
        number,
        kind,
        repeated: true,
        oneof: false,
    }
}

/// A member of the message's oneof.
pub(super) const fn alt(number: u32, kind: Kind) -> Spec {
    Spec {
        number,
        kind,
        repeated: false,
        oneof: true,
    }
}

/// `common.v1.AnyValue`.
pub static ANY_VALUE: Msg = Msg {
    name: "AnyValue",
    fields: &[
        alt(1, Kind::Str),
        alt(2, Kind::Varint),
        alt(3, Kind::Varint),
        alt(4, Kind::Fixed64),
        alt(5, Kind::Msg(&ARRAY_VALUE)),
        alt(6, Kind::Msg(&KEY_VALUE_LIST)),
        alt(7, Kind::Bytes),
        alt(8, Kind::Varint),
    ],
};

/// `common.v1.ArrayValue`.
pub static ARRAY_VALUE: Msg = Msg {
    name: "ArrayValue",
    fields: &[many(1, Kind::Msg(&ANY_VALUE))],
};

/// `common.v1.KeyValueList`.
pub static KEY_VALUE_LIST: Msg = Msg {
    name: "KeyValueList",
    fields: &[many(1, Kind::Msg(&KEY_VALUE))],
};

/// `common.v1.KeyValue`.
pub static KEY_VALUE: Msg = Msg {
    name: "KeyValue",
    fields: &[
        one(1, Kind::Str),
        one(2, Kind::Msg(&ANY_VALUE)),
        one(3, Kind::Varint),
    ],
};

/// `common.v1.InstrumentationScope`.
pub static SCOPE: Msg = Msg {
    name: "InstrumentationScope",
    fields: &[
        one(1, Kind::Str),
        one(2, Kind::Str),
        many(3, Kind::Msg(&KEY_VALUE)),
        one(4, Kind::Varint),
    ],
};

/// `common.v1.EntityRef`.
pub static ENTITY_REF: Msg = Msg {
    name: "EntityRef",
    fields: &[
        one(1, Kind::Str),
        one(2, Kind::Str),
        many(3, Kind::Str),
        many(4, Kind::Str),
    ],
};

/// `resource.v1.Resource`.
pub static RESOURCE: Msg = Msg {
    name: "Resource",
    fields: &[
        many(1, Kind::Msg(&KEY_VALUE)),
        one(2, Kind::Varint),
        many(3, Kind::Msg(&ENTITY_REF)),
    ],
};

/// `trace.v1.Status`.
pub static STATUS: Msg = Msg {
    name: "Status",
    fields: &[one(2, Kind::Str), one(3, Kind::Varint)],
};

/// `trace.v1.Span.Event`.
pub static EVENT: Msg = Msg {
    name: "Event",
    fields: &[
        one(1, Kind::Fixed64),
        one(2, Kind::Str),
        many(3, Kind::Msg(&KEY_VALUE)),
        one(4, Kind::Varint),
    ],
};

/// `trace.v1.Span.Link`.
pub static LINK: Msg = Msg {
    name: "Link",
    fields: &[
        one(1, Kind::Bytes),
        one(2, Kind::Bytes),
        one(3, Kind::Str),
        many(4, Kind::Msg(&KEY_VALUE)),
        one(5, Kind::Varint),
        one(6, Kind::Fixed32),
    ],
};

/// `trace.v1.Span`.
pub static SPAN: Msg = Msg {
    name: "Span",
    fields: &[
        one(1, Kind::Bytes),
        one(2, Kind::Bytes),
        one(3, Kind::Str),
        one(4, Kind::Bytes),
        one(5, Kind::Str),
        one(6, Kind::Varint),
        one(7, Kind::Fixed64),
        one(8, Kind::Fixed64),
        many(9, Kind::Msg(&KEY_VALUE)),
        one(10, Kind::Varint),
        many(11, Kind::Msg(&EVENT)),
        one(12, Kind::Varint),
        many(13, Kind::Msg(&LINK)),
        one(14, Kind::Varint),
        one(15, Kind::Msg(&STATUS)),
        one(16, Kind::Fixed32),
    ],
};

/// `trace.v1.ScopeSpans`.
pub static SCOPE_SPANS: Msg = Msg {
    name: "ScopeSpans",
    fields: &[
        one(1, Kind::Msg(&SCOPE)),
        many(2, Kind::Msg(&SPAN)),
        one(3, Kind::Str),
    ],
};

/// `trace.v1.ResourceSpans`.
pub static RESOURCE_SPANS: Msg = Msg {
    name: "ResourceSpans",
    fields: &[
        one(1, Kind::Msg(&RESOURCE)),
        many(2, Kind::Msg(&SCOPE_SPANS)),
        one(3, Kind::Str),
    ],
};

/// `collector.trace.v1.ExportTraceServiceRequest`.
pub static TRACE_REQUEST: Msg = Msg {
    name: "ExportTraceServiceRequest",
    fields: &[many(1, Kind::Msg(&RESOURCE_SPANS))],
};

/// `logs.v1.LogRecord`.
pub static LOG_RECORD: Msg = Msg {
    name: "LogRecord",
    fields: &[
        one(1, Kind::Fixed64),
        one(2, Kind::Varint),
        one(3, Kind::Str),
        one(5, Kind::Msg(&ANY_VALUE)),
        many(6, Kind::Msg(&KEY_VALUE)),
        one(7, Kind::Varint),
        one(8, Kind::Fixed32),
        one(9, Kind::Bytes),
        one(10, Kind::Bytes),
        one(11, Kind::Fixed64),
        one(12, Kind::Str),
    ],
};

/// `logs.v1.ScopeLogs`.
pub static SCOPE_LOGS: Msg = Msg {
    name: "ScopeLogs",
    fields: &[
        one(1, Kind::Msg(&SCOPE)),
        many(2, Kind::Msg(&LOG_RECORD)),
        one(3, Kind::Str),
    ],
};

/// `logs.v1.ResourceLogs`.
pub static RESOURCE_LOGS: Msg = Msg {
    name: "ResourceLogs",
    fields: &[
        one(1, Kind::Msg(&RESOURCE)),
        many(2, Kind::Msg(&SCOPE_LOGS)),
        one(3, Kind::Str),
    ],
};

/// `collector.logs.v1.ExportLogsServiceRequest`.
pub static LOGS_REQUEST: Msg = Msg {
    name: "ExportLogsServiceRequest",
    fields: &[many(1, Kind::Msg(&RESOURCE_LOGS))],
};

/// `metrics.v1.Exemplar`.
pub static EXEMPLAR: Msg = Msg {
    name: "Exemplar",
    fields: &[
        many(7, Kind::Msg(&KEY_VALUE)),
        one(2, Kind::Fixed64),
        alt(3, Kind::Fixed64),
        alt(6, Kind::Fixed64),
        one(4, Kind::Bytes),
        one(5, Kind::Bytes),
    ],
};

/// `metrics.v1.NumberDataPoint`.
pub static NUMBER_POINT: Msg = Msg {
    name: "NumberDataPoint",
    fields: &[
        many(7, Kind::Msg(&KEY_VALUE)),
        one(2, Kind::Fixed64),
        one(3, Kind::Fixed64),
        alt(4, Kind::Fixed64),
        alt(6, Kind::Fixed64),
        many(5, Kind::Msg(&EXEMPLAR)),
        one(8, Kind::Varint),
    ],
};

/// `metrics.v1.HistogramDataPoint`.
pub static HISTOGRAM_POINT: Msg = Msg {
    name: "HistogramDataPoint",
    fields: &[
        many(9, Kind::Msg(&KEY_VALUE)),
        one(2, Kind::Fixed64),
        one(3, Kind::Fixed64),
        one(4, Kind::Fixed64),
        one(5, Kind::Fixed64),
        many(6, Kind::Packed64),
        many(7, Kind::Packed64),
        many(8, Kind::Msg(&EXEMPLAR)),
        one(10, Kind::Varint),
        one(11, Kind::Fixed64),
        one(12, Kind::Fixed64),
    ],
};

/// `metrics.v1.ExponentialHistogramDataPoint.Buckets`.
pub static BUCKETS: Msg = Msg {
    name: "Buckets",
    fields: &[one(1, Kind::Varint), many(2, Kind::PackedVarint)],
};

/// `metrics.v1.ExponentialHistogramDataPoint`.
pub static EXP_HISTOGRAM_POINT: Msg = Msg {
    name: "ExponentialHistogramDataPoint",
    fields: &[
        many(1, Kind::Msg(&KEY_VALUE)),
        one(2, Kind::Fixed64),
        one(3, Kind::Fixed64),
        one(4, Kind::Fixed64),
        one(5, Kind::Fixed64),
        one(6, Kind::Varint),
        one(7, Kind::Fixed64),
        one(8, Kind::Msg(&BUCKETS)),
        one(9, Kind::Msg(&BUCKETS)),
        one(10, Kind::Varint),
        many(11, Kind::Msg(&EXEMPLAR)),
        one(12, Kind::Fixed64),
        one(13, Kind::Fixed64),
        one(14, Kind::Fixed64),
    ],
};

/// `metrics.v1.SummaryDataPoint.ValueAtQuantile`.
pub static QUANTILE: Msg = Msg {
    name: "ValueAtQuantile",
    fields: &[one(1, Kind::Fixed64), one(2, Kind::Fixed64)],
};

/// `metrics.v1.SummaryDataPoint`.
pub static SUMMARY_POINT: Msg = Msg {
    name: "SummaryDataPoint",
    fields: &[
        many(7, Kind::Msg(&KEY_VALUE)),
        one(2, Kind::Fixed64),
        one(3, Kind::Fixed64),
        one(4, Kind::Fixed64),
        one(5, Kind::Fixed64),
        many(6, Kind::Msg(&QUANTILE)),
        one(8, Kind::Varint),
    ],
};

/// `metrics.v1.Gauge`.
pub static GAUGE: Msg = Msg {
    name: "Gauge",
    fields: &[many(1, Kind::Msg(&NUMBER_POINT))],
};

/// `metrics.v1.Sum`.
pub static SUM: Msg = Msg {
    name: "Sum",
    fields: &[
        many(1, Kind::Msg(&NUMBER_POINT)),
        one(2, Kind::Varint),
        one(3, Kind::Varint),
    ],
};

/// `metrics.v1.Histogram`.
pub static HISTOGRAM: Msg = Msg {
    name: "Histogram",
    fields: &[many(1, Kind::Msg(&HISTOGRAM_POINT)), one(2, Kind::Varint)],
};

/// `metrics.v1.ExponentialHistogram`.
pub static EXP_HISTOGRAM: Msg = Msg {
    name: "ExponentialHistogram",
    fields: &[
        many(1, Kind::Msg(&EXP_HISTOGRAM_POINT)),
        one(2, Kind::Varint),
    ],
};

/// `metrics.v1.Summary`.
pub static SUMMARY: Msg = Msg {
    name: "Summary",
    fields: &[many(1, Kind::Msg(&SUMMARY_POINT))],
};

/// `metrics.v1.Metric`.
pub static METRIC: Msg = Msg {
    name: "Metric",
    fields: &[
        one(1, Kind::Str),
        one(2, Kind::Str),
        one(3, Kind::Str),
        many(12, Kind::Msg(&KEY_VALUE)),
        alt(5, Kind::Msg(&GAUGE)),
        alt(7, Kind::Msg(&SUM)),
        alt(9, Kind::Msg(&HISTOGRAM)),
        alt(10, Kind::Msg(&EXP_HISTOGRAM)),
        alt(11, Kind::Msg(&SUMMARY)),
    ],
};

/// `metrics.v1.ScopeMetrics`.
pub static SCOPE_METRICS: Msg = Msg {
    name: "ScopeMetrics",
    fields: &[
        one(1, Kind::Msg(&SCOPE)),
        many(2, Kind::Msg(&METRIC)),
        one(3, Kind::Str),
    ],
};

/// `metrics.v1.ResourceMetrics`.
pub static RESOURCE_METRICS: Msg = Msg {
    name: "ResourceMetrics",
    fields: &[
        one(1, Kind::Msg(&RESOURCE)),
        many(2, Kind::Msg(&SCOPE_METRICS)),
        one(3, Kind::Str),
    ],
};

/// `collector.metrics.v1.ExportMetricsServiceRequest`.
pub static METRICS_REQUEST: Msg = Msg {
    name: "ExportMetricsServiceRequest",
    fields: &[many(1, Kind::Msg(&RESOURCE_METRICS))],
};
