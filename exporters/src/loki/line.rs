//! The text of a log line, as `line_format` says: `text` (the body), `json` or `logfmt` (body,
//! severity and the record's attributes; with structured metadata off, also `trace_id` and
//! `span_id` so Grafana can still link the line to its trace).
//!
//! Nothing here fails: any OTLP value has a JSON and a text form (bytes as hex, non-finite
//! doubles as strings).

use std::fmt::Write as _;

use serde::Serialize;
use weir_pipeline::correlation::Correlation;
use weir_pipeline::otlp::logs::v1::LogRecord;

use super::config::LineFormat;
use super::json::{JsonAny, JsonAttributes};
use super::names::{level, value_text};

/// The severity written into `json` and `logfmt` lines: the record's text, else the level of
/// its number.
fn severity(record: &LogRecord) -> Option<&str> {
    let text = record.severity_text.trim();
    if text.is_empty() {
        level(record)
    } else {
        Some(text)
    }
}

/// The line of `record`. `ids` are written into `json`/`logfmt` lines only when
/// `with_ids` (structured metadata is off).
pub(crate) fn render(
    format: LineFormat,
    record: &LogRecord,
    ids: &Correlation<'_>,
    with_ids: bool,
) -> String {
    let ids = if with_ids {
        (ids.trace_id_hex(), ids.span_id_hex())
    } else {
        (None, None)
    };
    match format {
        LineFormat::Text => record
            .body
            .as_ref()
            .and_then(value_text)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        LineFormat::Json => {
            let line = JsonLine {
                body: record.body.as_ref().map(JsonAny),
                severity: severity(record),
                trace_id: ids.0,
                span_id: ids.1,
                attributes: (!record.attributes.is_empty())
                    .then_some(JsonAttributes(&record.attributes)),
            };
            serde_json::to_string(&line).unwrap_or_default()
        }
        LineFormat::Logfmt => {
            let mut out = String::new();
            let body = record
                .body
                .as_ref()
                .and_then(value_text)
                .unwrap_or_default();
            logfmt_pair(&mut out, "body", &body);
            if let Some(sev) = severity(record) {
                logfmt_pair(&mut out, "severity", sev);
            }
            if let Some(t) = &ids.0 {
                logfmt_pair(&mut out, "trace_id", t);
            }
            if let Some(s) = &ids.1 {
                logfmt_pair(&mut out, "span_id", s);
            }
            for kv in &record.attributes {
                let value = kv.value.as_ref().and_then(value_text).unwrap_or_default();
                logfmt_pair(&mut out, &kv.key, &value);
            }
            out
        }
    }
}

#[derive(Serialize)]
struct JsonLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<JsonAny<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    span_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<JsonAttributes<'a>>,
}

/// Appends ` key=value`: the key with spaces, `=` and `"` made `_`; the value quoted (with `\`,
/// `"` and control characters escaped) when it is empty or holds a space, `=` or `"`.
fn logfmt_pair(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    if key.is_empty() {
        out.push('_');
    }
    out.extend(key.chars().map(|c| {
        if c <= ' ' || c == '=' || c == '"' || c.is_control() {
            '_'
        } else {
            c
        }
    }));
    out.push('=');
    let quote = value.is_empty()
        || value
            .chars()
            .any(|c| c <= ' ' || c == '=' || c == '"' || c == '\\' || c.is_control());
    if !quote {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_pipeline::otlp::common::v1::{
        AnyValue, ArrayValue, KeyValue, KeyValueList, any_value::Value,
    };

    fn s(v: &str) -> AnyValue {
        AnyValue {
            value: Some(Value::StringValue(v.into())),
        }
    }

    fn kv(key: &str, value: AnyValue) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(value),
            ..Default::default()
        }
    }

    fn record(body: AnyValue) -> LogRecord {
        LogRecord {
            body: Some(body),
            severity_text: "WARN".into(),
            severity_number: 13,
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            attributes: vec![
                kv("user.id", s("u 7")),
                kv(
                    "n",
                    AnyValue {
                        value: Some(Value::IntValue(7)),
                    },
                ),
            ],
            ..Default::default()
        }
    }

    fn line(format: LineFormat, r: &LogRecord, with_ids: bool) -> String {
        render(format, r, &weir_pipeline::correlation::of_log(r), with_ids)
    }

    #[test]
    fn text_is_the_body() {
        let r = record(s("payment declined"));
        assert_eq!(line(LineFormat::Text, &r, true), "payment declined");
        let map = record(AnyValue {
            value: Some(Value::KvlistValue(KeyValueList {
                values: vec![kv("a", s("b"))],
            })),
        });
        assert_eq!(line(LineFormat::Text, &map, false), r#"{"a":"b"}"#);
        assert_eq!(line(LineFormat::Text, &LogRecord::default(), false), "");
    }

    #[test]
    fn json_has_body_severity_attributes_and_ids_only_when_asked() {
        let r = record(AnyValue {
            value: Some(Value::ArrayValue(ArrayValue {
                values: vec![
                    s("x"),
                    AnyValue {
                        value: Some(Value::DoubleValue(f64::NAN)),
                    },
                ],
            })),
        });
        let v: serde_json::Value =
            serde_json::from_str(&line(LineFormat::Json, &r, false)).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"body": ["x", "NaN"], "severity": "WARN",
                               "attributes": {"user.id": "u 7", "n": 7}})
        );
        let v: serde_json::Value =
            serde_json::from_str(&line(LineFormat::Json, &r, true)).expect("json");
        assert_eq!(v["trace_id"], "01010101010101010101010101010101");
        assert_eq!(v["span_id"], "0202020202020202");
    }

    #[test]
    fn logfmt_quotes_what_needs_it() {
        let mut r = record(s("card \"declined\"\nretry"));
        r.attributes.push(kv("bad key=", s("")));
        assert_eq!(
            line(LineFormat::Logfmt, &r, false),
            r#"body="card \"declined\"\nretry" severity=WARN user.id="u 7" n=7 bad_key_="""#
        );
        r.severity_text.clear();
        r.attributes.clear();
        r.body = Some(s("ok"));
        assert_eq!(
            line(LineFormat::Logfmt, &r, true),
            "body=ok severity=warn trace_id=01010101010101010101010101010101 \
             span_id=0202020202020202"
        );
    }
}
