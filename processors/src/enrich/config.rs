//! Config of the `enrich` processor.

use serde::Deserialize;

/// Collector keys weir does not implement for this processor.
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] = &[];

/// The `enrich` processor's settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichConfig {}

impl EnrichConfig {
    /// `(key, message)` for each invalid setting; pure (no I/O).
    pub fn problems(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}
