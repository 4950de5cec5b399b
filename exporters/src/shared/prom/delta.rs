//! Delta temporality turned into cumulative: the running value of one series.
//!
//! A cumulative point replaces what was there (unless it is older). A delta point is added when
//! it starts at or after the end of the last one (a gap means this weir saw only a share of the
//! stream: the total it shows is that share); a delta that ends before the last one is older
//! and ignored; the same delta again (same start and end: an export retried by the queue) is
//! not added twice. A histogram delta whose bounds differ from the running total's starts a new
//! total (Prometheus sees a counter reset, which `rate()` handles). A NaN delta adds nothing.
//!
//! [`DeltaStore`] keeps these per series for remote write and forgets a series idle for
//! [`DELTA_IDLE`]: a later delta starts a new total (again a counter reset). Nothing here fails.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::labels::Label;
use super::model::{Point, Value};

/// How long a delta series is kept without a new point before it is forgotten.
pub const DELTA_IDLE: Duration = Duration::from_secs(600);

/// The running cumulative value of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Cumulative {
    /// The current value.
    pub value: Value<'static>,
    /// When the running total started (ms since the epoch; 0 when unknown).
    pub start_ms: i64,
    /// End of the latest point folded in (ms since the epoch).
    pub time_ms: i64,
    /// Start of the latest delta folded in, to recognise the same delta sent again.
    last_start_ms: i64,
}

/// What [`Cumulative::apply`] did with a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A cumulative point replaced the value.
    Replaced,
    /// A delta was added.
    Added,
    /// A delta could not be added (other bounds) and started a new total.
    Reset,
    /// The same delta as the last one: nothing changed.
    Repeated,
    /// The point ends before the latest one: nothing changed.
    Older,
}

impl Cumulative {
    /// The running value that starts with `point`.
    pub fn new(point: &Point<'_>) -> Self {
        Self {
            value: point.value.clone().into_owned(),
            start_ms: point.start_ms,
            time_ms: point.time_ms,
            last_start_ms: point.start_ms,
        }
    }

    /// Folds `point` in; see the [module docs](self).
    pub fn apply(&mut self, point: &Point<'_>) -> Step {
        if point.time_ms < self.time_ms {
            return Step::Older;
        }
        if !point.delta {
            *self = Self::new(point);
            return Step::Replaced;
        }
        if point.time_ms == self.time_ms {
            return if point.start_ms == self.last_start_ms {
                Step::Repeated
            } else {
                Step::Older
            };
        }
        let added = match (&mut self.value, &point.value) {
            (Value::Number(total), Value::Number(d)) => {
                if !d.is_nan() {
                    *total += d;
                }
                true
            }
            (Value::Histogram(total), Value::Histogram(d)) => total.add(d),
            _ => false,
        };
        if !added {
            *self = Self::new(point);
            return Step::Reset;
        }
        self.time_ms = point.time_ms;
        self.last_start_ms = point.start_ms;
        Step::Added
    }
}

/// Series of one metric name, by label set.
type SeriesMap = HashMap<Vec<Label>, (Cumulative, Instant)>;

/// Running totals of delta series, by metric name and label set.
#[derive(Debug, Default)]
pub struct DeltaStore {
    families: HashMap<Arc<str>, SeriesMap>,
    last_sweep: Option<Instant>,
}

impl DeltaStore {
    /// Folds the delta `point` into its series' total; the total to send, or `None` when the
    /// point was older than what is known.
    pub fn apply(&mut self, point: &Point<'_>, now: Instant) -> Option<&Cumulative> {
        self.sweep(now);
        let family = self
            .families
            .entry(Arc::clone(point.family.name))
            .or_default();
        if !family.contains_key(point.labels) {
            family.insert(point.labels.to_vec(), (Cumulative::new(point), now));
            return family.get(point.labels).map(|(c, _)| c);
        }
        let (total, touched) = family.get_mut(point.labels)?;
        if total.apply(point) == Step::Older {
            return None;
        }
        *touched = now;
        Some(total)
    }

    /// Forgets a series (its point said "no recorded value": the series ended).
    pub fn forget(&mut self, name: &str, labels: &[Label]) {
        if let Some(family) = self.families.get_mut(name) {
            family.remove(labels);
        }
    }

    /// Series kept.
    pub fn len(&self) -> usize {
        self.families.values().map(HashMap::len).sum()
    }

    /// True when no series is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops series idle for [`DELTA_IDLE`], at most once a minute.
    fn sweep(&mut self, now: Instant) {
        if self
            .last_sweep
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(60))
        {
            return;
        }
        self.last_sweep = Some(now);
        for family in self.families.values_mut() {
            family.retain(|_, (_, touched)| now.saturating_duration_since(*touched) < DELTA_IDLE);
        }
        self.families.retain(|_, f| !f.is_empty());
    }
}
