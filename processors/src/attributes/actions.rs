//! The compiled action list of an `attributes` or `resource` processor, applied to one
//! attribute list.
//!
//! Built once, without failing, from actions whose patterns were compiled when read and which
//! [`super::ActionConfig::problems`] accepted (an action missing what its kind needs is left
//! out, not checked again). Applying never fails: an action whose source is absent, whose value
//! is not a string (`extract`) or cannot be converted (`convert`) does nothing.

use regex::Regex;
use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};

use super::config::{ActionConfig, ActionKind, ConvertedType};

/// Where a written value comes from.
#[derive(Debug, Clone)]
enum Source {
    Value(AnyValue),
    Attribute(String),
}

/// One compiled action.
#[derive(Debug, Clone)]
enum Step {
    Set {
        key: String,
        source: Source,
        kind: ActionKind,
    },
    Delete {
        key: Option<String>,
        pattern: Option<Regex>,
    },
    Extract {
        key: String,
        pattern: Regex,
    },
    Convert {
        key: String,
        to: ConvertedType,
    },
}

/// The actions of one processor, in order.
#[derive(Debug, Clone, Default)]
pub struct Actions {
    steps: Vec<Step>,
}

impl Actions {
    /// The steps of `list`, in order.
    pub fn new(list: &[ActionConfig]) -> Self {
        let mut steps = Vec::with_capacity(list.len());
        for a in list {
            let key = a.key.clone().unwrap_or_default();
            let pattern = a.pattern.as_ref().map(|p| p.regex().clone());
            let step = match a.action {
                ActionKind::Insert | ActionKind::Update | ActionKind::Upsert => Step::Set {
                    key,
                    source: match (&a.value, &a.from_attribute) {
                        (Some(v), _) => Source::Value(v.to_any_value()),
                        (None, Some(from)) => Source::Attribute(from.clone()),
                        (None, None) => continue,
                    },
                    kind: a.action,
                },
                ActionKind::Delete => Step::Delete {
                    key: a.key.clone(),
                    pattern,
                },
                ActionKind::Extract => match pattern {
                    Some(pattern) => Step::Extract { key, pattern },
                    None => continue,
                },
                ActionKind::Convert => match a.converted_type {
                    Some(to) => Step::Convert { key, to },
                    None => continue,
                },
                ActionKind::Hash => continue,
            };
            steps.push(step);
        }
        Self { steps }
    }

    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Runs every action on `attrs`, in order.
    pub fn apply(&self, attrs: &mut Vec<KeyValue>) {
        for step in &self.steps {
            match step {
                Step::Set { key, source, kind } => {
                    let value = match source {
                        Source::Value(v) => v.clone(),
                        Source::Attribute(from) => match find(attrs, from) {
                            Some(v) => v.clone(),
                            None => continue,
                        },
                    };
                    set(attrs, key, value, *kind);
                }
                Step::Delete { key, pattern } => attrs.retain(|kv| {
                    key.as_deref() != Some(kv.key.as_str())
                        && !pattern.as_ref().is_some_and(|p| p.is_match(&kv.key))
                }),
                Step::Extract { key, pattern } => {
                    let Some(AnyValue {
                        value: Some(Value::StringValue(text)),
                    }) = find(attrs, key).cloned()
                    else {
                        continue;
                    };
                    let Some(caps) = pattern.captures(&text) else {
                        continue;
                    };
                    for name in pattern.capture_names().flatten() {
                        if let Some(m) = caps.name(name) {
                            let v = string_value(m.as_str().to_owned());
                            set(attrs, name, v, ActionKind::Upsert);
                        }
                    }
                }
                Step::Convert { key, to } => {
                    if let Some(kv) = attrs.iter_mut().find(|kv| kv.key == *key)
                        && let Some(v) = kv.value.as_mut()
                        && let Some(new) = convert(v.value.as_ref(), *to)
                    {
                        v.value = Some(new);
                    }
                }
            }
        }
    }
}

fn find<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

fn set(attrs: &mut Vec<KeyValue>, key: &str, value: AnyValue, kind: ActionKind) {
    match (attrs.iter_mut().find(|kv| kv.key == key), kind) {
        (Some(kv), ActionKind::Update | ActionKind::Upsert) => kv.value = Some(value),
        (None, ActionKind::Insert | ActionKind::Upsert) => attrs.push(KeyValue {
            key: key.to_owned(),
            value: Some(value),
            ..Default::default()
        }),
        _ => {}
    }
}

/// `value` as `to`, or `None` when it cannot be converted.
fn convert(value: Option<&Value>, to: ConvertedType) -> Option<Value> {
    Some(match (to, value?) {
        (ConvertedType::Int, Value::IntValue(i)) => Value::IntValue(*i),
        (ConvertedType::Int, Value::DoubleValue(d)) if d.is_finite() => Value::IntValue(*d as i64),
        (ConvertedType::Int, Value::BoolValue(b)) => Value::IntValue(i64::from(*b)),
        (ConvertedType::Int, Value::StringValue(s)) => Value::IntValue(s.trim().parse().ok()?),
        (ConvertedType::Double, Value::IntValue(i)) => Value::DoubleValue(*i as f64),
        (ConvertedType::Double, Value::DoubleValue(d)) => Value::DoubleValue(*d),
        (ConvertedType::Double, Value::BoolValue(b)) => Value::DoubleValue(f64::from(u8::from(*b))),
        (ConvertedType::Double, Value::StringValue(s)) => {
            Value::DoubleValue(s.trim().parse().ok()?)
        }
        (ConvertedType::String, Value::StringValue(s)) => Value::StringValue(s.clone()),
        (ConvertedType::String, Value::IntValue(i)) => Value::StringValue(i.to_string()),
        (ConvertedType::String, Value::DoubleValue(d)) => Value::StringValue(d.to_string()),
        (ConvertedType::String, Value::BoolValue(b)) => Value::StringValue(b.to_string()),
        _ => return None,
    })
}

fn string_value(s: String) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(s)),
    }
}
