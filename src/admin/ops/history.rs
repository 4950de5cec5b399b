//! The last minutes of the ops page's charts: records accepted, refused and dropped per second,
//! requests refused before their body was read per second, and each exporter queue's fill, one
//! point per sample of the admin listener's once-a-second sampler.
//!
//! A point's rates are the growth of the summed counters since the previous sample divided by
//! the time between them, so the first sample only remembers the counters (one sample is no
//! rate). A sum that shrinks (a tenant's series aged out) counts as no growth. The ring keeps
//! the newest `capacity` points, column by column: memory is bounded by the capacity times the
//! number of series (four, plus one per exporter, which the config fixes). Nothing here fails.

use std::collections::{BTreeMap, VecDeque};

use parking_lot::Mutex;
use serde_json::{Value, json};

use super::super::views::Totals;

/// Points kept by default: 15 minutes of one-second samples.
pub const POINTS: usize = 900;

/// The counters summed into the rate series, in the order of [`Sums`].
const COUNTERS: [&str; 4] = [
    "weir_receiver_accepted_records_total",
    "weir_receiver_refused_records_total",
    "weir_receiver_refused_requests_total",
    "weir_records_dropped_total",
];

/// The JSON names of the rate series, in the order of [`COUNTERS`].
const SERIES: [&str; 4] = [
    "accepted_per_second",
    "refused_per_second",
    "refused_requests_per_second",
    "dropped_per_second",
];

/// Each of [`COUNTERS`] summed over its labels.
type Sums = [u64; 4];

/// The sampled series; see the module docs.
#[derive(Debug)]
pub struct History {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    capacity: usize,
    /// The previous sample's time (Unix seconds) and sums.
    previous: Option<(f64, Sums)>,
    /// Each point's time, oldest first.
    at: VecDeque<f64>,
    /// The rate series, in the order of [`SERIES`], aligned with `at`.
    rates: [VecDeque<f32>; 4],
    /// Each exporter queue's fill (0–1, the fuller bound), aligned with `at`; `None` where the
    /// exporter has no queue or was not yet seen.
    fill: BTreeMap<String, VecDeque<Option<f32>>>,
}

fn sums(totals: &Totals) -> Sums {
    COUNTERS.map(|name| {
        totals
            .range((name.to_owned(), Vec::new())..)
            .take_while(|((n, _), _)| n == name)
            .map(|(_, v)| *v)
            .sum()
    })
}

/// `v` rounded to three decimals, for JSON.
fn milli(v: f32) -> f64 {
    (f64::from(v) * 1000.0).round() / 1000.0
}

