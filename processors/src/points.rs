//! Metric data points of every type seen through one interface: their attributes, and
//! removing some of them. Total functions; nothing here fails.

use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::metrics::v1::metric::Data;

/// Calls `f` with the attributes of every data point of `data`.
pub fn for_each_attributes(data: Option<&mut Data>, mut f: impl FnMut(&mut Vec<KeyValue>)) {
    match data {
        Some(Data::Gauge(g)) => g.data_points.iter_mut().for_each(|p| f(&mut p.attributes)),
        Some(Data::Sum(s)) => s.data_points.iter_mut().for_each(|p| f(&mut p.attributes)),
        Some(Data::Histogram(h)) => h.data_points.iter_mut().for_each(|p| f(&mut p.attributes)),
        Some(Data::ExponentialHistogram(h)) => {
            h.data_points.iter_mut().for_each(|p| f(&mut p.attributes))
        }
        Some(Data::Summary(s)) => s.data_points.iter_mut().for_each(|p| f(&mut p.attributes)),
        None => {}
    }
}

/// Keeps the data points of `data` whose attributes `keep` accepts; returns how many were
/// removed.
pub fn retain(data: Option<&mut Data>, mut keep: impl FnMut(&[KeyValue]) -> bool) -> u64 {
    fn go<P>(
        points: &mut Vec<P>,
        attrs: impl Fn(&P) -> &[KeyValue],
        keep: &mut dyn FnMut(&[KeyValue]) -> bool,
    ) -> u64 {
        let before = points.len();
        points.retain(|p| keep(attrs(p)));
        (before - points.len()) as u64
    }
    match data {
        Some(Data::Gauge(g)) => go(&mut g.data_points, |p| &p.attributes, &mut keep),
        Some(Data::Sum(s)) => go(&mut s.data_points, |p| &p.attributes, &mut keep),
        Some(Data::Histogram(h)) => go(&mut h.data_points, |p| &p.attributes, &mut keep),
        Some(Data::ExponentialHistogram(h)) => go(&mut h.data_points, |p| &p.attributes, &mut keep),
        Some(Data::Summary(s)) => go(&mut s.data_points, |p| &p.attributes, &mut keep),
        None => 0,
    }
}
