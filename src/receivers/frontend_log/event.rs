//! The body a page posts to the frontend log intake, and the OTLP log record it becomes.
//!
//! ```json
//! { "level": "error", "message": "checkout failed",
//!   "error": "TypeError: x is undefined", "stack": "TypeError: x is undefined\n    at pay (app.js:3:7)",
//!   "context": { "url": "https://shop.example/cart", "ua": "Mozilla/5.0 …", "build": "1.4.2" } }
//! ```
//! `level` and `message` are required; unknown keys are ignored, so pages may send more. A body
//! that is not such JSON is an [`EventError`] naming the key and what is wrong, which the
//! intake answers with 400. The record: severity from `level`, body `message`,
//! `event_type=frontend`, `exception.type`/`exception.message`/`exception.stacktrace` from
//! `error` and `stack`, `url.full`, `user_agent.original`, `request.id`, and on its resource
//! `service.name` and `service.version` (from `context.build`).

use std::time::SystemTime;

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde::Deserialize;

/// Why a body is not a frontend log event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct EventError(String);

/// One posted event.
#[derive(Debug, Deserialize)]
pub struct FrontendEvent {
    level: String,
    message: String,
    #[serde(default)]
    error: Option<ErrorField>,
    #[serde(default)]
    stack: Option<String>,
    #[serde(default)]
    context: Option<Context>,
}

/// `error`: text (`"TypeError: x is undefined"`, `"TypeError"`) or `{ name | type, message }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ErrorField {
    Text(String),
    Object {
        #[serde(default, alias = "type")]
        name: Option<String>,
        #[serde(default)]
        message: Option<String>,
    },
}

#[derive(Debug, Default, Deserialize)]
struct Context {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    ua: Option<String>,
    #[serde(default)]
    build: Option<String>,
}

/// What the request adds to the event.
pub struct Received<'a> {
    /// The request id.
    pub request_id: &'a str,
    /// The request's `User-Agent`, used when `context.ua` is absent.
    pub user_agent: Option<&'a str>,
    /// `service.name` of the resource.
    pub service_name: &'a str,
}

impl FrontendEvent {
    /// Parses a body; the error names the key at fault.
    pub fn parse(body: &[u8]) -> Result<Self, EventError> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let event: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." || inner.is_syntax() || inner.is_eof() {
                EventError(format!("body is not the expected JSON: {inner}"))
            } else {
                EventError(format!("{path}: {inner}"))
            }
        })?;
        de.end()
            .map_err(|e| EventError(format!("body is not the expected JSON: {e}")))?;
        severity(&event.level)?;
        Ok(event)
    }

    /// The event as one log record in its own resource.
    pub fn into_resource_logs(self, received: &Received<'_>) -> ResourceLogs {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let (number, text) = severity(&self.level).unwrap_or((SeverityNumber::Unspecified, ""));
        let context = self.context.unwrap_or_default();
        let mut attributes = vec![kv("event_type", "frontend")];
        if self.error.is_some() || self.stack.is_some() {
            let (kind, message) = exception(self.error, self.stack.as_deref(), &self.message);
            attributes.push(kv("exception.type", &kind));
            attributes.push(kv("exception.message", &message));
        }
        if let Some(stack) = &self.stack {
            attributes.push(kv("exception.stacktrace", stack));
        }
        if let Some(url) = &context.url {
            attributes.push(kv("url.full", url));
        }
        if let Some(ua) = context.ua.as_deref().or(received.user_agent) {
            attributes.push(kv("user_agent.original", ua));
        }
        attributes.push(kv("request.id", received.request_id));
        let mut resource = vec![kv("service.name", received.service_name)];
        if let Some(build) = &context.build {
            resource.push(kv("service.version", build));
        }
        ResourceLogs {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "weir.frontend_log".into(),
                    ..Default::default()
                }),
                log_records: vec![LogRecord {
                    time_unix_nano: now,
                    observed_time_unix_nano: now,
                    severity_number: number as i32,
                    severity_text: text.into(),
                    body: Some(string(&self.message)),
                    attributes,
                    ..Default::default()
                }],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }
    }
}

/// The severity of a `level` (any case): trace, debug, info or log, warn or warning, error,
/// fatal or critical.
fn severity(level: &str) -> Result<(SeverityNumber, &'static str), EventError> {
    Ok(match level.trim().to_ascii_lowercase().as_str() {
        "trace" => (SeverityNumber::Trace, "TRACE"),
        "debug" => (SeverityNumber::Debug, "DEBUG"),
        "info" | "log" => (SeverityNumber::Info, "INFO"),
        "warn" | "warning" => (SeverityNumber::Warn, "WARN"),
        "error" => (SeverityNumber::Error, "ERROR"),
        "fatal" | "critical" => (SeverityNumber::Fatal, "FATAL"),
        _ => {
            return Err(EventError(format!(
                "level: unknown level {:?}; use trace, debug, info, log, warn, error or fatal",
                level.chars().take(40).collect::<String>()
            )));
        }
    })
}

