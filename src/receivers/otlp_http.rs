//! OTLP over HTTP (placeholder while being written).
