//! The OpenTelemetry Python SDK as a real client: the scripts in `tests/python/`, run with the
//! venv's Python and configured only by the standard `OTEL_*` variables, as an application is.
//! Those in [`AUTO_CONFIGURED`] run under `opentelemetry-instrument`, the distro's
//! auto-configuration, exactly as an application started that way.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{python, tests_path};

/// The scripts whose SDK the auto-configuration builds: they only take the global providers.
pub const AUTO_CONFIGURED: [&str; 1] = ["send_all.py"];

/// `opentelemetry-instrument`, installed beside the venv's Python by `opentelemetry-distro`.
fn instrument() -> PathBuf {
    let python = python();
    let path = python.with_file_name("opentelemetry-instrument");
    assert!(
        path.exists(),
        "{} is missing: run ./scripts/test, which installs tests/python/requirements.txt",
        path.display()
    );
    path
}

/// `python tests/python/<script>` (under `opentelemetry-instrument` for the scripts of
/// [`AUTO_CONFIGURED`]) with only what the test sets: no `OTEL_*` variable from the
/// developer's shell, and no proxy for loopback.
pub fn command(script: &str) -> Command {
    let mut cmd = if AUTO_CONFIGURED.contains(&script) {
        let mut cmd = Command::new(instrument());
        cmd.arg(python());
        cmd
    } else {
        Command::new(python())
    };
    cmd.arg(tests_path(&format!("python/{script}")));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("OTEL_") || key.to_ascii_lowercase().ends_with("_proxy") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Runs `script` with `env` and returns the one JSON line it prints; panics with its output
/// unless it exits 0 (the scripts exit 1 when any export failed) and prints exactly that line.
pub fn run(script: &str, env: &[(&str, &str)]) -> Value {
    let mut cmd = command(script);
    cmd.envs(env.iter().copied());
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} {env:?} exited {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "{script} prints one JSON line; stdout:\n{stdout}"
    );
    serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("{script}'s report is not JSON ({e}): {}", lines[0]))
}
