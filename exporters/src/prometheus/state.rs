//! The scrape page's content: every live series, by metric family and label set.
//!
//! A point updates its series in place ([`Cumulative`]: cumulative points replace, deltas add
//! up, older points are ignored); a staleness marker removes the series; a series without a new
//! point for `metric_expiration` is removed by [`State::expire`], which the exporter runs from a
//! periodic task, never on a request. Expiry is one pass over the series, linear in their number
//! (a family left empty frees its sample names by lookup, not by scanning them). Exemplars are
//! the latest one per counter and per histogram bucket.
//!
//! What would break the page is refused and counted instead, never served (the Collector's page
//! fails as a whole, contrib #33310):
//! - `type_conflict`: a point of a name already on the page with another type;
//! - `name_conflict`: a family whose sample names (`_bucket`, `_sum`, `_count`, a counter's
//!   name with and without `_total`) clash with another family's;
//! - `series_limit`: a new series of a family at `max_series_per_metric`, or of any family
//!   once the page holds `max_series` series;
//! - `metric_limit`: a point of a new family once the page holds `max_metrics` families.
//!
//! Each is counted per metric in [`State::dropped`] and reported once (per metric and reason)
//! through the [`Problem`] returned; a different help text for a name is reported the same way
//! and the first one kept. Nothing here fails.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use weir_pipeline::RequestContext;

use crate::shared::prom::delta::{Cumulative, Step};
use crate::shared::prom::names::unit_suffix;
use crate::shared::prom::{Label, MetricType, Point, PromExemplar, Value};

/// The name of the page's own counter of dropped points.
pub(crate) const DROPPED_METRIC: &str = "weir_prometheus_exporter_dropped_points_total";
/// Distinct `(metric, reason)` pairs counted or reported before further ones are lumped.
const MAX_TRACKED: usize = 1000;

/// One series.
#[derive(Debug)]
pub(crate) struct Series {
    /// Its value and times.
    pub value: Cumulative,
    /// When a point last changed it.
    pub updated: Instant,
    /// Latest exemplar per counter (one slot) or per histogram bucket (one per bucket).
    pub exemplars: Vec<Option<PromExemplar>>,
}

/// One metric family.
#[derive(Debug)]
pub(crate) struct Family {
    /// Its type.
    pub kind: MetricType,
    /// Its help text (the first one seen).
    pub help: String,
    /// The unit its name was built with (`seconds`; empty for none), for OpenMetrics' `# UNIT`.
    pub unit: String,
    /// Its series by label set.
    pub series: HashMap<Vec<Label>, Series>,
}

/// Something to report once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The Prometheus metric name.
    pub metric: String,
    /// `type_conflict`, `name_conflict`, `series_limit` (points dropped) or `help_conflict`.
    pub reason: &'static str,
}

/// Every live series of one exporter.
#[derive(Debug)]
pub(crate) struct State {
    families: HashMap<Arc<str>, Family>,
    /// Sample and family names in use, with the family that uses them.
    reserved: HashMap<String, Arc<str>>,
    dropped: BTreeMap<(String, &'static str), u64>,
    reported: HashSet<(String, &'static str)>,
    max_series: usize,
    /// Most families on the page (0: no limit).
    max_families: usize,
    /// Most series on the page, all families together (0: no limit).
    max_total: usize,
    /// Series on the page, all families together.
    total: usize,
    expiration: Duration,
}

/// What [`State::update`] did with a point.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Applied {
    /// The point was refused, for this reason (`type_conflict`, `name_conflict`,
    /// `series_limit`, `metric_limit`).
    pub dropped: Option<&'static str>,
    /// Something to report, the first time only.
    pub problem: Option<Problem>,
}

impl Applied {
    fn kept(problem: Option<Problem>) -> Self {
        Self {
            dropped: None,
            problem,
        }
    }
}

/// The names a family's samples (in either text format) and its family line use.
fn names_of(name: &str, kind: MetricType) -> Vec<String> {
    let with = |suffix: &str| format!("{name}{suffix}");
    match kind {
        MetricType::Gauge => vec![name.to_owned()],
        MetricType::Counter => match name.strip_suffix("_total") {
            Some(base) => vec![name.to_owned(), base.to_owned()],
            None => vec![name.to_owned(), with("_total")],
        },
        MetricType::Histogram => vec![
            name.to_owned(),
            with("_bucket"),
            with("_sum"),
            with("_count"),
        ],
        MetricType::Summary => vec![name.to_owned(), with("_sum"), with("_count")],
    }
}

impl State {
    /// An empty page keeping at most `max_series` series per family (0: no limit) for
    /// `expiration` after their last point.
    pub fn new(max_series: usize, expiration: Duration) -> Self {
        let own: Arc<str> = Arc::from(DROPPED_METRIC);
        let reserved = names_of(DROPPED_METRIC, MetricType::Counter)
            .into_iter()
            .map(|n| (n, Arc::clone(&own)))
            .collect();
        Self {
            families: HashMap::new(),
            reserved,
            dropped: BTreeMap::new(),
            reported: HashSet::new(),
            max_series,
            max_families: 0,
            max_total: 0,
            total: 0,
            expiration,
        }
    }

    /// The same page holding at most `max_families` families and `max_series` series in all
    /// (0: no limit).
    pub fn limited(mut self, max_families: usize, max_series: usize) -> Self {
        self.max_families = max_families;
        self.max_total = max_series;
        self
    }

    /// Series on the page.
    #[cfg(test)]
    pub fn series_count(&self) -> usize {
        self.total
    }

