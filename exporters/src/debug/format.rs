//! Encoding one batch as text or as one JSON line. Everything is written into a byte buffer
//! first, so the exporter writes a batch in one piece.
//!
//! Writing into a `Vec<u8>` cannot fail; the only possible error is serde_json refusing a value,
//! which OTLP structs never give it.

use std::borrow::Cow;
use std::io::{self, Write};

use serde::Serialize;
use weir_pipeline::correlation::{self, Correlation};
use weir_pipeline::otlp::common::v1::{AnyValue, any_value::Value};
use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs};
use weir_pipeline::otlp::metrics::v1::{Metric, ResourceMetrics, metric::Data};
use weir_pipeline::otlp::trace::v1::{ResourceSpans, Span};
use weir_pipeline::{Batch, Signal, batch::data_point_count};

use super::config::{OutputFormat, Verbosity};

/// Longest log body shown in `normal` text output, in characters (`…` included).
pub(crate) const MAX_BODY_CHARS: usize = 200;

/// Writes `batch` to `out` in `format` at `verbosity`, ending with a newline.
pub(crate) fn render(
    batch: &Batch,
    verbosity: Verbosity,
    format: OutputFormat,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    match format {
        OutputFormat::Json => json_line(batch, verbosity, out),
        OutputFormat::Text => text(batch, verbosity, out),
    }
}

/// The OTLP export request of a signal, borrowed: serializes exactly like
/// `Export{Trace,Metrics,Logs}ServiceRequest` with opentelemetry-proto's `with-serde` (OTLP/JSON)
/// without cloning the data into one.
#[derive(Serialize)]
#[serde(untagged)]
enum Request<'a> {
    Traces {
        #[serde(rename = "resourceSpans")]
        resource_spans: &'a [ResourceSpans],
    },
    Metrics {
        #[serde(rename = "resourceMetrics")]
        resource_metrics: &'a [ResourceMetrics],
    },
    Logs {
        #[serde(rename = "resourceLogs")]
        resource_logs: &'a [ResourceLogs],
    },
}

impl<'a> Request<'a> {
    fn of(signal: &'a Signal) -> Self {
        match signal {
            Signal::Traces(v) => Request::Traces { resource_spans: v },
            Signal::Metrics(v) => Request::Metrics {
                resource_metrics: v,
            },
            Signal::Logs(v) => Request::Logs { resource_logs: v },
        }
    }
}

/// One line of `json` output.
#[derive(Serialize)]
struct JsonLine<'a> {
    signal: &'static str,
    tenant: &'a str,
    request_id: &'a str,
    receiver: &'a str,
    resources: usize,
    records: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Request<'a>>,
}

fn resource_count(signal: &Signal) -> usize {
    match signal {
        Signal::Traces(v) => v.len(),
        Signal::Metrics(v) => v.len(),
        Signal::Logs(v) => v.len(),
    }
}

fn json_line(batch: &Batch, verbosity: Verbosity, out: &mut Vec<u8>) -> io::Result<()> {
    let line = JsonLine {
        signal: batch.kind().as_str(),
        tenant: batch.ctx.tenant.as_str(),
        request_id: batch.ctx.request_id.as_str(),
        receiver: &batch.ctx.receiver,
        resources: resource_count(batch.signal()),
        records: batch.record_count(),
        data: (verbosity != Verbosity::Basic).then(|| Request::of(batch.signal())),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.push(b'\n');
    Ok(())
}

fn text(batch: &Batch, verbosity: Verbosity, out: &mut Vec<u8>) -> io::Result<()> {
    writeln!(
        out,
        "{} tenant={} request_id={} resources={} records={}",
        batch.kind(),
        batch.ctx.tenant,
        batch.ctx.request_id,
        resource_count(batch.signal()),
        batch.record_count(),
    )?;
    match verbosity {
        Verbosity::Basic => Ok(()),
        Verbosity::Normal => records(batch.signal(), out),
        Verbosity::Detailed => {
            serde_json::to_writer_pretty(&mut *out, &Request::of(batch.signal()))?;
            out.push(b'\n');
            Ok(())
        }
    }
}

/// One indented line per span, log record or metric.
fn records(signal: &Signal, out: &mut Vec<u8>) -> io::Result<()> {
    match signal {
        Signal::Traces(rs) => rs
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .try_for_each(|span| span_line(span, out)),
        Signal::Logs(rl) => rl
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .try_for_each(|log| log_line(log, out)),
        Signal::Metrics(rm) => rm
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .try_for_each(|metric| metric_line(metric, out)),
    }
}

fn span_line(span: &Span, out: &mut Vec<u8>) -> io::Result<()> {
    let ids = correlation::of_span(span);
    writeln!(
        out,
        "  span trace_id={} span_id={} name={:?} kind={} attributes={}",
        trace_id_text(&ids, &span.trace_id),
        id_text(ids.span_id_hex(), &span.span_id),
        span.name,
        span.kind,
        span.attributes.len(),
    )
}

fn log_line(log: &LogRecord, out: &mut Vec<u8>) -> io::Result<()> {
    let ids = correlation::of_log(log);
    // The Collector's rule: the observed time stands in when the event time is unset.
    let time = match log.time_unix_nano {
        0 => log.observed_time_unix_nano,
        t => t,
    };
    let severity: Cow<'_, str> = if log.severity_text.is_empty() {
        Cow::Owned(log.severity_number.to_string())
    } else {
        token(&log.severity_text)
    };
    let body = match body_text(log.body.as_ref())? {
        Some(body) => format!("{:?}", shorten(&body, MAX_BODY_CHARS)),
        None => "-".to_owned(),
    };
    writeln!(
        out,
        "  log time={time} severity={severity} trace_id={} body={body}",
        trace_id_text(&ids, &log.trace_id),
    )
}

