//! Stack-trace parsing with real traces: each fixture in `traces/` is what the runtime
//! printed (Python 3.11 `traceback`, OpenJDK `printStackTrace`, Go 1.19 `debug.Stack` and a
//! panic, Node.js 20 `Error.stack`, a Rust 1.95 panic with `RUST_BACKTRACE=1` and `full`).

use sentry_types::protocol::v7::Frame;

use crate::sentry::stack::{MAX_FRAMES, Parsed, Runtime, parse};

const PYTHON: &str = include_str!("traces/python_chained.txt");
const JAVA: &str = include_str!("traces/java_caused_by.txt");
const GO_STACK: &str = include_str!("traces/go_stack.txt");
const GO_PANIC: &str = include_str!("traces/go_panic.txt");
const NODE: &str = include_str!("traces/node_typeerror.txt");
const NODE_ASYNC: &str = include_str!("traces/node_async_esm.txt");
const RUST: &str = include_str!("traces/rust_panic.txt");
const RUST_FULL: &str = include_str!("traces/rust_panic_full.txt");

fn parsed(text: &str, hint: Option<Runtime>) -> Parsed {
    parse(text, hint).expect("a stack trace")
}

/// `(function, line)` of each frame, oldest first.
fn calls(frames: &[Frame]) -> Vec<(String, Option<u64>)> {
    frames
        .iter()
        .map(|f| (f.function.clone().unwrap_or_default(), f.lineno))
        .collect()
}

fn app_functions(frames: &[Frame]) -> Vec<&str> {
    frames
        .iter()
        .filter(|f| f.in_app == Some(true))
        .filter_map(|f| f.function.as_deref())
        .collect()
}

#[test]
fn python_traceback_with_a_cause() {
    for hint in [Some(Runtime::Python), None] {
        let p = parsed(PYTHON, hint);
        assert_eq!(p.runtime, Runtime::Python);
        assert_eq!(p.exceptions.len(), 2, "the cause, then the outer exception");
        let cause = &p.exceptions[0];
        assert_eq!(cause.ty.as_deref(), Some("KeyError"));
        assert_eq!(cause.value.as_deref(), Some("'quantity'"));
        assert_eq!(
            calls(&cause.frames),
            [("handle".into(), Some(6)), ("parse_order".into(), Some(3))]
        );
        assert_eq!(
            cause.frames[1].context_line.as_deref(),
            Some("return int(raw[\"quantity\"])"),
            "the source line, not the ^^^ markers"
        );
        let outer = &p.exceptions[1];
        assert_eq!(outer.ty.as_deref(), Some("ValueError"));
        assert_eq!(outer.value.as_deref(), Some("order has no quantity"));
        assert_eq!(
            calls(&outer.frames),
            [("<module>".into(), Some(10)), ("handle".into(), Some(8))]
        );
        let f = &outer.frames[1];
        assert_eq!(f.abs_path.as_deref(), Some("/tmp/traces/py_trace.py"));
        assert_eq!(f.filename.as_deref(), Some("py_trace.py"));
        assert_eq!(f.in_app, Some(true));
    }
}

#[test]
fn python_library_frames_are_not_in_app() {
    let text = "Traceback (most recent call last):\n  File \"/srv/app/views.py\", line 4, in get\n    return requests.get(url)\n  File \"/usr/lib/python3.11/site-packages/requests/api.py\", line 73, in get\n    return request(\"get\", url)\nrequests.exceptions.ConnectionError: refused\n";
    let p = parsed(text, None);
    let e = &p.exceptions[0];
    assert_eq!(e.ty.as_deref(), Some("requests.exceptions.ConnectionError"));
    assert_eq!(app_functions(&e.frames), ["get"]);
    assert_eq!(e.frames[1].in_app, Some(false));
}

#[test]
fn java_caused_by_chain_with_shared_frames() {
    for hint in [Some(Runtime::Java), None] {
        let p = parsed(JAVA, hint);
        assert_eq!(p.runtime, Runtime::Java);
        assert_eq!(p.exceptions.len(), 2);
        let root = &p.exceptions[0];
        assert_eq!(root.ty.as_deref(), Some("java.io.IOException"));
        assert_eq!(root.value.as_deref(), Some("disk full"));
        // `... 3 more`: the outer exception's last three frames complete the cause.
        assert_eq!(
            calls(&root.frames),
            [
                ("main".into(), Some(6)),
                ("forEach".into(), Some(75)),
                ("save".into(), Some(4)),
                ("write".into(), Some(3)),
            ]
        );
        let outer = &p.exceptions[1];
        assert_eq!(outer.ty.as_deref(), Some("java.lang.IllegalStateException"));
        assert_eq!(outer.value.as_deref(), Some("could not save order"));
        let save = outer.frames.last().expect("frames");
        assert_eq!(save.module.as_deref(), Some("com.example.shop.App"));
        assert_eq!(save.filename.as_deref(), Some("App.java"));
        let for_each = &outer.frames[1];
        assert_eq!(
            for_each.module.as_deref(),
            Some("java.lang.Iterable"),
            "java.base/ dropped"
        );
        assert_eq!(for_each.in_app, Some(false));
        assert_eq!(app_functions(&outer.frames), ["main", "save"]);
    }
}

