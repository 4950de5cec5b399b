//! A per-thread memo of verdicts, so a key the config does not name is searched with the key
//! and value patterns once per worker thread, not once per record (attribute keys come from
//! instrumentation code: a handful covers nearly every record), and a short string value that
//! keeps coming back (`GET`, a route, a host name) is searched once too. Only values found
//! clean are remembered, after they were seen twice (so one-off ids do not churn the memo);
//! a value that needs masking is masked every time.
//!
//! The memo of a processor is moved out of thread-local storage for the length of one batch
//! (no lock, no borrow held while walking) and put back afterwards. Each processor instance
//! has its own memo (keyed by a process-unique id, never reused, so a rebuilt processor with
//! other rules cannot read stale verdicts). Bounded: keys past [`MAX_KEYS`], values past
//! [`MAX_VALUES`] (each at most [`MAX_VALUE_LEN`] bytes) and memos past [`MAX_PROCESSORS`] start
//! over. Nothing here fails.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use foldhash::fast::RandomState;

use super::class::KeyClass;
use super::summary::Tally;

/// Keys remembered per processor and thread before the memo starts over.
pub const MAX_KEYS: usize = 4096;
/// Clean values remembered per processor and thread before the memo starts over.
pub const MAX_VALUES: usize = 4096;
/// Longest value remembered, in bytes.
pub const MAX_VALUE_LEN: usize = 64;
/// Processor instances remembered per thread before the table starts over.
pub const MAX_PROCESSORS: usize = 64;

/// What the rules say about one key the config does not name.
#[derive(Debug, Clone, Copy)]
pub(super) struct Verdict {
    /// Class at the top level of an attribute list.
    pub top: KeyClass,
    /// Class inside a map or log body.
    pub nested: KeyClass,
    /// The key itself holds a blocked value.
    pub key_has_secret: bool,
}

/// Verdicts of one processor on one thread.
#[derive(Default)]
pub(super) struct Memo {
    /// Keys the config does not name.
    pub keys: HashMap<Box<str>, Verdict, RandomState>,
    /// Short values known to need no masking.
    clean: HashSet<Box<str>, RandomState>,
    /// Hashes of short clean values seen once (admission to `clean` on the second sight).
    seen: HashSet<u64, RandomState>,
}

impl Memo {
    /// True when `s` is known to need no masking.
    pub fn is_clean(&self, s: &str) -> bool {
        s.len() <= MAX_VALUE_LEN && self.clean.contains(s)
    }

    /// Notes that `s` needs no masking; remembered from its second sight on.
    pub fn saw_clean(&mut self, s: &str) {
        if s.len() > MAX_VALUE_LEN {
            return;
        }
        let h = self.seen.hasher().hash_one(s);
        if self.seen.insert(h) {
            if self.seen.len() > MAX_VALUES {
                self.seen.clear();
            }
            return;
        }
        if self.clean.len() >= MAX_VALUES {
            self.clean.clear();
        }
        self.clean.insert(s.into());
    }
}

thread_local! {
    static MEMOS: RefCell<HashMap<u64, Memo, RandomState>> = RefCell::default();
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique id for a new processor instance.
pub(super) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The mutable state of one walk over one batch: what changed, and the key memo.
pub(super) struct Cx {
    /// Values changed, per reason and per record.
    pub tally: Tally,
    /// Verdicts of this processor on this thread.
    pub memo: Memo,
    /// Room for a number's decimal text while it is scanned.
    pub scratch: String,
}

impl Cx {
    /// Takes processor `id`'s memo from this thread (an empty one the first time).
    pub fn take(id: u64, tally: Tally) -> Self {
        let memo = MEMOS
            .with(|m| m.borrow_mut().remove(&id))
            .unwrap_or_default();
        Self {
            tally,
            memo,
            scratch: String::new(),
        }
    }

    /// Puts the memo back for the next batch on this thread.
    pub fn put_back(id: u64, memo: Memo) {
        MEMOS.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() >= MAX_PROCESSORS {
                m.clear();
            }
            m.insert(id, memo);
        });
    }
}