fn metric_line(metric: &Metric, out: &mut Vec<u8>) -> io::Result<()> {
    let kind = match &metric.data {
        Some(Data::Gauge(_)) => "gauge",
        Some(Data::Sum(_)) => "sum",
        Some(Data::Histogram(_)) => "histogram",
        Some(Data::ExponentialHistogram(_)) => "exponential_histogram",
        Some(Data::Summary(_)) => "summary",
        None => "none",
    };
    writeln!(
        out,
        "  metric name={} type={kind} points={}",
        token(&metric.name),
        data_point_count(metric.data.as_ref()),
    )
}

fn trace_id_text(ids: &Correlation<'_>, raw: &[u8]) -> String {
    id_text(ids.trace_id_hex(), raw)
}

/// A valid id as lower-case hex; `-` when absent; `invalid:<hex>` for a wrong length or all
/// zeros, so the user sees what the client sent.
fn id_text(valid_hex: Option<String>, raw: &[u8]) -> String {
    match valid_hex {
        Some(hex) => hex,
        None if raw.is_empty() => "-".to_owned(),
        None => format!("invalid:{}", const_hex::encode(raw)),
    }
}

/// `s` as is when it is a plain token (letters, digits, `_.:/-`), quoted and escaped otherwise,
/// so a client-chosen name can never break a line or fake a field.
fn token(s: &str) -> Cow<'_, str> {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:/-".contains(&b));
    if plain {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("{s:?}"))
    }
}

/// A log body as text: strings as they are, scalars printed, bytes as hex, anything else (arrays,
/// maps, profile string-table indexes) as OTLP/JSON. `None` when the record has no body.
fn body_text(body: Option<&AnyValue>) -> io::Result<Option<Cow<'_, str>>> {
    let Some((any, value)) = body.and_then(|b| Some((b, b.value.as_ref()?))) else {
        return Ok(None);
    };
    let text = match value {
        Value::StringValue(s) => Cow::Borrowed(s.as_str()),
        Value::BoolValue(b) => Cow::Owned(b.to_string()),
        Value::IntValue(i) => Cow::Owned(i.to_string()),
        Value::DoubleValue(d) => Cow::Owned(d.to_string()),
        Value::BytesValue(b) => Cow::Owned(const_hex::encode(b)),
        Value::ArrayValue(_) | Value::KvlistValue(_) | Value::StringValueStrindex(_) => {
            Cow::Owned(serde_json::to_string(any)?)
        }
    };
    Ok(Some(text))
}

/// At most `max` characters of `s`; a longer `s` is cut and ends with `…`.
pub(crate) fn shorten(s: &str, max: usize) -> Cow<'_, str> {
    if s.chars().nth(max).is_none() {
        return Cow::Borrowed(s);
    }
    let cut = s
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(s.len(), |(i, _)| i);
    Cow::Owned(format!("{}…", &s[..cut]))
}
