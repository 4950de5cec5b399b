//! The set-up scripts a new user runs first: `./scripts/test --help` prints its usage and runs
//! nothing (no cargo, no pip, no apt-get), and `scripts/install-deps --check` names the exact
//! `apt-get install` line for what is missing without installing it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A directory of stand-ins for the tools the scripts could run: each one, when run, writes
/// its name and arguments to `ran.log` in the same directory.
fn stand_ins(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("ran.log");
    for name in names {
        let path = dir.path().join(name);
        let script = format!("#!/bin/sh\necho \"{name} $*\" >> '{}'\n", log.display());
        std::fs::write(&path, script).expect("write stand-in");
        let mut perms = std::fs::metadata(&path).expect("stat").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).expect("chmod");
    }
    dir
}

fn script(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// What the stand-ins in `dir` were run with.
fn ran(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("ran.log")).unwrap_or_default()
}

fn run(cmd: &mut Command) -> (Output, Duration) {
    let started = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .env_remove("WEIR_TEST_PYTHON")
        .output()
        .expect("run script");
    (out, started.elapsed())
}

#[test]
fn scripts_test_help_prints_usage_and_runs_nothing() {
    let tools = stand_ins(&["cargo", "apt-get", "pip", "npm", "go", "python3"]);
    let path = format!(
        "{}:{}",
        tools.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for flag in ["--help", "-h"] {
        let (out, took) = run(Command::new(script("scripts/test"))
            .arg(flag)
            .env("PATH", &path));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{flag}: {out:?}");
        assert!(
            stdout.contains("./scripts/test --test sdk_python"),
            "{flag}: usage expected, got:\n{stdout}"
        );
        assert!(stdout.contains("about 5 minutes"), "{stdout}");
        assert!(
            !stdout.contains("set -euo"),
            "only the comment block: {stdout}"
        );
        assert!(took < Duration::from_secs(10), "{flag} took {took:?}");
        assert_eq!(ran(tools.path()), "", "{flag} ran a tool");
    }
}

#[test]
fn install_deps_check_prints_the_apt_get_line_and_installs_nothing() {
    // Nothing on PATH but bash and a stand-in apt-get: every package is missing.
    let tools = stand_ins(&["apt-get"]);
    let bash = ["/bin/bash", "/usr/bin/bash"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("bash");
    std::os::unix::fs::symlink(bash, tools.path().join("bash")).expect("link bash");
    let (out, _) = run(Command::new(script("scripts/install-deps"))
        .arg("--check")
        .env("PATH", tools.path()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stderr.contains(
            "apt-get update && apt-get install -y -q --no-install-recommends python3 \
             python3-venv make procps coreutils prometheus chromium nodejs npm"
        ),
        "{stderr}"
    );
    assert_eq!(ran(tools.path()), "", "--check installed something");
}
