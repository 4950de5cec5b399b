//! The OTLP messages the wire view reads, as tables of field numbers and kinds, and a checker
//! that walks any of them as prost would decode it: a known field of the wrong wire type or a
//! string that is not UTF-8 is an error; unknown fields are skipped. What prost reads but the
//! view does not index — a singular field written twice (prost keeps the last or merges), two
//! values in a oneof, groups, nesting deeper than [`MAX_DEPTH`] — is [`WireError::Unusual`], so
//! that the caller decodes such a request the old way.

use std::ops::Range;

use super::WireError;
use super::reader::{Field, Fields, WireType};

/// Nesting the view reads; prost's own limit is 100.
pub const MAX_DEPTH: usize = 64;

/// How a known field is written and read.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A varint scalar (integers, bools, enums).
    Varint,
    /// `fixed64` or `double`.
    Fixed64,
    /// `fixed32` or `float`.
    Fixed32,
    /// A UTF-8 string.
    Str,
    /// Bytes.
    Bytes,
    /// A nested message.
    Msg(&'static Msg),
}

/// A known field.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The field number.
    pub number: u32,
    /// Its kind.
    pub kind: Kind,
    /// Whether it may appear more than once.
    pub repeated: bool,
}

/// A message type.
#[derive(Debug)]
pub struct Msg {
    /// Its name, for errors.
    pub name: &'static str,
    /// Its known fields.
    pub fields: &'static [Spec],
    /// All fields form one oneof: at most one may be present.
    pub oneof: bool,
}

impl Msg {
    fn spec(&self, number: u32) -> Option<&Spec> {
        self.fields.iter().find(|s| s.number == number)
    }
}

const fn one(number: u32, kind: Kind) -> Spec {
    Spec {
        number,
        kind,
        repeated: false,
    }
}

const fn many(number: u32, kind: Kind) -> Spec {
    Spec {
        number,
        kind,
        repeated: true,
    }
}

/// `common.v1.AnyValue`.
pub static ANY_VALUE: Msg = Msg {
    name: "AnyValue",
    fields: &[
        one(1, Kind::Str),
        one(2, Kind::Varint),
        one(3, Kind::Varint),
        one(4, Kind::Fixed64),
        one(5, Kind::Msg(&ARRAY_VALUE)),
        one(6, Kind::Msg(&KEY_VALUE_LIST)),
        one(7, Kind::Bytes),
        one(8, Kind::Varint),
    ],
    oneof: true,
};

/// `common.v1.ArrayValue`.
pub static ARRAY_VALUE: Msg = Msg {
    name: "ArrayValue",
    fields: &[many(1, Kind::Msg(&ANY_VALUE))],
    oneof: false,
};

/// `common.v1.KeyValueList`.
pub static KEY_VALUE_LIST: Msg = Msg {
    name: "KeyValueList",
    fields: &[many(1, Kind::Msg(&KEY_VALUE))],
    oneof: false,
};

/// `common.v1.KeyValue`.
pub static KEY_VALUE: Msg = Msg {
    name: "KeyValue",
    fields: &[
        one(1, Kind::Str),
        one(2, Kind::Msg(&ANY_VALUE)),
        one(3, Kind::Varint),
    ],
    oneof: false,
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
    oneof: false,
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
    oneof: false,
};

/// `resource.v1.Resource`.
pub static RESOURCE: Msg = Msg {
    name: "Resource",
    fields: &[
        many(1, Kind::Msg(&KEY_VALUE)),
        one(2, Kind::Varint),
        many(3, Kind::Msg(&ENTITY_REF)),
    ],
    oneof: false,
};

/// `trace.v1.Status`.
pub static STATUS: Msg = Msg {
    name: "Status",
    fields: &[one(2, Kind::Str), one(3, Kind::Varint)],
    oneof: false,
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
    oneof: false,
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
    oneof: false,
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
    oneof: false,
};

/// `trace.v1.ScopeSpans`.
pub static SCOPE_SPANS: Msg = Msg {
    name: "ScopeSpans",
    fields: &[
        one(1, Kind::Msg(&SCOPE)),
        many(2, Kind::Msg(&SPAN)),
        one(3, Kind::Str),
    ],
    oneof: false,
};

