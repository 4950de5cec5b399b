//! Prometheus remote write 1.0 on the wire: the `prompb` messages as prost derives, and an
//! encoder that writes the same bytes straight from borrowed labels (no per-series copies).
//!
//! [`Encoder`] fills request bodies (`WriteRequest`, uncompressed) of at most
//! `max_batch_size_bytes` each, one `TimeSeries` at a time, its labels merged in name order
//! (`__name__`, and `le` or `quantile`, replace attributes of the same name); a single series
//! bigger than the limit gets a body of its own. Fields at their default value are left out,
//! as prost does, so [`WriteRequest`] decodes every body to exactly what was meant. Nothing
//! here fails.

use std::cmp::Ordering;

use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use crate::shared::prom::{Label, PromExemplar};

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    /// Type and help of metric families.
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Labels, sorted by name, `__name__` among them.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<WireLabel>,
    /// Samples, oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Exemplars.
    #[prost(message, repeated, tag = "3")]
    pub exemplars: Vec<WireExemplar>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct WireLabel {
    /// Label name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Label value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.Exemplar`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireExemplar {
    /// `trace_id`, `span_id`.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<WireLabel>,
    /// The measurement.
    #[prost(double, tag = "2")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// `prometheus.MetricMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricMetadata {
    /// `MetricType`: 1 counter, 2 gauge, 3 histogram, 5 summary.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// The family name.
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    /// Help text.
    #[prost(string, tag = "4")]
    pub help: String,
    /// Unit.
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// Prometheus' staleness marker: a NaN that marks the end of a series.
pub const STALE_NAN: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

fn put_len_delimited(buf: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(bytes.len() as u64, buf);
    buf.extend_from_slice(bytes);
}

fn put_label(buf: &mut Vec<u8>, tag: u32, name: &str, value: &str) {
    let field = |n: &str| {
        if n.is_empty() {
            0
        } else {
            1 + encoded_len_varint(n.len() as u64) + n.len()
        }
    };
    let len = field(name) + field(value);
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
    for (t, s) in [(1, name), (2, value)] {
        if !s.is_empty() {
            put_len_delimited(buf, t, s.as_bytes());
        }
    }
}

/// `double` field `tag` then `int64` field `tag + 1`, both skipped at their default.
fn put_value_time(buf: &mut Vec<u8>, tag: u32, value: f64, ts: i64) {
    if value != 0.0 {
        encode_key(tag, WireType::SixtyFourBit, buf);
        buf.extend_from_slice(&value.to_le_bytes());
    }
    if ts != 0 {
        encode_key(tag + 1, WireType::Varint, buf);
        encode_varint(ts as u64, buf);
    }
}

/// Builds request bodies; see the [module docs](self).
#[derive(Debug)]
pub struct Encoder {
    max: usize,
    current: Vec<u8>,
    series: Vec<u8>,
    scratch: Vec<u8>,
    done: Vec<Vec<u8>>,
}

impl Encoder {
    /// An encoder of bodies of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            current: Vec::new(),
            series: Vec::new(),
            scratch: Vec::new(),
            done: Vec::new(),
        }
    }

    /// Adds one series with one sample. `extra` are the exporter's labels (`__name__` first,
    /// then `le` or `quantile`), sorted, replacing attribute labels of the same name.
    pub fn series(
        &mut self,
        labels: &[Label],
        extra: &[(&str, &str)],
        value: f64,
        ts: i64,
        exemplars: &[&PromExemplar],
    ) {
        self.series.clear();
        let (mut i, mut j) = (0, 0);
        loop {
            match (labels.get(i), extra.get(j)) {
                (None, None) => break,
                (Some(l), None) => {
                    put_label(&mut self.series, 1, &l.name, &l.value);
                    i += 1;
                }
                (None, Some((n, v))) => {
                    put_label(&mut self.series, 1, n, v);
                    j += 1;
                }
                (Some(l), Some((n, v))) => match (*n).cmp(&*l.name) {
                    Ordering::Greater => {
                        put_label(&mut self.series, 1, &l.name, &l.value);
                        i += 1;
                    }
                    order => {
                        // The exporter's label replaces an attribute's of the same name.
                        put_label(&mut self.series, 1, n, v);
                        j += 1;
                        i += usize::from(order == Ordering::Equal);
                    }
                },
            }
        }
        self.scratch.clear();
        put_value_time(&mut self.scratch, 1, value, ts);
        put_len_delimited(&mut self.series, 2, &self.scratch);
        for e in exemplars {
            self.scratch.clear();
            for (n, v) in &e.labels {
                put_label(&mut self.scratch, 1, n, v);
            }
            put_value_time(&mut self.scratch, 2, e.value, e.time_ms.unwrap_or(ts));
            put_len_delimited(&mut self.series, 3, &self.scratch);
        }
        let framed = 1 + encoded_len_varint(self.series.len() as u64) + self.series.len();
        if !self.current.is_empty() && self.current.len() + framed > self.max {
            self.done.push(std::mem::take(&mut self.current));
        }
        put_len_delimited(&mut self.current, 1, &self.series);
    }

    /// Adds the metadata of one family.
    pub fn metadata(&mut self, kind: i32, family: &str, help: &str, unit: &str) {
        self.scratch.clear();
        if kind != 0 {
            encode_key(1, WireType::Varint, &mut self.scratch);
            encode_varint(kind as u64, &mut self.scratch);
        }
        for (tag, s) in [(2, family), (4, help), (5, unit)] {
            if !s.is_empty() {
                put_len_delimited(&mut self.scratch, tag, s.as_bytes());
            }
        }
        put_len_delimited(&mut self.current, 3, &self.scratch);
    }

    /// The request bodies, uncompressed; none when nothing was added.
    pub fn finish(mut self) -> Vec<Vec<u8>> {
        if !self.current.is_empty() {
            self.done.push(self.current);
        }
        self.done
    }
}