#[test]
fn java_native_and_unknown_sources() {
    let text = "java.lang.NullPointerException\n\tat sun.reflect.NativeMethodAccessorImpl.invoke0(Native Method)\n\tat com.acme.Api.call(Unknown Source)\n";
    let e = &parsed(text, Some(Runtime::Java)).exceptions[0];
    assert_eq!(e.ty.as_deref(), Some("java.lang.NullPointerException"));
    assert_eq!(e.value, None);
    assert_eq!(
        calls(&e.frames),
        [("call".into(), None), ("invoke0".into(), None)]
    );
    assert_eq!(e.frames[0].filename, None, "Unknown Source is no file");
    assert_eq!(e.frames[1].filename, None);
    assert_eq!(e.frames[0].module.as_deref(), Some("com.acme.Api"));
}

#[test]
fn go_debug_stack() {
    for hint in [Some(Runtime::Go), None] {
        let p = parsed(GO_STACK, hint);
        assert_eq!(p.runtime, Runtime::Go);
        let e = &p.exceptions[0];
        assert_eq!(e.ty, None, "debug.Stack has no panic line");
        assert_eq!(
            calls(&e.frames),
            [
                ("main".into(), Some(27)),
                ("handle".into(), Some(23)),
                ("(*Store).Quantity".into(), Some(15)),
                ("Stack".into(), Some(24)),
            ]
        );
        assert_eq!(e.frames[2].module.as_deref(), Some("main"));
        assert_eq!(e.frames[3].module.as_deref(), Some("runtime/debug"));
        assert_eq!(
            app_functions(&e.frames),
            ["main", "handle", "(*Store).Quantity"]
        );
        assert_eq!(
            e.frames[0].abs_path.as_deref(),
            Some("/tmp/traces/gop/main.go")
        );
    }
}

#[test]
fn go_panic_and_module_paths() {
    let e = &parsed(GO_PANIC, None).exceptions[0];
    assert_eq!(e.ty.as_deref(), Some("panic"));
    assert_eq!(e.value.as_deref(), Some("bad quantity \"three\""));
    assert_eq!(e.frames.len(), 3);
    let text = "goroutine 7 [running]:\ngithub.com/acme/shop/store.(*DB).Get(0xc000010000)\n\t/root/go/pkg/mod/github.com/acme/shop@v1.2.0/store/db.go:41 +0x1d\ncreated by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/net/http/server.go:3285 +0x4b4\n";
    let e = &parsed(text, Some(Runtime::Go)).exceptions[0];
    assert_eq!(e.frames[0].module.as_deref(), Some("net/http"));
    assert_eq!(e.frames[0].function.as_deref(), Some("(*Server).Serve"));
    assert_eq!(
        e.frames[1].module.as_deref(),
        Some("github.com/acme/shop/store")
    );
    assert_eq!(e.frames[1].function.as_deref(), Some("(*DB).Get"));
    assert_eq!(
        app_functions(&e.frames),
        Vec::<&str>::new(),
        "GOROOT and module cache"
    );
}

#[test]
fn node_error_stack() {
    for hint in [Some(Runtime::JavaScript), None] {
        let p = parsed(NODE, hint);
        assert_eq!(p.runtime, Runtime::JavaScript);
        let e = &p.exceptions[0];
        assert_eq!(e.ty.as_deref(), Some("TypeError"));
        assert_eq!(
            e.value.as_deref(),
            Some("Cannot read properties of undefined (reading 'quantity')")
        );
        assert_eq!(e.frames.len(), 10);
        let top = e.frames.last().expect("frames");
        assert_eq!(top.function.as_deref(), Some("readQuantity"));
        assert_eq!(top.abs_path.as_deref(), Some("/tmp/traces/js_trace.js"));
        assert_eq!((top.lineno, top.colno), (Some(1), Some(50)));
        let anonymous = &e.frames[e.frames.len() - 2];
        assert_eq!(anonymous.function, None);
        assert_eq!(anonymous.lineno, Some(2));
        let map = &e.frames[e.frames.len() - 3];
        assert_eq!(map.function.as_deref(), Some("Array.map"));
        assert_eq!(map.abs_path, None, "<anonymous> is no file");
        assert_eq!(
            app_functions(&e.frames),
            ["Object.<anonymous>", "handle", "readQuantity"],
            "node:internal frames are not the application's"
        );
    }
}

