//! Delta to cumulative.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::shared::prom::buckets::explicit;
use crate::shared::prom::delta::{Cumulative, DELTA_IDLE, DeltaStore, Step};
use crate::shared::prom::{Family, Label, MetricType, Point, Value};

fn point<'a>(
    name: &'a Arc<str>,
    labels: &'a [Label],
    value: Value<'a>,
    start: i64,
    end: i64,
    delta: bool,
) -> Point<'a> {
    Point {
        family: Family {
            name,
            kind: MetricType::Counter,
            help: "",
            unit: "",
        },
        labels,
        value,
        start_ms: start,
        time_ms: end,
        delta,
        stale: false,
        exemplars: &[],
    }
}

#[test]
fn deltas_add_up_and_retries_do_not_double_count() {
    let name: Arc<str> = Arc::from("c_total");
    let p = |v, s, e| point(&name, &[], Value::Number(v), s, e, true);
    let mut c = Cumulative::new(&p(2.0, 0, 10));
    assert_eq!(c.apply(&p(3.0, 10, 20)), Step::Added);
    assert_eq!(
        c.apply(&p(3.0, 10, 20)),
        Step::Repeated,
        "the same delta again"
    );
    assert_eq!(c.apply(&p(1.0, 0, 10)), Step::Older);
    // A gap: this weir missed (20, 30]; what it saw still adds up.
    assert_eq!(c.apply(&p(4.0, 30, 40)), Step::Added);
    assert_eq!(c.apply(&p(f64::NAN, 40, 50)), Step::Added);
    assert_eq!(
        (c.value.clone(), c.start_ms, c.time_ms),
        (Value::Number(9.0), 0, 50)
    );
}

#[test]
fn cumulative_points_replace_unless_older() {
    let name: Arc<str> = Arc::from("c_total");
    let p = |v, e| point(&name, &[], Value::Number(v), 5, e, false);
    let mut c = Cumulative::new(&p(10.0, 10));
    assert_eq!(c.apply(&p(12.0, 20)), Step::Replaced);
    assert_eq!(c.apply(&p(11.0, 15)), Step::Older);
    assert_eq!(c.value, Value::Number(12.0));
}

#[test]
fn histogram_deltas_add_per_bucket_and_reset_on_new_bounds() {
    let name: Arc<str> = Arc::from("h");
    let h = |bounds: &'static [f64], counts: &'static [u64], n| {
        Value::Histogram(explicit(bounds, counts, Some(1.0), n))
    };
    let mut c = Cumulative::new(&point(&name, &[], h(&[1.0], &[1, 1], 2), 0, 10, true));
    assert_eq!(
        c.apply(&point(&name, &[], h(&[1.0], &[2, 0], 2), 10, 20, true)),
        Step::Added
    );
    let Value::Histogram(total) = &c.value else {
        panic!("histogram")
    };
    assert_eq!(
        (total.counts.as_ref(), total.count, total.sum),
        (&[3, 1][..], 4, Some(2.0))
    );
    assert_eq!(
        c.apply(&point(&name, &[], h(&[2.0], &[1, 0], 1), 20, 30, true)),
        Step::Reset
    );
    assert_eq!(c.start_ms, 20);
}

#[test]
fn store_keeps_series_apart_and_forgets_idle_or_ended_ones() {
    let name: Arc<str> = Arc::from("c_total");
    let a = [Label::new("k", "a")];
    let b = [Label::new("k", "b")];
    let mut store = DeltaStore::default();
    let t0 = Instant::now();
    let total = |store: &mut DeltaStore, labels: &[Label], v, s, e, now| {
        store
            .apply(&point(&name, labels, Value::Number(v), s, e, true), now)
            .map(|c| c.value.clone())
    };
    assert_eq!(
        total(&mut store, &a, 1.0, 0, 10, t0),
        Some(Value::Number(1.0))
    );
    assert_eq!(
        total(&mut store, &b, 5.0, 0, 10, t0),
        Some(Value::Number(5.0))
    );
    assert_eq!(
        total(&mut store, &a, 2.0, 10, 20, t0),
        Some(Value::Number(3.0))
    );
    assert_eq!(
        total(&mut store, &a, 2.0, 0, 5, t0),
        None,
        "older than known"
    );
    store.forget("c_total", &b);
    assert_eq!(store.len(), 1);
    let later = t0 + DELTA_IDLE + Duration::from_secs(61);
    assert_eq!(
        total(&mut store, &b, 1.0, 20, 30, later),
        Some(Value::Number(1.0))
    );
    assert_eq!(store.len(), 1, "a was idle and forgotten");
}
