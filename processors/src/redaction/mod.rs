//! The `redaction` processor (being written).
