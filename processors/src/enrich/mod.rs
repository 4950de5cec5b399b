//! The `enrich` processor (being written).
