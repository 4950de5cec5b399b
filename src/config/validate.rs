//! `weir validate`: check config files without starting anything, as `weir run` would read
//! them, plus what only the filesystem can tell (can the output files be written).
//!
//! Prints `FILE: ok` on stdout for each valid file and every error (and warning) on stderr,
//! with file, line, column and dotted path. Exit 0 when every file is valid (warnings allowed),
//! 1 otherwise.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{Options, ProcessEnv, Warnings, check_file};

/// Checks `files`; with `skip_env`, a variable that is not set is a warning (once per variable)
/// and the values using it are not checked.
pub fn run(files: &[PathBuf], skip_env: bool) -> ExitCode {
    let options = Options {
        skip_env,
        output_paths: true,
    };
    let mut ok = true;
    for f in files {
        let checked = check_file(f, &ProcessEnv, options);
        let name = f.display().to_string();
        if !checked.warnings.is_empty() {
            eprint!(
                "{}",
                Warnings {
                    source_name: &name,
                    warnings: &checked.warnings,
                }
            );
        }
        match checked.result {
            Ok(_) => println!("{name}: ok"),
            Err(e) => {
                ok = false;
                eprint!("{e}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