impl History {
    /// An empty history keeping the newest `capacity` points (at least two).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                capacity: capacity.max(2),
                ..Inner::default()
            }),
        }
    }

    /// Adds the point of the sample at `now` (Unix seconds): the counters in `totals` and each
    /// exporter queue's fill in `fills`. Without a previous sample, or when time did not move
    /// forward, it only remembers the counters.
    pub fn record<'a>(
        &self,
        now: f64,
        totals: &Totals,
        fills: impl IntoIterator<Item = (&'a str, Option<f64>)>,
    ) {
        let current = sums(totals);
        let mut inner = self.inner.lock();
        let previous = inner.previous.replace((now, current));
        let Some((then, before)) = previous else {
            return;
        };
        let elapsed = now - then;
        if elapsed <= 0.0 {
            return;
        }
        if inner.at.len() == inner.capacity {
            inner.at.pop_front();
            for series in &mut inner.rates {
                series.pop_front();
            }
            for series in inner.fill.values_mut() {
                series.pop_front();
            }
        }
        let len = inner.at.len();
        inner.at.push_back(now);
        for (i, series) in inner.rates.iter_mut().enumerate() {
            let grew = current[i].saturating_sub(before[i]);
            series.push_back((grew as f64 / elapsed) as f32);
        }
        for (exporter, fill) in fills {
            let series = inner
                .fill
                .entry(exporter.to_owned())
                .or_insert_with(|| std::iter::repeat_n(None, len).collect());
            series.push_back(fill.map(|f| f as f32));
        }
        // An exporter missing from this sample gets a gap, so every series stays aligned.
        for series in inner.fill.values_mut() {
            if series.len() == len {
                series.push_back(None);
            }
        }
    }

    /// The points as the overview serves them: `at_unix`, one array per rate series and
    /// `queue_fill` by exporter, oldest first.
    pub fn to_json(&self) -> Value {
        let inner = self.inner.lock();
        let mut out = json!({
            "interval_seconds": super::SAMPLE_EVERY.as_secs_f64(),
            "window_seconds": inner.capacity as f64 * super::SAMPLE_EVERY.as_secs_f64(),
            "at_unix": inner.at.iter().map(|t| (t * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
            "queue_fill": inner.fill.iter().map(|(exporter, series)| {
                let points: Vec<Option<f64>> = series.iter().map(|f| f.map(milli)).collect();
                (exporter.clone(), json!(points))
            }).collect::<serde_json::Map<_, _>>(),
        });
        for (name, series) in SERIES.iter().zip(&inner.rates) {
            let points: Vec<f64> = series.iter().copied().map(milli).collect();
            out[*name] = json!(points);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(accepted: u64, refused: &[u64], dropped: u64) -> Totals {
        let mut t = Totals::new();
        t.insert(
            (COUNTERS[0].to_owned(), vec!["traces".into(), "otlp".into()]),
            accepted,
        );
        for (i, n) in refused.iter().enumerate() {
            let labels = vec!["logs".into(), format!("tenant-{i}")];
            t.insert((COUNTERS[1].to_owned(), labels), *n);
        }
        t.insert((COUNTERS[3].to_owned(), vec!["x".into()]), dropped);
        // Another metric sorted between them is not summed in.
        t.insert(("weir_receiver_open_connections".into(), vec![]), 999);
        t
    }

    fn floats(v: &Value) -> Vec<f64> {
        v.as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    }

    #[test]
    fn rates_are_growth_over_time_and_the_first_sample_is_no_point() {
        let h = History::new(POINTS);
        h.record(100.0, &totals(10, &[1, 2], 0), [("q", Some(0.5))]);
        assert_eq!(floats(&h.to_json()["at_unix"]), Vec::<f64>::new());

        h.record(101.0, &totals(30, &[4, 2], 0), [("q", Some(0.25))]);
        // Two seconds later, the refused sum shrank (a tenant's series aged out).
        h.record(103.0, &totals(40, &[4], 6), [("q", None)]);
        let j = h.to_json();
        assert_eq!(floats(&j["at_unix"]), [101.0, 103.0]);
        assert_eq!(floats(&j["accepted_per_second"]), [20.0, 5.0]);
        assert_eq!(floats(&j["refused_per_second"]), [3.0, 0.0]);
        assert_eq!(floats(&j["dropped_per_second"]), [0.0, 3.0]);
        assert_eq!(floats(&j["refused_requests_per_second"]), [0.0, 0.0]);
        assert_eq!(j["queue_fill"]["q"], json!([0.25, null]));
        assert_eq!(j["window_seconds"], 900.0);
    }

    #[test]
    fn only_the_newest_points_are_kept_and_series_stay_aligned() {
        let h = History::new(3);
        for i in 0..10u64 {
            let fills: Vec<(&str, Option<f64>)> = match i {
                // "gone" stops after the eighth sample; "late" shows up at the ninth.
                0..8 => vec![("gone", Some(0.1))],
                _ => vec![("late", Some(0.9))],
            };
            h.record(i as f64, &totals(i * i, &[], 0), fills);
        }
        let j = h.to_json();
        assert_eq!(floats(&j["at_unix"]), [7.0, 8.0, 9.0]);
        // i² grows by 2i - 1 a second.
        assert_eq!(floats(&j["accepted_per_second"]), [13.0, 15.0, 17.0]);
        assert_eq!(j["queue_fill"]["late"], json!([null, 0.9, 0.9]));
        assert_eq!(j["queue_fill"]["gone"], json!([0.1, null, null]));
        for name in SERIES {
            assert_eq!(floats(&j[name]).len(), 3, "{name}");
        }
    }

    #[test]
    fn a_sample_at_the_same_time_adds_no_point() {
        let h = History::new(POINTS);
        h.record(5.0, &totals(1, &[], 0), []);
        h.record(5.0, &totals(9, &[], 0), []);
        h.record(6.0, &totals(10, &[], 0), []);
        assert_eq!(floats(&h.to_json()["accepted_per_second"]), [1.0]);
    }
}
