//! The tools the tests run that weir does not build: Debian packages found on PATH (a missing
//! one skips its test with the `apt-get` line, or fails it under `CI=true`) and the Python that
//! has the OpenTelemetry SDK.

use std::path::{Path, PathBuf};

/// Whether every `(tool, Debian package)` of `needed` is on PATH. When one is not, says so on
/// stderr with the `apt-get` line that installs it (`./scripts/install-deps` runs it as root)
/// and returns false, so the test returns early as skipped; under `CI=true` it panics instead:
/// CI must run against the real thing.
pub fn debian_tools(needed: &[(&str, &str)]) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<(&str, &str)> = needed
        .iter()
        .copied()
        .filter(|(name, _)| !std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
        .collect();
    if missing.is_empty() {
        return true;
    }
    let tools: Vec<&str> = missing.iter().map(|(t, _)| *t).collect();
    let mut packages: Vec<&str> = missing.iter().map(|(_, p)| *p).collect();
    packages.dedup();
    let why = format!(
        "{} not on PATH; install with `apt-get install --no-install-recommends {}` \
         (./scripts/install-deps does it as root)",
        tools.join(", "),
        packages.join(" ")
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why} (CI=true: a missing tool fails the test)");
    }
    eprintln!("skipped: {why}");
    false
}

/// The absolute path of `name` on PATH; panics when it is missing, naming the Debian `package`
/// that provides it. Tests check [`debian_tools`] first, so that a missing tool skips them.
pub fn debian_tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not on PATH: this test needs the real thing. Install the Debian \
                 package (`apt-get install --no-install-recommends {package}`, as .ci/run does)."
            )
        })
}

/// The Python that has the OpenTelemetry SDK: `$WEIR_TEST_PYTHON`, else the workspace's
/// `.venv/bin/python`. Panics (never skips) when neither exists.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("WEIR_TEST_PYTHON") {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "WEIR_TEST_PYTHON={} does not exist; run ./scripts/test, which creates .venv",
            p.display()
        );
        return p;
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run ./scripts/test (it creates .venv and installs \
         tests/python/requirements.txt), or set WEIR_TEST_PYTHON",
        p.display()
    );
    p
}
