//! CPython's `traceback` format: `Traceback (most recent call last):`, then `File "…", line N,
//! in f` with the source line below it, then `Type: message`. Chained exceptions (`raise … from
//! …` and exceptions raised while handling another) are separate blocks, the cause first.

use std::sync::LazyLock;

use regex::Regex;

use super::{ParsedException, frame, type_and_value};

static FILE_LINE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"^\s*File "([^"]+)", line (\d+)(?:, in (.+))?$"#).ok());

const CHAIN_MARKERS: [&str; 2] = [
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
];

/// The exceptions of a Python traceback, the first cause first.
pub(super) fn parse(text: &str) -> Vec<ParsedException> {
    let Some(file_line) = FILE_LINE.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut current: Option<ParsedException> = None;
    // After the frames: the message lines, until a blank line or the next block.
    let mut in_message = false;
    let mut last_frame_has_source = true;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("Traceback (most recent call last)") {
            out.extend(current.take());
            current = Some(ParsedException::default());
            in_message = false;
            continue;
        }
        let Some(exc) = current.as_mut() else {
            continue;
        };
        if CHAIN_MARKERS.contains(&trimmed) {
            in_message = false;
            continue;
        }
        if let Some(c) = file_line.captures(line) {
            let path = c.get(1).map(|m| m.as_str());
            let lineno = c.get(2).and_then(|m| m.as_str().parse().ok());
            let function = c.get(3).map(|m| m.as_str());
            exc.frames
                .push(frame(function, None, path, lineno, None, in_app(path)));
            last_frame_has_source = false;
            continue;
        }
        if in_message {
            if trimmed.is_empty() {
                in_message = false;
            } else if let Some(v) = exc.value.as_mut() {
                v.push('\n');
                v.push_str(line);
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            // The source line under a frame (3.11+ adds `^^^` markers below it).
            if !last_frame_has_source
                && !trimmed.chars().all(|c| matches!(c, '^' | '~' | ' '))
                && let Some(f) = exc.frames.last_mut()
            {
                f.context_line = Some(trimmed.to_owned());
                last_frame_has_source = true;
            }
            continue;
        }
        if trimmed.is_empty() || exc.ty.is_some() {
            continue;
        }
        if let Some((ty, value)) = type_and_value(line) {
            exc.ty = Some(ty);
            exc.value = value;
            in_message = true;
        }
    }
    out.extend(current);
    out
}

/// Installed packages and the standard library are not the application's code.
fn in_app(path: Option<&str>) -> bool {
    path.is_some_and(|p| {
        !(p.contains("/site-packages/")
            || p.contains("/dist-packages/")
            || p.contains("/lib/python")
            || p.starts_with('<'))
    })
}
