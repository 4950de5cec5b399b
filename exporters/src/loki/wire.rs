//! Loki's push body: `logproto.PushRequest` as prost derives (field numbers from Loki's
//! `pkg/push/push.proto`; no protoc), snappy-compressed, or Loki's JSON push body, gzipped or
//! not.
//!
//! Encoding fails only when the compressor's writer does (it writes to memory, so in practice
//! never); the caller turns that into a permanent export error.

use std::io::{self, Write};

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use super::config::BodyCompression;

/// `logproto.PushRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PushRequest {
    /// `repeated StreamAdapter streams = 1`.
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<StreamAdapter>,
}

/// `logproto.StreamAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StreamAdapter {
    /// `string labels = 1`: the selector, `{a="1", b="2"}`.
    #[prost(string, tag = "1")]
    pub labels: String,
    /// `repeated EntryAdapter entries = 2`.
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<EntryAdapter>,
    /// `uint64 hash = 3`: Loki's own; clients leave it 0 (not written).
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

/// `logproto.EntryAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct EntryAdapter {
    /// `google.protobuf.Timestamp timestamp = 1` (non-nullable in Loki: always written).
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    /// `string line = 2`.
    #[prost(string, tag = "2")]
    pub line: String,
    /// `repeated LabelPairAdapter structuredMetadata = 3`.
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPairAdapter>,
}

/// `logproto.LabelPairAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct LabelPairAdapter {
    /// `string name = 1`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// `string value = 2`.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub(crate) struct Timestamp {
    /// `int64 seconds = 1`.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// `int32 nanos = 2`.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// Nanoseconds since the Unix epoch as a `Timestamp`.
    pub(crate) fn from_nanos(nanos: u64) -> Self {
        Self {
            seconds: (nanos / 1_000_000_000) as i64,
            nanos: (nanos % 1_000_000_000) as i32,
        }
    }
}

/// One stream of a push: its labels (sorted by name), its selector, its entries in time order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stream {
    pub labels: Vec<(String, String)>,
    pub selector: String,
    pub entries: Vec<Entry>,
}

/// One entry: nanoseconds since the epoch, the line, structured metadata.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub nanos: u64,
    pub line: String,
    pub metadata: Vec<(String, String)>,
}

/// `streams` as a snappy-compressed `PushRequest`; `buf` is scratch space for the encoding.
pub(crate) fn protobuf(streams: Vec<Stream>, buf: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let request = PushRequest {
        streams: streams
            .into_iter()
            .map(|s| StreamAdapter {
                labels: s.selector,
                hash: 0,
                entries: s
                    .entries
                    .into_iter()
                    .map(|e| EntryAdapter {
                        timestamp: Some(Timestamp::from_nanos(e.nanos)),
                        line: e.line,
                        structured_metadata: e
                            .metadata
                            .into_iter()
                            .map(|(name, value)| LabelPairAdapter { name, value })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    };
    buf.clear();
    prost::Message::encode(&request, buf).map_err(io::Error::other)?;
    snap::raw::Encoder::new()
        .compress_vec(buf)
        .map_err(io::Error::other)
}

/// `streams` as Loki's JSON push body, compressed as `compression` says (never snappy).
pub(crate) fn json(
    streams: &[Stream],
    compression: BodyCompression,
    buf: &mut Vec<u8>,
) -> io::Result<Vec<u8>> {
    buf.clear();
    serde_json::to_writer(&mut *buf, &JsonPush(streams)).map_err(io::Error::other)?;
    match compression {
        BodyCompression::Gzip => {
            let out = Vec::with_capacity(buf.len() / 4 + 64);
            let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            enc.write_all(buf)?;
            enc.finish()
        }
        // The encoding is the body: hand it over rather than copy it.
        BodyCompression::None | BodyCompression::Snappy => Ok(std::mem::take(buf)),
    }
}

/// `{"streams":[{"stream":{labels},"values":[["<ns>","<line>",{metadata}?],…]},…]}`.
struct JsonPush<'a>(&'a [Stream]);

impl Serialize for JsonPush<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("streams", &JsonStreams(self.0))?;
        map.end()
    }
}

struct JsonStreams<'a>(&'a [Stream]);

impl Serialize for JsonStreams<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for stream in self.0 {
            seq.serialize_element(&JsonStream(stream))?;
        }
        seq.end()
    }
}

struct JsonStream<'a>(&'a Stream);

impl Serialize for JsonStream<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("stream", &Pairs(&self.0.labels))?;
        map.serialize_entry("values", &JsonValues(&self.0.entries))?;
        map.end()
    }
}

struct Pairs<'a>(&'a [(String, String)]);

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

struct JsonValues<'a>(&'a [Entry]);

impl Serialize for JsonValues<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for e in self.0 {
            let nanos = e.nanos.to_string();
            if e.metadata.is_empty() {
                seq.serialize_element(&(nanos, &e.line))?;
            } else {
                seq.serialize_element(&(nanos, &e.line, Pairs(&e.metadata)))?;
            }
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn streams() -> Vec<Stream> {
        vec![Stream {
            labels: vec![("service_name".into(), "api".into())],
            selector: r#"{service_name="api"}"#.into(),
            entries: vec![
                Entry {
                    nanos: 1_700_000_000_123_456_789,
                    line: "hello".into(),
                    metadata: vec![("trace_id".into(), "ab".into())],
                },
                Entry {
                    nanos: 5,
                    line: "bye".into(),
                    metadata: vec![],
                },
            ],
        }]
    }

    #[test]
    fn protobuf_is_snappy_push_request_with_loki_field_numbers() {
        let body = protobuf(streams(), &mut Vec::new()).expect("encode");
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&body)
            .expect("snappy");
        let push = PushRequest::decode(&raw[..]).expect("protobuf");
        let entry = &push.streams[0].entries[0];
        assert_eq!(push.streams[0].labels, r#"{service_name="api"}"#);
        assert_eq!(
            entry.timestamp,
            Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 123_456_789
            })
        );
        assert_eq!(entry.structured_metadata[0].name, "trace_id");
        // Field 1 of PushRequest (streams), length-delimited: tag byte 0x0a; inside it, field 1
        // (labels) 0x0a again, and the entry (field 2) 0x12 with its timestamp (field 1) 0x0a.
        assert_eq!(raw[0], 0x0a);
        let labels_at = raw.iter().position(|b| *b == b'{').expect("labels");
        assert_eq!(raw[labels_at - 2], 0x0a, "labels is field 1");
    }

    #[test]
    fn json_has_streams_and_values_with_metadata() {
        let body = json(&streams(), BodyCompression::None, &mut Vec::new()).expect("json");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"streams": [{
                "stream": {"service_name": "api"},
                "values": [["1700000000123456789", "hello", {"trace_id": "ab"}], ["5", "bye"]]
            }]})
        );
        let gz = json(&streams(), BodyCompression::Gzip, &mut Vec::new()).expect("gzip");
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out)
            .expect("gunzip");
        assert_eq!(out, body);
    }
}
