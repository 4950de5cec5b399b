//! weir's processors, one folder each: [`redaction`] (masking of secrets and PII, before
//! anything leaves), [`enrich`] (request and trace ids on the records that leave), [`tenant_limit`],
//! the Collector's [`attributes`] and `resource` (attribute edits) and [`filter`] (dropping
//! records by OTTL conditions); [`pattern`] is the regex their configs compile once, when read.

pub mod attributes;
pub mod enrich;
pub mod filter;
pub mod pattern;
mod points;
pub mod redaction;
pub mod tenant_limit;

#[cfg(test)]
mod read_error;