    /// Applies `point` (sent in `ctx`) at `now`: whether it was refused, and a problem to
    /// report (the first time only).
    pub fn update(&mut self, point: &Point<'_>, ctx: &RequestContext, now: Instant) -> Applied {
        let name = point.family.name;
        if point.stale {
            if let Some(family) = self.families.get_mut(&**name)
                && family.series.remove(point.labels).is_some()
            {
                self.total -= 1;
            }
            return Applied::default();
        }
        let mut problem = None;
        match self.families.get(&**name) {
            Some(f) if f.kind != point.family.kind => return self.drop(name, "type_conflict"),
            Some(f) if f.help != point.family.help && !point.family.help.is_empty() => {
                if f.help.is_empty() {
                    // The first points had no help: take this one, nothing conflicts.
                    if let Some(f) = self.families.get_mut(&**name) {
                        f.help = point.family.help.to_owned();
                    }
                } else {
                    problem = self.report(name, "help_conflict");
                }
            }
            Some(_) => {}
            None => {
                if self.max_families > 0 && self.families.len() >= self.max_families {
                    return self.drop(name, "metric_limit");
                }
                let names = names_of(name, point.family.kind);
                if names.iter().any(|n| self.reserved.contains_key(n)) {
                    return self.drop(name, "name_conflict");
                }
                for n in names {
                    self.reserved.insert(n, Arc::clone(name));
                }
                let family = Family {
                    kind: point.family.kind,
                    help: point.family.help.to_owned(),
                    unit: unit_suffix(point.family.unit, point.family.kind),
                    series: HashMap::new(),
                };
                self.families.insert(Arc::clone(name), family);
            }
        }
        let Some(family) = self.families.get_mut(&**name) else {
            return Applied::kept(problem);
        };
        if let Some(series) = family.series.get_mut(point.labels) {
            if series.value.apply(point) != Step::Older {
                series.updated = now;
                set_exemplars(series, point, ctx);
            }
            return Applied::kept(problem);
        }
        if (self.max_series > 0 && family.series.len() >= self.max_series)
            || (self.max_total > 0 && self.total >= self.max_total)
        {
            let empty = family.series.is_empty();
            let kind = family.kind;
            if empty {
                // A family created for this point only: take it off the page again.
                self.remove_family(name, kind);
            }
            return self.drop(name, "series_limit");
        }
        let mut series = Series {
            value: Cumulative::new(point),
            updated: now,
            exemplars: Vec::new(),
        };
        set_exemplars(&mut series, point, ctx);
        family.series.insert(point.labels.to_vec(), series);
        self.total += 1;
        Applied::kept(problem)
    }

    /// Removes series without a point for the expiration time, and families left empty, in
    /// one pass: the work done (families and series visited, sample names freed) is returned,
    /// and is linear in the size of the page.
    pub fn expire(&mut self, now: Instant) -> usize {
        let expiration = self.expiration;
        let mut work = 0;
        let mut total = 0;
        let reserved = &mut self.reserved;
        self.families.retain(|name, family| {
            work += 1 + family.series.len();
            family
                .series
                .retain(|_, s| now.saturating_duration_since(s.updated) < expiration);
            total += family.series.len();
            if !family.series.is_empty() {
                return true;
            }
            for n in names_of(name, family.kind) {
                work += 1;
                if reserved.get(&n).is_some_and(|owner| owner == name) {
                    reserved.remove(&n);
                }
            }
            false
        });
        self.total = total;
        work
    }

    /// Takes family `name` (of `kind`) off the page and frees its sample names.
    fn remove_family(&mut self, name: &str, kind: MetricType) {
        if let Some(family) = self.families.remove(name) {
            self.total -= family.series.len();
        }
        for n in names_of(name, kind) {
            if self.reserved.get(&n).is_some_and(|owner| &**owner == name) {
                self.reserved.remove(&n);
            }
        }
    }

    /// Families sorted by name.
    pub fn families(&self) -> Vec<(&Arc<str>, &Family)> {
        let mut out: Vec<_> = self.families.iter().collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// Points dropped, by metric and reason.
    pub fn dropped(&self) -> &BTreeMap<(String, &'static str), u64> {
        &self.dropped
    }

    fn drop(&mut self, metric: &str, reason: &'static str) -> Applied {
        let key = if self.dropped.len() < MAX_TRACKED
            || self.dropped.contains_key(&(metric.to_owned(), reason))
        {
            (metric.to_owned(), reason)
        } else {
            ("other".to_owned(), reason)
        };
        *self.dropped.entry(key).or_default() += 1;
        Applied {
            dropped: Some(reason),
            problem: self.report(metric, reason),
        }
    }

    fn report(&mut self, metric: &str, reason: &'static str) -> Option<Problem> {
        if self.reported.len() >= MAX_TRACKED {
            return None;
        }
        self.reported
            .insert((metric.to_owned(), reason))
            .then(|| Problem {
                metric: metric.to_owned(),
                reason,
            })
    }
}

/// Keeps the latest exemplar of `point` per counter or per histogram bucket.
fn set_exemplars(series: &mut Series, point: &Point<'_>, ctx: &RequestContext) {
    let slots = match (&series.value.value, point.family.kind) {
        (_, MetricType::Counter) => 1,
        (Value::Histogram(h), MetricType::Histogram) => h.counts.len(),
        _ => 0,
    };
    if series.exemplars.len() != slots {
        series.exemplars = vec![None; slots];
    }
    for e in point.exemplars {
        let Some(e) = PromExemplar::of(ctx, e) else {
            continue;
        };
        let slot = match &series.value.value {
            Value::Histogram(h) => h.bucket_of(e.value),
            _ => 0,
        };
        if let Some(s) = series.exemplars.get_mut(slot) {
            *s = Some(e);
        }
    }
}
