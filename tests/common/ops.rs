//! The ops page from outside, for the tests that read it: its figures
//! (`/admin/ops/overview.json`, polled until a condition holds) and the page in a real browser
//! (Debian's `chromium`, headless; a missing one skips the test, or fails it under `CI=true`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{DEADLINE, Weir, http_client};

/// The page's path.
pub const PAGE: &str = "/admin/ops/overview";
/// The figures' path.
pub const DATA: &str = "/admin/ops/overview.json";

/// The overview, asked with ops token `token`.
pub async fn overview(weir: &Weir, token: &str) -> Value {
    let resp = http_client()
        .get(format!("http://{}{DATA}", weir.admin_addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {DATA}: {e}"));
    assert_eq!(resp.status(), 200, "GET {DATA}");
    resp.json().await.expect("overview JSON")
}

/// Polls the overview until `done` holds for it; panics with the last one after [`DEADLINE`].
pub async fn overview_when(weir: &Weir, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + DEADLINE;
    loop {
        let o = overview(weir, token).await;
        if done(&o) {
            return o;
        }
        assert!(Instant::now() < until, "overview never got there: {o:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The row of `rows` whose fields equal `keys`.
pub fn find<'a>(rows: &'a Value, keys: &[(&str, &str)]) -> &'a Value {
    rows.as_array()
        .and_then(|rows| {
            rows.iter()
                .find(|r| keys.iter().all(|(k, v)| r[*k].as_str() == Some(*v)))
        })
        .unwrap_or_else(|| panic!("no row {keys:?} in {rows:#}"))
}

/// `chromium` on PATH; panics when it is missing (tests check `debian_tools` first).
pub fn chromium() -> PathBuf {
    super::debian_tool("chromium", "chromium")
}

/// The flags of every chromium run here: headless, offline from Google, no first-run work.
pub const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Runs headless chromium on `url` with `args`, with its profile in `profile`; panics when it
/// fails.
pub fn run_chromium(browser: &Path, profile: &Path, args: &[&str], url: &str) -> Output {
    let out = Command::new(browser)
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("run chromium");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "chromium {args:?}: {}\n{err}",
        out.status
    );
    out
}

/// The DOM of `url` after `virtual_ms` of the page's (virtual) time, off the async runtime.
pub async fn dump_dom(browser: &Path, profile: &Path, url: &str, virtual_ms: u32) -> String {
    let (browser, profile, url) = (browser.to_owned(), profile.to_owned(), url.to_owned());
    let out = tokio::task::spawn_blocking(move || {
        let budget = format!("--virtual-time-budget={virtual_ms}");
        run_chromium(&browser, &profile, &[&budget, "--dump-dom"], &url)
    })
    .await
    .expect("chromium task");
    String::from_utf8(out.stdout).expect("UTF-8 DOM")
}
