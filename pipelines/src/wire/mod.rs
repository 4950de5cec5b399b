//! OTLP requests kept as the bytes that arrived: a view that indexes where each part of a
//! request lies, checked as prost would decode it, and a writer that copies unchanged bytes and
//! re-encodes only what was edited. A [`crate::Batch`] of traces that arrived as protobuf holds
//! its request this way; the view is proven against prost's decoding by property tests.
//!
//! A request that prost would refuse is refused with a [`WireError`] of the same kind. An
//! encoding prost reads but the view does not index (a singular field written twice, a oneof
//! with two values, groups, very deep nesting) is [`WireError::Unusual`]: decode it with prost.

mod attrs;
mod count;
pub mod field;
mod logs;
mod metrics;
mod patch;
mod reader;
mod schema;
mod spans;
mod tables;
mod view;

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
pub(crate) mod tests_logs;
#[cfg(test)]
pub(crate) mod tests_metrics;

pub use attrs::{Attr, Value};
pub use count::shape;
pub use logs::{LogIdx, LogView};
pub use metrics::{DataKind, MetricIdx, MetricView, PointIdx};
pub use patch::{Edit, Edits, len_field, len_start, len_value};
pub use spans::{SpanIdx, TraceView};
pub use view::{Nest, PartIdx, Parts, Record, ResourceIdx, ScopeIdx, View};

/// Why a request's bytes could not be indexed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The bytes end inside a field.
    #[error("the message ends inside a field at byte {at}")]
    Truncated {
        /// Where the field's value starts.
        at: usize,
    },
    /// A varint of more than ten bytes or past 64 bits.
    #[error("a varint longer than 64 bits at byte {at}")]
    BadVarint {
        /// Where it goes wrong.
        at: usize,
    },
    /// A field key with number 0, past 32 bits or with wire type 6 or 7.
    #[error("an invalid field key at byte {at}")]
    BadKey {
        /// Where the key starts.
        at: usize,
    },
    /// A known field written with another wire type than its own.
    #[error("field {field} of {message} has the wrong wire type at byte {at}")]
    WrongType {
        /// The message's name.
        message: &'static str,
        /// The field number.
        field: u32,
        /// Where the field starts.
        at: usize,
    },
    /// A string field that is not UTF-8.
    #[error("field {field} of {message} is not valid UTF-8 at byte {at}")]
    BadUtf8 {
        /// The message's name.
        message: &'static str,
        /// The field number.
        field: u32,
        /// Where the string starts.
        at: usize,
    },
    /// Valid protobuf that the view does not index; prost decodes it.
    #[error("an encoding the wire view does not index ({why}) at byte {at}")]
    Unusual {
        /// Where it was found.
        at: usize,
        /// What it is.
        why: &'static str,
    },
}
