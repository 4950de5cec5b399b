//! The JVM's `Throwable.printStackTrace` format: `Type: message`, `\tat pkg.Class.method(File.java:42)`
//! lines (most recent first), `Caused by: …` blocks for causes, and `... N more` for frames
//! shared with the enclosing exception. `Suppressed:` blocks are skipped.

use std::sync::LazyLock;

use regex::Regex;
use sentry_types::protocol::v7::Frame;

use super::{ParsedException, frame, type_and_value};

static AT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(\s*)at ([^\s(]+)\((.*)\)\s*$").ok());
static MORE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\s*\.\.\. (\d+) (?:more|common frames omitted)\s*$").ok());

/// Packages that belong to the runtime or the language, not the application.
const LIBRARY_PREFIXES: [&str; 10] = [
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "kotlin.",
    "kotlinx.",
    "scala.",
    "org.junit.",
    "io.opentelemetry.",
];

/// Exceptions in text order: the outermost first, then each cause, with frames most recent
/// first (as printed).
struct Block {
    ty: Option<String>,
    value: Option<String>,
    at: Vec<Frame>,
    more: usize,
}

/// The exceptions of a JVM stack trace, the root cause first.
pub(super) fn parse(text: &str) -> Vec<ParsedException> {
    let (Some(at), Some(more)) = (AT.as_ref(), MORE.as_ref()) else {
        return Vec::new();
    };
    let mut blocks: Vec<Block> = Vec::new();
    let mut skipping_suppressed = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let header = if let Some(rest) = line.strip_prefix("Caused by: ") {
            skipping_suppressed = false;
            Some(rest)
        } else if trimmed.starts_with("Suppressed: ") {
            skipping_suppressed = true;
            None
        } else if blocks.is_empty() && !line.starts_with(char::is_whitespace) {
            Some(line)
        } else {
            None
        };
        if let Some(header) = header {
            let (ty, value) = match type_and_value(header) {
                Some((ty, value)) => (Some(ty), value),
                None => (None, Some(header.trim().to_owned())),
            };
            blocks.push(Block {
                ty,
                value,
                at: Vec::new(),
                more: 0,
            });
            continue;
        }
        if skipping_suppressed {
            continue;
        }
        let Some(block) = blocks.last_mut() else {
            continue;
        };
        if let Some(c) = at.captures(line) {
            let qualified = c.get(2).map_or("", |m| m.as_str());
            // `java.base/java.lang.Thread.run`, `app//com.example.Main.main`: the module
            // loader's prefix is not part of the class.
            let qualified = qualified.rsplit('/').next().unwrap_or(qualified);
            let (class, method) = qualified.rsplit_once('.').unwrap_or(("", qualified));
            let location = c.get(3).map_or("", |m| m.as_str());
            let (file, line_no) = match location.rsplit_once(':') {
                Some((file, n)) => (Some(file), n.parse().ok()),
                None if location.contains('.') => (Some(location), None),
                None => (None, None),
            };
            let in_app = !LIBRARY_PREFIXES.iter().any(|p| class.starts_with(p));
            let mut f = frame(Some(method), Some(class), file, line_no, None, in_app);
            // A Java file name is not a path: keep it as the file name only.
            f.abs_path = None;
            block.at.push(f);
        } else if let Some(c) = more.captures(line) {
            block.more = c.get(1).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
        }
    }
    // `... N more`: the last N frames of the enclosing exception.
    for i in 1..blocks.len() {
        let shared = blocks[i].more;
        if shared > 0 {
            let outer = &blocks[i - 1].at;
            let tail = outer[outer.len().saturating_sub(shared)..].to_vec();
            blocks[i].at.extend(tail);
        }
    }
    blocks
        .into_iter()
        .rev()
        .map(|b| ParsedException {
            ty: b.ty,
            value: b.value,
            frames: b.at.into_iter().rev().collect(),
        })
        .collect()
}
