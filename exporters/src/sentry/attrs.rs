//! Reading OTLP attributes the way the `sentry` exporter needs them: a key's value as text,
//! looked up on a record, then on its resource, with the semantic-convention names the
//! exporter reads gathered here.

use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};

/// `exception.type` on exception events and log records.
pub const EXCEPTION_TYPE: &str = "exception.type";
/// `exception.message`.
pub const EXCEPTION_MESSAGE: &str = "exception.message";
/// `exception.stacktrace`.
pub const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";
/// `exception.escaped`: the exception left the span's scope (unhandled there).
pub const EXCEPTION_ESCAPED: &str = "exception.escaped";
/// The resource's service name.
pub const SERVICE_NAME: &str = "service.name";
/// The resource's service version: the Sentry release.
pub const SERVICE_VERSION: &str = "service.version";
/// The environment, current name then the deprecated one.
pub const ENVIRONMENT_KEYS: [&str; 2] = ["deployment.environment.name", "deployment.environment"];
/// The SDK's language: which stack trace format to expect.
pub const SDK_LANGUAGE: &str = "telemetry.sdk.language";

/// Longest tag value Sentry keeps.
const MAX_TAG_VALUE: usize = 200;

/// The value of `key` among `attributes`, as text (strings as they are; numbers and booleans
/// printed; arrays, maps and bytes are not text). Empty strings are `None`.
pub fn text<'a>(attributes: &'a [KeyValue], key: &str) -> Option<std::borrow::Cow<'a, str>> {
    let value = attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?;
    as_text(value)
}

/// A value as text, when it is a scalar.
pub fn as_text(value: &AnyValue) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    match value.value.as_ref()? {
        Value::StringValue(s) if !s.is_empty() => Some(Cow::Borrowed(s.as_str())),
        Value::StringValue(_) => None,
        Value::BoolValue(b) => Some(Cow::Owned(b.to_string())),
        Value::IntValue(i) => Some(Cow::Owned(i.to_string())),
        Value::DoubleValue(d) => Some(Cow::Owned(d.to_string())),
        _ => None,
    }
}

/// The first of `layers` (most specific first) that has `key`.
pub fn first_text<'a>(layers: &[&'a [KeyValue]], key: &str) -> Option<std::borrow::Cow<'a, str>> {
    layers.iter().find_map(|attrs| text(attrs, key))
}

/// True when any attribute is one of the `exception.*` ones.
pub fn has_exception(attributes: &[KeyValue]) -> bool {
    attributes.iter().any(|kv| {
        matches!(
            kv.key.as_str(),
            EXCEPTION_TYPE | EXCEPTION_MESSAGE | EXCEPTION_STACKTRACE
        )
    })
}

/// A tag value as Sentry takes it: one line, at most 200 characters.
pub fn tag_value(value: &str) -> String {
    let one_line: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_TAG_VALUE)
        .collect();
    one_line.trim().to_owned()
}
