//! Rust backtraces: what a panic prints with `RUST_BACKTRACE=1` or `full` (`thread 'main'
//! panicked at src/main.rs:2:17:`, the message, `stack backtrace:`), and
//! `std::backtrace::Backtrace` as displayed: numbered frames (`  4: app::handler`, in `full`
//! with an address) each followed by `at path:line:col` lines, the most recent first.

use std::sync::LazyLock;

use regex::Regex;

use super::{ParsedException, frame};

static FRAME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\s*\d+:\s+(?:0x[0-9a-f]+ - )?(.+?)\s*$").ok());
static AT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\s+at (.+?):(\d+)(?::(\d+))?\s*$").ok());
static HASH: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(::h[0-9a-f]{16}$)|(\[[0-9a-f]{16}\])").ok());
static PANICKED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^thread '[^']*'(?: \(\d+\))? panicked at (?:'(.*)', )?(.+?):?\s*$").ok()
});

/// The exception of a Rust backtrace: type `panic` when it was a panic.
pub(super) fn parse(text: &str) -> Vec<ParsedException> {
    let (Some(frame_re), Some(at), Some(hash), Some(panicked)) = (
        FRAME.as_ref(),
        AT.as_ref(),
        HASH.as_ref(),
        PANICKED.as_ref(),
    ) else {
        return Vec::new();
    };
    let mut exc = ParsedException::default();
    let mut message: Option<Vec<&str>> = None;
    // Symbols of the current numbered frame: inlined functions share its number.
    let mut pending: Option<String> = None;
    let mut frames = Vec::new();
    for line in text.lines() {
        if let Some(c) = panicked.captures(line) {
            exc.ty = Some("panic".into());
            match c.get(1) {
                // Before Rust 1.73: `panicked at 'message', src/main.rs:2:17`.
                Some(m) => exc.value = Some(m.as_str().to_owned()),
                None => message = Some(Vec::new()),
            }
            continue;
        }
        if let Some(lines) = message.as_mut() {
            if line.trim() == "stack backtrace:" || line.starts_with("note: ") {
                exc.value = Some(lines.join("\n"));
                message = None;
            } else {
                lines.push(line);
            }
            continue;
        }
        if let Some(c) = at.captures(line) {
            let Some(function) = pending.take() else {
                continue;
            };
            let path = c.get(1).map(|m| m.as_str());
            let lineno = c.get(2).and_then(|m| m.as_str().parse().ok());
            let colno = c.get(3).and_then(|m| m.as_str().parse().ok());
            frames.push(rust_frame(&function, path, lineno, colno));
        } else if let Some(c) = frame_re.captures(line) {
            if let Some(function) = pending.take() {
                frames.push(rust_frame(&function, None, None, None));
            }
            let symbol = c.get(1).map_or("", |m| m.as_str());
            pending = Some(hash.replace_all(symbol, "").into_owned());
        }
    }
    if let Some(lines) = message {
        exc.value = Some(lines.join("\n"));
    }
    if let Some(function) = pending {
        frames.push(rust_frame(&function, None, None, None));
    }
    frames.reverse();
    exc.frames = frames;
    vec![exc]
}

fn rust_frame(
    function: &str,
    path: Option<&str>,
    line: Option<u64>,
    col: Option<u64>,
) -> sentry_types::protocol::v7::Frame {
    let library_path = path.is_some_and(|p| {
        p.starts_with("/rustc/") || p.contains("/.cargo/registry/") || p.contains("/.cargo/git/")
    });
    let library_symbol = [
        "std::",
        "core::",
        "alloc::",
        "__rust",
        "rust_begin_unwind",
        "<std::",
        "<core::",
        "<alloc::",
        "__libc",
        "_start",
    ]
    .iter()
    .any(|p| function.starts_with(p));
    let module = function
        .rsplit_once("::")
        .map(|(m, _)| m)
        .filter(|m| !m.starts_with('<'));
    frame(
        Some(function),
        module,
        path,
        line,
        col,
        path.is_some() && !(library_path || library_symbol),
    )
}
