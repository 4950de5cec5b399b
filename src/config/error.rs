//! Config errors: every problem found in one file, each with its dotted path and, where the
//! file has it, its line and column.

use std::fmt;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path of the offending key (`processors.batch.timeout`); empty for the whole file.
    pub path: String,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// What is wrong, and where possible what to write instead.
    pub message: String,
}

/// Every problem found in one config file; the loader collects them all before failing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// The file name (or `<default>` for the embedded default pipeline).
    pub source_name: String,
    /// The problems, in file order where positions are known.
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        list(f, &self.source_name, "error", &self.errors)
    }
}

/// The warnings of one config file (they do not make it invalid), shown as errors are.
#[derive(Debug, Clone, Copy)]
pub struct Warnings<'a> {
    /// The file name.
    pub source_name: &'a str,
    /// The warnings, in file order.
    pub warnings: &'a [ConfigError],
}

impl fmt::Display for Warnings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        list(f, self.source_name, "warning", self.warnings)
    }
}

/// `file: N <what>s`, then one `file:line:column: path: message` line per problem.
fn list(f: &mut fmt::Formatter<'_>, source: &str, what: &str, all: &[ConfigError]) -> fmt::Result {
    let n = all.len();
    writeln!(f, "{source}: {n} {what}{}", if n == 1 { "" } else { "s" })?;
    for e in all {
        write!(f, "  {source}")?;
        if let Some((line, col)) = e.position {
            write!(f, ":{line}:{col}")?;
        }
        if e.path.is_empty() {
            writeln!(f, ": {}", e.message)?;
        } else {
            writeln!(f, ": {}: {}", e.path, e.message)?;
        }
    }
    Ok(())
}
