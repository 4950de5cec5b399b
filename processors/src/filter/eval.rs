//! Evaluating a parsed condition on one record, seen through a [`View`].
//!
//! Total: a path that is absent reads as `nil`; values of different types are never equal (an
//! int and a double compare as numbers), and ordering them is false, so a condition never
//! fails on a record (the Collector's `error_mode` has nothing to act on).

use std::cmp::Ordering;

use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};

use super::ottl::{Expr, Field, Literal, Op, Operand};

/// What a condition may read of one record; fields a context lacks are `None` or empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct View<'a> {
    /// `name`.
    pub name: Option<&'a str>,
    /// `kind`.
    pub kind: Option<i32>,
    /// `severity_number`.
    pub severity_number: Option<i32>,
    /// `severity_text`.
    pub severity_text: Option<&'a str>,
    /// `body`.
    pub body: Option<&'a AnyValue>,
    /// `attributes`.
    pub attributes: &'a [KeyValue],
    /// `resource.attributes`.
    pub resource: &'a [KeyValue],
    /// `instrumentation_scope.name`.
    pub scope_name: Option<&'a str>,
    /// `metric.name` (data points) or `span.name` (span events).
    pub parent_name: Option<&'a str>,
}

/// A value read from a record or written in a condition.
#[derive(Debug, Clone, PartialEq)]
enum Val<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(&'a str),
    /// A map, list or bytes: only `nil`-checks and `!=` are true on it.
    Other,
}

fn attribute<'a>(attrs: &'a [KeyValue], key: &str) -> Val<'a> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .map_or(Val::Nil, |kv| any(kv.value.as_ref()))
}

fn any(v: Option<&AnyValue>) -> Val<'_> {
    match v.and_then(|v| v.value.as_ref()) {
        None => Val::Nil,
        Some(Value::StringValue(s)) => Val::Str(s),
        Some(Value::BoolValue(b)) => Val::Bool(*b),
        Some(Value::IntValue(i)) => Val::Int(*i),
        Some(Value::DoubleValue(d)) => Val::Double(*d),
        Some(_) => Val::Other,
    }
}

fn opt_str(s: Option<&str>) -> Val<'_> {
    s.map_or(Val::Nil, Val::Str)
}

fn read<'a>(operand: &'a Operand, view: &View<'a>) -> Val<'a> {
    match operand {
        Operand::Literal(l) => match l {
            Literal::Nil => Val::Nil,
            Literal::Bool(b) => Val::Bool(*b),
            Literal::Int(i) => Val::Int(*i),
            Literal::Double(d) => Val::Double(*d),
            Literal::Str(s) => Val::Str(s),
        },
        Operand::Field(f) => match f {
            Field::Name => opt_str(view.name),
            Field::Kind => view.kind.map_or(Val::Nil, |k| Val::Int(i64::from(k))),
            Field::SeverityNumber => view
                .severity_number
                .map_or(Val::Nil, |k| Val::Int(i64::from(k))),
            Field::SeverityText => opt_str(view.severity_text),
            Field::Body => any(view.body),
            Field::Attribute(k) => attribute(view.attributes, k),
            Field::ResourceAttribute(k) => attribute(view.resource, k),
            Field::ScopeName => opt_str(view.scope_name),
            Field::MetricName | Field::SpanName => opt_str(view.parent_name),
        },
    }
}

fn order(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Int(x), Val::Double(y)) => (*x as f64).partial_cmp(y),
        (Val::Double(x), Val::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Val::Double(x), Val::Double(y)) => x.partial_cmp(y),
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Nil, Val::Nil) => Some(Ordering::Equal),
        _ => None,
    }
}

/// True when `expr` holds for the record `view` shows.
pub fn holds(expr: &Expr, view: &View<'_>) -> bool {
    match expr {
        Expr::Or(a, b) => holds(a, view) || holds(b, view),
        Expr::And(a, b) => holds(a, view) && holds(b, view),
        Expr::Not(a) => !holds(a, view),
        Expr::Value(o) => read(o, view) == Val::Bool(true),
        Expr::IsMatch(target, re) => match read(target, view) {
            Val::Str(s) => re.is_match(s),
            Val::Int(i) => re.is_match(&i.to_string()),
            Val::Double(d) => re.is_match(&d.to_string()),
            Val::Bool(b) => re.is_match(if b { "true" } else { "false" }),
            Val::Nil | Val::Other => false,
        },
        Expr::Compare(l, op, r) => {
            let ord = order(&read(l, view), &read(r, view));
            match op {
                Op::Eq => ord == Some(Ordering::Equal),
                Op::Ne => ord != Some(Ordering::Equal),
                Op::Lt => ord == Some(Ordering::Less),
                Op::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
                Op::Gt => ord == Some(Ordering::Greater),
                Op::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
            }
        }
    }
}
