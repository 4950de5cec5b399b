//! Metrics on the wire: a metric's name, description and unit, which kind of data it holds,
//! and its data points with their attributes and exemplars in the view's lists. Fails as
//! [`super::schema::walk`] does.

use std::ops::Range;

use super::WireError;
use super::attrs::{read_attrs, read_one};
use super::reader::Field;
use super::schema::{self, Msg};
use super::view::{Nest, PartIdx, Parts, Record, View};

/// A metrics export request as received, with its index.
pub type MetricView = View<MetricIdx>;

/// Which data a metric holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// No data.
    None,
    /// `gauge`.
    Gauge,
    /// `sum`.
    Sum,
    /// `histogram`.
    Histogram,
    /// `exponential_histogram`.
    ExponentialHistogram,
    /// `summary`.
    Summary,
}

/// One data point: its field, attributes and exemplars.
#[derive(Debug, Clone)]
pub struct PointIdx {
    /// The data point's field in its data message.
    pub field: Nest,
    /// Its attributes, in [`Parts::part_attrs`].
    pub attrs: Range<usize>,
    /// Its exemplars, in [`Parts::events`] (each with its filtered attributes).
    pub exemplars: Range<usize>,
}

/// One `Metric`.
#[derive(Debug, Clone)]
pub struct MetricIdx {
    /// Its scope, in [`View::scopes`].
    pub scope: usize,
    /// The `Metric` field.
    pub field: Nest,
    /// `name`.
    pub name: Range<usize>,
    /// `description`.
    pub description: Range<usize>,
    /// `unit`.
    pub unit: Range<usize>,
    /// Its data's kind.
    pub kind: DataKind,
    /// The data field (`gauge`, `sum`…), when present.
    pub data: Option<Nest>,
    /// Its data points.
    pub points: Vec<PointIdx>,
    /// `metadata`, in [`Parts::attrs`].
    pub metadata: Range<usize>,
}

impl Record for MetricIdx {
    const REQUEST: &'static Msg = &schema::METRICS_REQUEST;
    const RESOURCE_LEVEL: &'static Msg = &schema::RESOURCE_METRICS;
    const SCOPE_LEVEL: &'static Msg = &schema::SCOPE_METRICS;

    fn read(
        buf: &[u8],
        m: &Field,
        scope: usize,
        depth: usize,
        parts: &mut Parts,
    ) -> Result<Self, WireError> {
        let empty = m.value.start..m.value.start;
        let mut idx = MetricIdx {
            scope,
            field: Nest::of(m),
            name: empty.clone(),
            description: empty.clone(),
            unit: empty,
            kind: DataKind::None,
            data: None,
            points: Vec::new(),
            metadata: parts.attrs.len()..parts.attrs.len(),
        };
        schema::walk(buf, m.value.clone(), &schema::METRIC, depth, |spec, f| {
            let (kind, msg, point, fields) = match spec.number {
                1 => {
                    idx.name = f.value.clone();
                    return Ok(false);
                }
                2 => {
                    idx.description = f.value.clone();
                    return Ok(false);
                }
                3 => {
                    idx.unit = f.value.clone();
                    return Ok(false);
                }
                12 => {
                    read_one(buf, f, depth + 1, &mut parts.attrs)?;
                    return Ok(true);
                }
                5 => (
                    DataKind::Gauge,
                    &schema::GAUGE,
                    &schema::NUMBER_POINT,
                    (7, 5),
                ),
                7 => (DataKind::Sum, &schema::SUM, &schema::NUMBER_POINT, (7, 5)),
                9 => (
                    DataKind::Histogram,
                    &schema::HISTOGRAM,
                    &schema::HISTOGRAM_POINT,
                    (9, 8),
                ),
                10 => (
                    DataKind::ExponentialHistogram,
                    &schema::EXP_HISTOGRAM,
                    &schema::EXP_HISTOGRAM_POINT,
                    (1, 11),
                ),
                // Summary points have no exemplars.
                11 => (
                    DataKind::Summary,
                    &schema::SUMMARY,
                    &schema::SUMMARY_POINT,
                    (7, 0),
                ),
                _ => return Ok(false),
            };
            idx.kind = kind;
            idx.data = Some(Nest::of(f));
            schema::walk(buf, f.value.clone(), msg, depth + 1, |spec, p| {
                if spec.number != 1 {
                    return Ok(false);
                }
                idx.points
                    .push(read_point(buf, p, point, fields, depth + 2, parts)?);
                Ok(true)
            })?;
            Ok(true)
        })?;
        idx.metadata.end = parts.attrs.len();
        Ok(idx)
    }

    fn field(&self) -> &Nest {
        &self.field
    }

    fn scope(&self) -> usize {
        self.scope
    }
}

/// Reads the data point `p` of message `msg`, whose attributes and exemplars are the fields
/// numbered `(attr_field, exemplar_field)` (0: none).
fn read_point(
    buf: &[u8],
    p: &Field,
    msg: &'static Msg,
    (attr_field, exemplar_field): (u32, u32),
    depth: usize,
    parts: &mut Parts,
) -> Result<PointIdx, WireError> {
    let mut idx = PointIdx {
        field: Nest::of(p),
        attrs: parts.part_attrs.len()..parts.part_attrs.len(),
        exemplars: parts.events.len()..parts.events.len(),
    };
    // Attributes first, so that they are contiguous; then the exemplars' own.
    schema::walk(buf, p.value.clone(), msg, depth, |spec, f| {
        if spec.number == attr_field {
            read_one(buf, f, depth + 1, &mut parts.part_attrs)?;
            return Ok(true);
        }
        Ok(spec.number == exemplar_field)
    })?;
    idx.attrs.end = parts.part_attrs.len();
    if exemplar_field != 0 {
        for f in super::reader::Fields::new(buf, p.value.clone()) {
            let f = f?;
            if f.number != exemplar_field {
                continue;
            }
            let from = parts.part_attrs.len();
            read_attrs(
                buf,
                &f,
                &schema::EXEMPLAR,
                7,
                depth + 1,
                &mut parts.part_attrs,
            )?;
            parts.events.push(PartIdx {
                field: Nest::of(&f),
                attrs: from..parts.part_attrs.len(),
                text: f.value.start..f.value.start,
            });
        }
    }
    idx.exemplars.end = parts.events.len();
    Ok(idx)
}