/// `(exception.type, exception.message)` from `error`, else from the stack's first line
/// (`TypeError: x is undefined`), else `Error` and the event's message.
fn exception(error: Option<ErrorField>, stack: Option<&str>, message: &str) -> (String, String) {
    let split = |text: &str| -> Option<(String, String)> {
        let (name, rest) = text.split_once(": ")?;
        is_name(name).then(|| (name.to_owned(), rest.trim().to_owned()))
    };
    match error {
        Some(ErrorField::Text(text)) => {
            if let Some(pair) = split(&text) {
                pair
            } else if is_name(&text) {
                (text, message.to_owned())
            } else {
                ("Error".into(), text)
            }
        }
        Some(ErrorField::Object { name, message: m }) => (
            name.unwrap_or_else(|| "Error".into()),
            m.unwrap_or_else(|| message.to_owned()),
        ),
        None => stack
            .and_then(|s| s.lines().next())
            .and_then(split)
            .unwrap_or_else(|| ("Error".into(), message.to_owned())),
    }
}

/// An exception type name: an identifier, maybe dotted (`TypeError`, `app.PaymentError`).
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 100
        && text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.'))
}

fn string(s: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s.to_owned())),
    }
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(string(value)),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(r: &ResourceLogs) -> Vec<(String, String)> {
        r.scope_logs[0].log_records[0]
            .attributes
            .iter()
            .map(|kv| {
                let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(any_value::Value::StringValue(s)) => s.clone(),
                    other => panic!("{other:?}"),
                };
                (kv.key.clone(), v)
            })
            .collect()
    }

    fn received() -> Received<'static> {
        Received {
            request_id: "req-1",
            user_agent: Some("curl/8"),
            service_name: "frontend",
        }
    }

    #[test]
    fn a_full_event_becomes_one_record_with_every_field() {
        let body = br#"{"level":"Error","message":"checkout failed","error":"TypeError: x is undefined",
            "stack":"TypeError: x is undefined\n    at pay (app.js:3:7)",
            "context":{"url":"https://shop.example/cart","ua":"Mozilla/5.0","build":"1.4.2"},"extra":1}"#;
        let r = FrontendEvent::parse(body)
            .expect("valid")
            .into_resource_logs(&received());
        let rec = &r.scope_logs[0].log_records[0];
        assert_eq!(rec.severity_number, SeverityNumber::Error as i32);
        assert_eq!(rec.severity_text, "ERROR");
        assert_eq!(rec.body, Some(string("checkout failed")));
        assert!(rec.time_unix_nano > 0);
        let want = [
            ("event_type", "frontend"),
            ("exception.type", "TypeError"),
            ("exception.message", "x is undefined"),
            (
                "exception.stacktrace",
                "TypeError: x is undefined\n    at pay (app.js:3:7)",
            ),
            ("url.full", "https://shop.example/cart"),
            ("user_agent.original", "Mozilla/5.0"),
            ("request.id", "req-1"),
        ];
        let got = attrs(&r);
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, want);
        let res = r.resource.expect("resource");
        assert_eq!(res.attributes[0], kv("service.name", "frontend"));
        assert_eq!(res.attributes[1], kv("service.version", "1.4.2"));
    }

    #[test]
    fn a_bare_event_has_no_exception_and_the_request_user_agent() {
        let r = FrontendEvent::parse(br#"{"level":"warning","message":"slow"}"#)
            .expect("valid")
            .into_resource_logs(&received());
        let got = attrs(&r);
        assert!(!got.iter().any(|(k, _)| k.starts_with("exception.")));
        assert!(got.contains(&("user_agent.original".into(), "curl/8".into())));
        assert_eq!(
            r.scope_logs[0].log_records[0].severity_number,
            SeverityNumber::Warn as i32
        );
    }

    #[test]
    fn exception_fields_come_from_error_or_stack() {
        let obj = ErrorField::Object {
            name: Some("RangeError".into()),
            message: None,
        };
        assert_eq!(
            exception(Some(obj), None, "m"),
            ("RangeError".into(), "m".into())
        );
        let bare = ErrorField::Text("NetworkError".into());
        assert_eq!(
            exception(Some(bare), None, "m"),
            ("NetworkError".into(), "m".into())
        );
        let prose = ErrorField::Text("it broke: badly".into());
        assert_eq!(
            exception(Some(prose), None, "m"),
            ("Error".into(), "it broke: badly".into())
        );
        assert_eq!(
            exception(None, Some("SyntaxError: bad\n  at x"), "m"),
            ("SyntaxError".into(), "bad".into())
        );
    }

    #[test]
    fn malformed_bodies_name_the_problem() {
        let cases: [(&[u8], &str); 6] = [
            (b"{\"level\":\"error\"", "body is not the expected JSON"),
            (b"not json", "body is not the expected JSON"),
            (b"{\"message\":\"m\"}", "missing field `level`"),
            (
                b"{\"level\":\"error\",\"message\":3}",
                "message: invalid type",
            ),
            (
                b"{\"level\":\"loud\",\"message\":\"m\"}",
                "level: unknown level \"loud\"",
            ),
            (
                b"{\"level\":\"info\",\"message\":\"m\"} {}",
                "trailing characters",
            ),
        ];
        for (body, words) in cases {
            let e = FrontendEvent::parse(body).expect_err("malformed");
            assert!(e.to_string().contains(words), "{e} should say {words}");
        }
    }
}
