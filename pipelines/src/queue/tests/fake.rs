//! A backend the test steers: it records every attempt (tenant, parts, records, the Tokio
//! instant it started) and answers from a script, then from a "down" switch; an optional gate
//! holds every answer until the test releases it, like a slow backend, and an optional latency
//! delays every answer on the (paused) clock.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

use super::record_names;
use crate::{Batch, Bundle, ExportError, Exporter, Sent};

/// A planned answer.
#[derive(Debug, Clone, Copy)]
pub(super) enum Answer {
    Ok,
    /// Success, with this many records refused for good (OTLP partial success).
    Partial(u64),
    /// A retryable error, with the backend's `Retry-After` when given.
    Retryable(Option<Duration>),
    Permanent,
    /// Never answers (for per-attempt timeouts).
    Hang,
}

/// One call of `export`.
#[derive(Debug, Clone)]
pub(super) struct Attempt {
    /// When the attempt started, on Tokio's clock.
    pub at: Instant,
    pub tenant: String,
    pub records: u64,
    pub parts: Vec<Arc<Batch>>,
}

impl Attempt {
    /// Records per part, in order.
    pub fn part_records(&self) -> Vec<u64> {
        self.parts.iter().map(|p| p.record_count()).collect()
    }

    /// The names of the records of every part, in order.
    pub fn names(&self) -> Vec<String> {
        self.parts.iter().flat_map(|p| record_names(p)).collect()
    }
}

#[derive(Default)]
struct State {
    attempts: Vec<Attempt>,
    /// Attempts answered `Ok`, in the order they were answered.
    delivered: Vec<Attempt>,
    answered: usize,
    script: VecDeque<Answer>,
    down: bool,
    latency: Duration,
    /// Answers `refuses_whole_requests` with this.
    refuses_whole: bool,
}

struct Inner {
    state: Mutex<State>,
    gate: Option<Semaphore>,
    changed: Notify,
}

/// The steerable backend; clones share their state.
#[derive(Clone)]
pub(super) struct Fake {
    inner: Arc<Inner>,
}

impl Fake {
    /// A healthy backend that answers at once.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// A backend whose answers each wait for a [`Fake::release`].
    pub fn gated() -> Self {
        Self::build(Some(Semaphore::new(0)))
    }

    fn build(gate: Option<Semaphore>) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                gate,
                changed: Notify::new(),
            }),
        }
    }

    /// Says that it refuses requests whole (as OTLP backends do).
    pub fn set_refuses_whole(&self, yes: bool) {
        self.inner.state.lock().refuses_whole = yes;
    }

    /// This backend as an exporter.
    pub fn exporter(&self) -> Arc<dyn Exporter> {
        Arc::new(self.clone())
    }

    /// Answers to give, in order, before falling back to the down switch.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) -> &Self {
        self.inner.state.lock().script.extend(answers);
        self
    }

    /// Down: answer retryable errors (once the script is used up); up: answer `Ok`.
    pub fn set_down(&self, down: bool) {
        self.inner.state.lock().down = down;
    }

    /// Every answer waits this long on Tokio's clock.
    pub fn set_latency(&self, latency: Duration) {
        self.inner.state.lock().latency = latency;
    }

    /// Lets `n` held answers through (gated backends only).
    pub fn release(&self, n: usize) {
        match &self.inner.gate {
            Some(gate) => gate.add_permits(n),
            None => panic!("release on a backend without a gate"),
        }
    }

    /// Every attempt so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.inner.state.lock().attempts.clone()
    }

    /// Attempts answered `Ok`, in answer order.
    pub fn delivered(&self) -> Vec<Attempt> {
        self.inner.state.lock().delivered.clone()
    }

    /// Records in attempts answered `Ok`.
    pub fn delivered_records(&self) -> u64 {
        self.inner
            .state
            .lock()
            .delivered
            .iter()
            .map(|a| a.records)
            .sum()
    }

    /// Names of the delivered records, sorted (a multiset to compare with what was accepted).
    pub fn delivered_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.delivered().iter().flat_map(Attempt::names).collect();
        names.sort();
        names
    }

    /// Attempts started and not answered yet.
    pub fn in_flight(&self) -> usize {
        let s = self.inner.state.lock();
        s.attempts.len() - s.answered
    }

    /// Waits until at least `n` attempts have started.
    pub async fn wait_attempts(&self, n: usize) {
        self.wait(|s| s.attempts.len() >= n).await;
    }

    /// Waits until at least `n` attempts were answered `Ok`.
    pub async fn wait_delivered(&self, n: usize) {
        self.wait(|s| s.delivered.len() >= n).await;
    }

    /// Waits until at least `n` records were delivered.
    pub async fn wait_delivered_records(&self, n: u64) {
        self.wait(|s| s.delivered.iter().map(|a| a.records).sum::<u64>() >= n)
            .await;
    }

    async fn wait(&self, done: impl Fn(&State) -> bool) {
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(&self.inner.state.lock()) {
                return;
            }
            notified.await;
        }
    }
}

impl Exporter for Fake {
    fn refuses_whole_requests(&self) -> bool {
        self.inner.state.lock().refuses_whole
    }

    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        let attempt = Attempt {
            at: Instant::now(),
            tenant: bundle.tenant().as_str().to_owned(),
            records: bundle.record_count(),
            parts: bundle.parts().to_vec(),
        };
        self.inner.state.lock().attempts.push(attempt.clone());
        self.inner.changed.notify_waiters();
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            if let Some(gate) = &inner.gate {
                gate.acquire().await.expect("gate never closes").forget();
            }
            let latency = inner.state.lock().latency;
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            let answer = {
                let mut s = inner.state.lock();
                let planned = s.script.pop_front();
                match planned {
                    Some(a) => a,
                    None if s.down => Answer::Retryable(None),
                    None => Answer::Ok,
                }
            };
            let result = match answer {
                Answer::Ok => Ok(Sent::all()),
                Answer::Partial(n) => Ok(Sent::rejecting(crate::REJECTED_BY_BACKEND, n)),
                Answer::Retryable(retry_after) => Err(ExportError::Retryable {
                    source: "backend down".into(),
                    retry_after,
                }),
                Answer::Permanent => Err(ExportError::permanent("backend refuses the data")),
                Answer::Hang => futures::future::pending().await,
            };
            {
                let mut s = inner.state.lock();
                s.answered += 1;
                if result.is_ok() {
                    s.delivered.push(attempt);
                }
            }
            inner.changed.notify_waiters();
            result
        })
    }
}
