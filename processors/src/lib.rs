//! weir's processors, one folder each: [`redaction`] (sanitize-first masking of secrets and
//! PII) and [`enrich`] (request and trace ids on the records that leave).

pub mod enrich;
pub mod redaction;
pub mod tenant_limit;
