//! The last outcome of each exporter's sends, for `/health`: when it last succeeded and its
//! last error (the exporter's own message, which never holds record data).

use std::collections::BTreeMap;
use std::time::SystemTime;

/// What `/health` shows of one exporter's recent sends.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportNote {
    /// When a send last succeeded.
    pub last_success: Option<SystemTime>,
    /// When a send last failed, and why (at most 300 characters).
    pub last_error: Option<(SystemTime, String)>,
    /// Why the exporter's disk queue refuses batches now (full, or the disk refuses writes),
    /// since when; `None` while it takes them.
    pub storage_problem: Option<(SystemTime, String)>,
}

/// Longest error message kept.
const MAX_MESSAGE: usize = 300;

pub(super) fn record(
    notes: &mut BTreeMap<String, ExportNote>,
    exporter: &str,
    error: Option<&str>,
) {
    let now = SystemTime::now();
    let note = notes.entry(exporter.to_owned()).or_default();
    match error {
        None => note.last_success = Some(now),
        Some(e) => {
            let message: String = e.chars().take(MAX_MESSAGE).collect();
            note.last_error = Some((now, message));
        }
    }
}

/// Sets (or with `None` clears) `exporter`'s disk queue problem; says whether it changed
/// from none to some or back.
pub(super) fn storage(
    notes: &mut BTreeMap<String, ExportNote>,
    exporter: &str,
    problem: Option<&str>,
) -> bool {
    let note = notes.entry(exporter.to_owned()).or_default();
    let was = note.storage_problem.is_some();
    note.storage_problem = problem.map(|p| {
        let since = note
            .storage_problem
            .as_ref()
            .map_or_else(SystemTime::now, |(at, _)| *at);
        (since, p.chars().take(MAX_MESSAGE).collect())
    });
    was != note.storage_problem.is_some()
}
