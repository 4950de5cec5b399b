//! The fuzz targets' seed corpora, replayed on the stable toolchain: every file in
//! `fuzz/corpus/<target>/` goes through the function its target calls (`fuzz/src/harness.rs`,
//! included here), so a seed that once crashed weir keeps failing this test until it is fixed,
//! and the targets' checks run in every `cargo test`. FUZZING.md says how to fuzz for real.

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/harness.rs"]
mod harness;

/// The seed files of `target`, sorted; fails when there are none.
fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
}

/// Runs `run` on every seed of `target`, naming the seed that failed.
fn replay(target: &str, run: fn(&[u8])) {
    for path in seeds(target) {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(
            outcome.is_ok(),
            "seed {} fails target {target}",
            path.display()
        );
    }
}

#[test]
fn otlp_http_body_seeds() {
    replay("otlp_http_body", harness::otlp_http_body);
}

#[test]
fn config_seeds() {
    replay("config", harness::config);
}

#[test]
fn redaction_seeds() {
    replay("redaction", harness::redaction);
}
