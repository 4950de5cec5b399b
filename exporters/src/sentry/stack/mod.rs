//! Stack traces from `exception.stacktrace` text, as Sentry frames.
//!
//! OpenTelemetry SDKs record a stack trace as the runtime prints it. This module reads the
//! formats of Python (`traceback`), Java (`printStackTrace`, with `Caused by:` chains), Go
//! (`runtime.Stack` / `debug.Stack`, and panics), JavaScript (V8's `Error.stack`, as Node
//! prints it) and Rust (panic backtraces and `std::backtrace::Backtrace`), into one or more
//! exceptions (chained causes first, the outermost last) whose frames run from the oldest
//! call to the most recent one, which is Sentry's order.
//!
//! The runtime comes from the resource's `telemetry.sdk.language` when the SDK set it,
//! otherwise from the text. Nothing here fails: text that no parser recognises gives `None`,
//! and the caller keeps it as it is.

mod go;
mod java;
mod js;
mod python;
mod rust;

use sentry_types::protocol::v7::Frame;

/// Most frames kept per exception: the most recent ones (Sentry drops the rest anyway).
pub const MAX_FRAMES: usize = 250;

/// The runtimes whose stack traces are understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// CPython's `traceback` format.
    Python,
    /// The JVM's `Throwable.printStackTrace` format (Java, Kotlin, Scala).
    Java,
    /// Go's goroutine dumps.
    Go,
    /// V8's `Error.stack` (Node.js, Chrome, Deno, Bun).
    JavaScript,
    /// Rust's backtraces.
    Rust,
}

impl Runtime {
    /// The runtime of an OpenTelemetry SDK by its `telemetry.sdk.language`.
    pub fn from_sdk_language(language: &str) -> Option<Runtime> {
        Some(match language {
            "python" => Runtime::Python,
            "java" => Runtime::Java,
            "go" => Runtime::Go,
            "nodejs" | "webjs" | "js" | "javascript" => Runtime::JavaScript,
            "rust" => Runtime::Rust,
            _ => return None,
        })
    }

    /// Sentry's `platform` for events of this runtime.
    pub fn platform(self) -> &'static str {
        match self {
            Runtime::Python => "python",
            Runtime::Java => "java",
            Runtime::Go => "go",
            Runtime::JavaScript => "node",
            Runtime::Rust => "native",
        }
    }

    const ALL: [Runtime; 5] = [
        Runtime::Python,
        Runtime::Java,
        Runtime::Go,
        // After Rust: V8's `at file:line:col` also reads Rust's location lines.
        Runtime::Rust,
        Runtime::JavaScript,
    ];

    fn parse(self, text: &str) -> Vec<ParsedException> {
        match self {
            Runtime::Python => python::parse(text),
            Runtime::Java => java::parse(text),
            Runtime::Go => go::parse(text),
            Runtime::JavaScript => js::parse(text),
            Runtime::Rust => rust::parse(text),
        }
    }
}

/// One exception read from a stack trace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedException {
    /// Its type, when the text names it (`ValueError`, `java.io.IOException`).
    pub ty: Option<String>,
    /// Its message, when the text has one.
    pub value: Option<String>,
    /// Frames, oldest call first.
    pub frames: Vec<Frame>,
}

/// What a stack trace held.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The runtime whose format it was.
    pub runtime: Runtime,
    /// The exceptions, the root cause first and the outermost last; each has frames.
    pub exceptions: Vec<ParsedException>,
}

/// Reads `text`, trying the runtime of `hint` first, then every format. `None` when no frame
/// was found.
pub fn parse(text: &str, hint: Option<Runtime>) -> Option<Parsed> {
    let order = hint
        .into_iter()
        .chain(Runtime::ALL.into_iter().filter(|r| Some(*r) != hint));
    for runtime in order {
        let mut exceptions = runtime.parse(text);
        exceptions.retain(|e| !e.frames.is_empty());
        if exceptions.is_empty() {
            continue;
        }
        for e in &mut exceptions {
            if e.frames.len() > MAX_FRAMES {
                e.frames.drain(..e.frames.len() - MAX_FRAMES);
            }
        }
        return Some(Parsed {
            runtime,
            exceptions,
        });
    }
    None
}

/// A frame with the fields every parser fills.
pub(crate) fn frame(
    function: Option<&str>,
    module: Option<&str>,
    path: Option<&str>,
    line: Option<u64>,
    column: Option<u64>,
    in_app: bool,
) -> Frame {
    let own = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
    let path = own(path);
    Frame {
        function: own(function),
        module: own(module),
        filename: path
            .as_deref()
            .map(|p| p.rsplit(['/', '\\']).next().unwrap_or(p).to_owned()),
        abs_path: path,
        lineno: line,
        colno: column,
        in_app: Some(in_app),
        ..Default::default()
    }
}

/// `Type: message` (or `Type` alone) when `line` starts with something that looks like a
/// type name: word characters, dots, `$`, `::` and no spaces.
pub(crate) fn type_and_value(line: &str) -> Option<(String, Option<String>)> {
    let line = line.trim_end();
    let (ty, value) = match line.split_once(": ") {
        Some((ty, value)) => (ty, Some(value.to_owned())),
        None => (line.strip_suffix(':').unwrap_or(line), None),
    };
    let looks_like_type = !ty.is_empty()
        && ty
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '$' | ':' | '<' | '>'))
        && ty
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_');
    looks_like_type.then(|| (ty.to_owned(), value))
}