#[test]
fn node_async_esm_stack() {
    let e = &parsed(NODE_ASYNC, Some(Runtime::JavaScript)).exceptions[0];
    assert_eq!(e.ty.as_deref(), Some("RangeError"));
    assert_eq!(e.value.as_deref(), Some("order 7 out of range"));
    assert_eq!(
        calls(&e.frames),
        [("async handler".into(), Some(2)), ("load".into(), Some(1))]
    );
    assert_eq!(
        e.frames[1].abs_path.as_deref(),
        Some("/tmp/traces/async.mjs")
    );
}

#[test]
fn rust_panic_backtrace() {
    for hint in [Some(Runtime::Rust), None] {
        let p = parsed(RUST, hint);
        assert_eq!(p.runtime, Runtime::Rust);
        let e = &p.exceptions[0];
        assert_eq!(e.ty.as_deref(), Some("panic"));
        assert_eq!(
            e.value.as_deref(),
            Some("quantity is not a number: ParseIntError { kind: InvalidDigit }")
        );
        assert_eq!(e.frames.len(), 8);
        assert_eq!(
            app_functions(&e.frames),
            [
                "paniker::main",
                "paniker::handle",
                "paniker::parse_quantity"
            ]
        );
        let top = e.frames.last().expect("frames");
        assert_eq!(top.function.as_deref(), Some("__rustc::rust_begin_unwind"));
        let parse_quantity = &e.frames[3];
        assert_eq!(parse_quantity.module.as_deref(), Some("paniker"));
        assert_eq!(parse_quantity.abs_path.as_deref(), Some("./src/main.rs"));
        assert_eq!(
            (parse_quantity.lineno, parse_quantity.colno),
            (Some(2), Some(17))
        );
    }
}

#[test]
fn rust_full_backtrace_drops_hashes_and_addresses() {
    let e = &parsed(RUST_FULL, None).exceptions[0];
    assert_eq!(e.ty.as_deref(), Some("panic"));
    assert_eq!(
        app_functions(&e.frames),
        [
            "paniker::main",
            "paniker::handle",
            "paniker::parse_quantity"
        ]
    );
    assert!(
        e.frames
            .iter()
            .filter_map(|f| f.function.as_deref())
            .all(|f| {
                let last = f.rsplit("::").next().unwrap_or(f);
                let hash = last.len() == 17
                    && last.starts_with('h')
                    && last[1..].chars().all(|c| c.is_ascii_hexdigit());
                !f.contains("0x") && !hash && !f.contains("std[")
            }),
        "{:?}",
        calls(&e.frames)
    );
    let main = e
        .frames
        .iter()
        .find(|f| f.function.as_deref() == Some("paniker::main"))
        .expect("main");
    assert_eq!(
        main.abs_path.as_deref(),
        Some("/tmp/traces/paniker/src/main.rs")
    );
    assert_eq!(main.lineno, Some(8));
}

#[test]
fn a_wrong_hint_falls_back_to_detection() {
    let p = parsed(JAVA, Some(Runtime::Python));
    assert_eq!(p.runtime, Runtime::Java);
    let p = parsed(RUST, Some(Runtime::JavaScript));
    assert_eq!(p.runtime, Runtime::Rust);
}

#[test]
fn unknown_text_is_not_a_stack_trace() {
    for text in ["", "something went wrong", "Error: boom\nno frames here\n"] {
        assert_eq!(parse(text, None), None, "{text:?}");
    }
}

#[test]
fn very_deep_stacks_keep_the_most_recent_frames() {
    let mut text = String::from("Traceback (most recent call last):\n");
    for i in 0..(MAX_FRAMES + 50) {
        text.push_str(&format!(
            "  File \"/srv/app/r.py\", line {}, in f{i}\n    f()\n",
            i + 1
        ));
    }
    text.push_str("RecursionError: maximum recursion depth exceeded\n");
    let e = &parsed(&text, None).exceptions[0];
    assert_eq!(e.frames.len(), MAX_FRAMES);
    assert_eq!(
        e.frames.last().and_then(|f| f.function.as_deref()),
        Some(format!("f{}", MAX_FRAMES + 49).as_str())
    );
}
