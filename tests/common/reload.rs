//! Reloading a running weir in tests: write its config file, send SIGHUP, wait for the log
//! line that says how the reload ended.

use serde_json::Value;

use super::Weir;

/// Writes `text` as the running weir's config file and sends SIGHUP; waits until the reload
/// number `n` is logged (applied or refused) and returns that line, parsed.
pub fn reload(weir: &Weir, text: &str, n: usize) -> Value {
    std::fs::write(weir.dir().join("weir.yaml"), text).expect("write config");
    weir.hangup();
    let done = |l: &str| l.contains("configuration reloaded") || l.contains("reload refused");
    let lines = weir.stderr_lines_when(|lines| lines.iter().filter(|l| done(l)).count() >= n);
    let line = lines
        .iter()
        .filter(|l| done(l))
        .nth(n - 1)
        .expect("the line");
    serde_json::from_str(line).expect("a JSON log line")
}
