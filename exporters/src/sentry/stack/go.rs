//! Go's goroutine dumps (`runtime.Stack`, `debug.Stack`, and what a panic prints): an optional
//! `panic: message` line, `goroutine N [state]:`, then for each frame a function line
//! (`pkg/path.(*T).Method(args)`) and a `\t/path/file.go:42 +0x1d` location line, the most
//! recent first. Only the first goroutine is read.

use std::sync::LazyLock;

use regex::Regex;

use super::{ParsedException, frame};

static LOCATION: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\t(.+?):(\d+)(?: \+0x[0-9a-f]+)?\s*$").ok());

/// The exception of a Go goroutine dump: type `panic` when it was a panic.
pub(super) fn parse(text: &str) -> Vec<ParsedException> {
    let Some(location) = LOCATION.as_ref() else {
        return Vec::new();
    };
    let mut exc = ParsedException::default();
    let mut started = false;
    let mut function: Option<String> = None;
    let mut frames = Vec::new();
    for line in text.lines() {
        if !started {
            if let Some(message) = line.strip_prefix("panic: ") {
                exc.ty = Some("panic".into());
                // `panic: boom [recovered]` (Go 1.x) keeps the marker out of the message.
                let message = message.trim_end_matches(" [recovered]");
                exc.value = Some(message.trim().to_owned());
            } else if line.starts_with("goroutine ") && line.trim_end().ends_with("]:") {
                started = true;
            }
            continue;
        }
        if line.trim().is_empty() {
            if !frames.is_empty() {
                break;
            }
            continue;
        }
        if let Some(c) = location.captures(line) {
            let Some(name) = function.take() else {
                continue;
            };
            let path = c.get(1).map(|m| m.as_str());
            let lineno = c.get(2).and_then(|m| m.as_str().parse().ok());
            let (module, func) = split_function(&name);
            let in_app = !(module == "runtime"
                || module.starts_with("runtime/")
                || path.is_some_and(|p| p.contains("/go/src/") || p.contains("/pkg/mod/")));
            frames.push(frame(Some(func), Some(module), path, lineno, None, in_app));
        } else if !line.starts_with('\t') {
            function = Some(function_name(line.trim()));
        }
    }
    frames.reverse();
    exc.frames = frames;
    vec![exc]
}

/// The function of a function line: without its arguments, and `created by X in goroutine 1`
/// as `X`.
fn function_name(line: &str) -> String {
    if let Some(rest) = line.strip_prefix("created by ") {
        return rest
            .split(" in goroutine ")
            .next()
            .unwrap_or(rest)
            .to_owned();
    }
    if !line.ends_with(')') {
        return line.to_owned();
    }
    // The final `(…)` is the argument list: find its opening parenthesis.
    let mut depth = 0usize;
    for (i, c) in line.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return line[..i].to_owned();
                }
            }
            _ => {}
        }
    }
    line.to_owned()
}

/// `github.com/a/b/pkg.(*T).Method` → (`github.com/a/b/pkg`, `(*T).Method`).
fn split_function(name: &str) -> (&str, &str) {
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].find('.') {
        Some(dot) => (&name[..last_slash + dot], &name[last_slash + dot + 1..]),
        None => ("", name),
    }
}
