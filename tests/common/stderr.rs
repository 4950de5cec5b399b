//! weir's stderr as the harness collects it: every line kept, waiters woken on each line and
//! at the end, so a test waits on an event (a log line, the exit) and never on a clock.

use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// weir's stderr as its reader thread collects it; waiters are woken on every line and at EOF.
#[derive(Default)]
pub(super) struct Stderr {
    state: Mutex<StderrState>,
    changed: Condvar,
}

#[derive(Default)]
struct StderrState {
    lines: Vec<String>,
    /// EOF: weir has exited (or closed stderr).
    closed: bool,
}

/// Why [`Stderr::wait`] gave up.
pub(super) enum GaveUp {
    Exited,
    Deadline,
}

impl Stderr {
    /// Adds a line and wakes the waiters.
    pub(super) fn push(&self, line: String) {
        self.state.lock().expect("stderr lock").lines.push(line);
        self.changed.notify_all();
    }

    /// Marks the end (weir exited or closed stderr) and wakes the waiters.
    pub(super) fn close(&self) {
        self.state.lock().expect("stderr lock").closed = true;
        self.changed.notify_all();
    }

    pub(super) fn lines(&self) -> Vec<String> {
        self.state.lock().expect("stderr lock").lines.clone()
    }

    /// Waits until `found` returns something for the lines so far, stderr closes, or
    /// `deadline` passes.
    pub(super) fn wait<T>(
        &self,
        deadline: Instant,
        mut found: impl FnMut(&[String]) -> Option<T>,
    ) -> Result<T, GaveUp> {
        let mut state = self.state.lock().expect("stderr lock");
        loop {
            if let Some(t) = found(&state.lines) {
                return Ok(t);
            }
            if state.closed {
                return Err(GaveUp::Exited);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(GaveUp::Deadline);
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .expect("stderr lock")
                .0;
        }
    }
}
