//! OTLP over gRPC (placeholder while being written).
