//! Counting the records of an export request without indexing it: spans, log records or metric
//! data points, found by walking only the messages that hold them (resource, scope, record;
//! a metric's data), never their attributes or strings. Used for a request whose edits were
//! written back, where a full [`super::View`] would index every attribute again.
//!
//! Fails with the [`WireError`] of the first malformed field on the way; fields it does not
//! descend into are not checked.

use super::WireError;
use super::field::{
    DATA_POINTS, METRIC_DATA, REQUEST_RESOURCES as RESOURCES, RESOURCE_SCOPES as SCOPES,
    SCOPE_RECORDS as RECORDS,
};
use super::reader::{Field, Fields, WireType};
use crate::SignalKind;

/// Records (as [`crate::Signal::record_count`] counts them) of the `kind` request in `buf`,
/// and whether it holds no resource.
pub fn shape(kind: SignalKind, buf: &[u8]) -> Result<(u64, bool), WireError> {
    let mut records = 0;
    let mut resources = 0usize;
    for_each(buf, 0..buf.len(), RESOURCES, &mut |resource| {
        resources += 1;
        for_each(buf, resource, SCOPES, &mut |scope| {
            for_each(buf, scope, RECORDS, &mut |record| {
                records += match kind {
                    SignalKind::Metrics => points(buf, record)?,
                    SignalKind::Traces | SignalKind::Logs => 1,
                };
                Ok(())
            })
        })
    })?;
    Ok((records, resources == 0))
}

/// Data points of the `Metric` in `buf[metric]`: of its last data field, as prost keeps the
/// last value of a oneof.
fn points(buf: &[u8], metric: std::ops::Range<usize>) -> Result<u64, WireError> {
    let mut last = 0;
    let mut fields = Fields::new(buf, metric);
    let mut f = empty();
    while fields.advance(&mut f)? {
        if f.wire == WireType::Len && METRIC_DATA.contains(&f.number) {
            let mut n = 0;
            for_each(buf, f.value.clone(), DATA_POINTS, &mut |_| {
                n += 1;
                Ok(())
            })?;
            last = n;
        }
    }
    Ok(last)
}

/// Calls `each` with the payload of every length-delimited field `number` of the message in
/// `buf[range]`.
fn for_each(
    buf: &[u8],
    range: std::ops::Range<usize>,
    number: u32,
    each: &mut dyn FnMut(std::ops::Range<usize>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut fields = Fields::new(buf, range);
    let mut f = empty();
    while fields.advance(&mut f)? {
        if f.number == number && f.wire == WireType::Len {
            each(f.value.clone())?;
        }
    }
    Ok(())
}

fn empty() -> Field {
    Field {
        number: 0,
        wire: WireType::Varint,
        start: 0,
        value: 0..0,
        number_value: 0,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost::Message;

    use super::*;
    use crate::Signal;
    use crate::otlp::collector::logs::v1::ExportLogsServiceRequest;
    use crate::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
    use crate::otlp::collector::trace::v1::ExportTraceServiceRequest;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn counts_spans_as_the_structs_do(req in crate::wire::tests::request()) {
            let bytes = req.encode_to_vec();
            let signal = Signal::Traces(ExportTraceServiceRequest::decode(&bytes[..]).expect("own").resource_spans);
            prop_assert_eq!(shape(SignalKind::Traces, &bytes), Ok((signal.record_count(), signal.is_empty())));
        }

        #[test]
        fn counts_log_records_as_the_structs_do(req in crate::wire::tests_logs::request()) {
            let bytes = req.encode_to_vec();
            let signal = Signal::Logs(ExportLogsServiceRequest::decode(&bytes[..]).expect("own").resource_logs);
            prop_assert_eq!(shape(SignalKind::Logs, &bytes), Ok((signal.record_count(), signal.is_empty())));
        }

        #[test]
        fn counts_data_points_as_the_structs_do(req in crate::wire::tests_metrics::request()) {
            let bytes = req.encode_to_vec();
            let signal = Signal::Metrics(ExportMetricsServiceRequest::decode(&bytes[..]).expect("own").resource_metrics);
            prop_assert_eq!(shape(SignalKind::Metrics, &bytes), Ok((signal.record_count(), signal.is_empty())));
        }
    }
}
