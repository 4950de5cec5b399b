//! V8's `Error.stack` (Node.js, Chrome, Deno, Bun): `Type: message`, then `    at fn (file:line:col)`
//! or `    at file:line:col` lines (four spaces, as V8 prints them), the most recent first. Frames without a location
//! (`at Array.map (<anonymous>)`, `at async Promise.all (index 0)`) keep their function only.

use std::sync::LazyLock;

use regex::Regex;

use super::{ParsedException, frame, type_and_value};

static WITH_FUNCTION: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^ {4}at (.+?) \((.*?)(?::(\d+))?(?::(\d+))?\)\s*$").ok());
static BARE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^ {4}at (.+?):(\d+):(\d+)\s*$").ok());

/// The exception of a V8 stack.
pub(super) fn parse(text: &str) -> Vec<ParsedException> {
    let (Some(with_function), Some(bare)) = (WITH_FUNCTION.as_ref(), BARE.as_ref()) else {
        return Vec::new();
    };
    let mut exc = ParsedException::default();
    let mut header: Vec<&str> = Vec::new();
    let mut frames = Vec::new();
    for line in text.lines() {
        let (function, path, lineno, colno) = if let Some(c) = with_function.captures(line) {
            (
                c.get(1).map(|m| m.as_str()),
                c.get(2).map(|m| m.as_str()),
                c.get(3).and_then(|m| m.as_str().parse().ok()),
                c.get(4).and_then(|m| m.as_str().parse().ok()),
            )
        } else if let Some(c) = bare.captures(line) {
            (
                None,
                c.get(1).map(|m| m.as_str()),
                c.get(2).and_then(|m| m.as_str().parse().ok()),
                c.get(3).and_then(|m| m.as_str().parse().ok()),
            )
        } else {
            if frames.is_empty() {
                header.push(line);
            }
            continue;
        };
        // `<anonymous>`, `native`, `index 0`: no file.
        let path = path.filter(|p| lineno.is_some() && !p.starts_with('<'));
        let path = path.map(|p| p.strip_prefix("file://").unwrap_or(p));
        let in_app = path.is_some_and(|p| {
            !(p.contains("/node_modules/") || p.starts_with("node:") || p.starts_with("internal/"))
        });
        frames.push(frame(function, None, path, lineno, colno, in_app));
    }
    if let Some((ty, value)) = header.first().and_then(|l| type_and_value(l)) {
        exc.ty = Some(ty);
        let rest = header[1..].join("\n");
        exc.value = match (value, rest.trim().is_empty()) {
            (Some(v), true) => Some(v),
            (Some(v), false) => Some(format!("{v}\n{}", rest.trim_end())),
            (None, _) => None,
        };
    }
    frames.reverse();
    exc.frames = frames;
    vec![exc]
}