/// `trace.v1.ResourceSpans`.
pub static RESOURCE_SPANS: Msg = Msg {
    name: "ResourceSpans",
    fields: &[
        one(1, Kind::Msg(&RESOURCE)),
        many(2, Kind::Msg(&SCOPE_SPANS)),
        one(3, Kind::Str),
    ],
    oneof: false,
};

/// `collector.trace.v1.ExportTraceServiceRequest`.
pub static TRACE_REQUEST: Msg = Msg {
    name: "ExportTraceServiceRequest",
    fields: &[many(1, Kind::Msg(&RESOURCE_SPANS))],
    oneof: false,
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
    oneof: false,
};

/// `logs.v1.ScopeLogs`.
pub static SCOPE_LOGS: Msg = Msg {
    name: "ScopeLogs",
    fields: &[
        one(1, Kind::Msg(&SCOPE)),
        many(2, Kind::Msg(&LOG_RECORD)),
        one(3, Kind::Str),
    ],
    oneof: false,
};

/// `logs.v1.ResourceLogs`.
pub static RESOURCE_LOGS: Msg = Msg {
    name: "ResourceLogs",
    fields: &[
        one(1, Kind::Msg(&RESOURCE)),
        many(2, Kind::Msg(&SCOPE_LOGS)),
        one(3, Kind::Str),
    ],
    oneof: false,
};

/// `collector.logs.v1.ExportLogsServiceRequest`.
pub static LOGS_REQUEST: Msg = Msg {
    name: "ExportLogsServiceRequest",
    fields: &[many(1, Kind::Msg(&RESOURCE_LOGS))],
    oneof: false,
};

/// Walks the fields of `msg` in `buf[range]` at nesting `depth`, calling `visit` with each known
/// field (after its checks) and checking nested messages the visitor does not take: `visit`
/// returns true when it has read the field's message itself.
pub fn walk<F>(
    buf: &[u8],
    range: Range<usize>,
    msg: &'static Msg,
    depth: usize,
    mut visit: F,
) -> Result<(), WireError>
where
    F: FnMut(&Spec, &Field) -> Result<bool, WireError>,
{
    if depth > MAX_DEPTH {
        return Err(WireError::Unusual {
            at: range.start,
            why: "nested too deep",
        });
    }
    let mut seen = 0u64;
    for field in Fields::new(buf, range) {
        let field = field?;
        let Some(spec) = msg.spec(field.number) else {
            if matches!(field.wire, WireType::StartGroup | WireType::EndGroup) {
                return Err(WireError::Unusual {
                    at: field.start,
                    why: "a group",
                });
            }
            continue;
        };
        let bit = 1u64 << (field.number % 64);
        if (!spec.repeated && seen & bit != 0) || (msg.oneof && seen != 0) {
            return Err(WireError::Unusual {
                at: field.start,
                why: "a singular field written twice",
            });
        }
        seen |= bit;
        let wanted = match spec.kind {
            Kind::Varint => WireType::Varint,
            Kind::Fixed64 => WireType::Fixed64,
            Kind::Fixed32 => WireType::Fixed32,
            Kind::Str | Kind::Bytes | Kind::Msg(_) => WireType::Len,
        };
        if field.wire != wanted {
            return Err(WireError::WrongType {
                message: msg.name,
                field: field.number,
                at: field.start,
            });
        }
        if let Kind::Str = spec.kind
            && std::str::from_utf8(&buf[field.value.clone()]).is_err()
        {
            return Err(WireError::BadUtf8 {
                message: msg.name,
                field: field.number,
                at: field.value.start,
            });
        }
        if !visit(spec, &field)?
            && let Kind::Msg(inner) = spec.kind
        {
            check(buf, field.value.clone(), inner, depth + 1)?;
        }
    }
    Ok(())
}

/// Checks the message `msg` in `buf[range]` without indexing it.
pub fn check(
    buf: &[u8],
    range: Range<usize>,
    msg: &'static Msg,
    depth: usize,
) -> Result<(), WireError> {
    walk(buf, range, msg, depth, |_, _| Ok(false))
}
