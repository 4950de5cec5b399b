//! One run of the processor over one batch: the tally, the records it rejected, and at the end
//! the counters, the log line and the [`Outcome`].
//!
//! Nothing here fails. Messages and logs name keys, never values, and even a key is shown only
//! after blocked values inside it are masked and it is cut to [`MAX_KEY_CHARS`].

use weir_pipeline::{Outcome, RequestContext, SignalKind};

use super::Redaction;
use super::memo::Cx;
use super::strict::Violation;
use super::summary::Reason;

/// Longest key shown in a message or log line.
pub const MAX_KEY_CHARS: usize = 64;

/// What one batch's run found.
pub(super) struct Run {
    /// What changed so far, and the key memo.
    pub cx: Cx,
    first_violation: Option<Violation>,
    /// Records rejected by strict maps.
    strict_rejected: u64,
    /// Data points dropped because their series collided and could not be merged (summaries,
    /// or a renamed metric of another type).
    points_dropped: u64,
}

impl Run {
    /// A run with an empty tally.
    pub fn new(cx: Cx) -> Self {
        Self {
            cx,
            first_violation: None,
            strict_rejected: 0,
            points_dropped: 0,
        }
    }

    /// Notes a record rejected by a strict map.
    pub fn reject(&mut self, v: Violation) {
        self.strict_rejected += 1;
        self.cx.tally.add(Reason::StrictMap, 1);
        if self.first_violation.is_none() {
            self.first_violation = Some(v);
        }
    }

    /// Notes data points dropped because their series collided.
    pub fn drop_points(&mut self, n: u64) {
        self.points_dropped += n;
        self.cx.tally.add(Reason::SeriesDropped, n);
    }

    /// Records removed from the batch so far.
    pub fn rejected(&self) -> u64 {
        self.strict_rejected + self.points_dropped
    }
}

impl Redaction {
    /// Adds the run's counts to the counters, logs rejections, and builds the outcome.
    pub(super) fn finish(&self, mut run: Run, ctx: &RequestContext, signal: SignalKind) -> Outcome {
        Cx::put_back(self.uid, std::mem::take(&mut run.cx.memo));
        for (reason, counter) in Reason::ALL.iter().zip(&self.counters) {
            let n = run.cx.tally.count(*reason);
            if n > 0 {
                counter.add(n);
            }
        }
        let mut messages = Vec::new();
        if let Some(v) = &run.first_violation {
            let what = match &v.key {
                Some(key) => format!(
                    "key {:?} is not allowed in {:?}",
                    self.shown_key(key),
                    v.attribute
                ),
                None => format!("{:?} is not a map", v.attribute),
            };
            let unit = record_unit(signal, run.strict_rejected);
            messages.push(format!(
                "{}: {} {unit} rejected by strict map {:?}: {what}{}",
                self.id,
                run.strict_rejected,
                v.map,
                if run.strict_rejected > 1 {
                    " (first of them)"
                } else {
                    ""
                },
            ));
            tracing::warn!(
                processor = %self.id,
                tenant = %ctx.tenant,
                request_id = %ctx.request_id,
                signal = %signal,
                rejected = run.strict_rejected,
                strict_map = %v.map,
                attribute = %v.attribute,
                key = v.key.as_deref().map(|k| self.shown_key(k)).unwrap_or_default(),
                "records rejected: strict map holds a key it does not allow"
            );
        }
        if run.points_dropped > 0 {
            messages.push(format!(
                "{}: {} data points dropped: redaction made their series identical to others they \
                 cannot be merged with (summaries, or a renamed metric of another type); allow \
                 or hash the distinguishing key, or keep secrets out of metric names",
                self.id, run.points_dropped
            ));
            tracing::debug!(
                processor = %self.id,
                tenant = %ctx.tenant,
                request_id = %ctx.request_id,
                dropped = run.points_dropped,
                "data points dropped: series collided after redaction"
            );
        }
        Outcome::Pass {
            rejected: run.rejected(),
            message: (!messages.is_empty()).then(|| messages.join("; ")),
        }
    }

    /// `key` as it may be shown: blocked values masked, at most [`MAX_KEY_CHARS`] characters.
    pub(super) fn shown_key(&self, key: &str) -> String {
        let mut k = key.to_owned();
        self.rules.values.mask_in_place(&mut k);
        if let Some((cut, _)) = k.char_indices().nth(MAX_KEY_CHARS) {
            k.truncate(cut);
            k.push('…');
        }
        k
    }
}

fn record_unit(signal: SignalKind, n: u64) -> &'static str {
    match (signal, n == 1) {
        (SignalKind::Traces, true) => "span",
        (SignalKind::Traces, false) => "spans",
        (SignalKind::Logs, true) => "log record",
        (SignalKind::Logs, false) => "log records",
        (SignalKind::Metrics, true) => "data point",
        (SignalKind::Metrics, false) => "data points",
    }
}
