//! A config made of several sources, the Collector's way: `--config` files merged in order,
//! then each `--set key::path=value` applied.
//!
//! Merging follows the Collector's default (confmap): mappings are merged key by key,
//! recursively; any other value (a scalar, a list, null) from a later source replaces the
//! earlier one whole, so lists are replaced, never appended. A `--set` is a one-key source
//! merged last: `::` separates the levels and the value is read as YAML (`2s`, `[otlp]`,
//! `{ verbosity: basic }`).
//!
//! The merge happens on parsed YAML values, before `${env:…}` expansion, and the merged tree
//! is then loaded as one file. Positions are kept per source: an error is reported in the
//! source that supplied the key at fault (the last one that has it, or the nearest parent it
//! has), at that key's line and column in that source; a key from `--set` has no position.
//! Failures are [`SourceErrors`]: unreadable files, YAML syntax (with the file's own
//! position), a malformed `--set`, and every error of the merged config.

use std::fmt;
use std::path::PathBuf;

use serde_yaml_ng::{Mapping, Value};

use super::locate::Locations;
use super::{Config, ConfigError, ConfigErrors, DEFAULT_CONFIG, Env};

/// What the effective config is made of.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Files, merged in order; none means weir's embedded default pipeline.
    pub files: Vec<PathBuf>,
    /// `key::path=value` settings, applied in order after the files.
    pub sets: Vec<String>,
}

/// A loaded config, and the merged YAML it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated config.
    pub config: Config,
    /// The merged tree, before `${env:…}` expansion.
    pub merged: Value,
}

/// Every problem found, grouped by the source it belongs to, in source order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SourceErrors(pub Vec<ConfigErrors>);

impl fmt::Display for SourceErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|e| write!(f, "{e}"))
    }
}

/// One parsed source: its name in errors, its tree, and where its keys stand.
struct Parsed {
    name: String,
    tree: Value,
    /// A file's text and where its keys stand; `None` for a `--set`.
    text: Option<(String, Locations)>,
}

/// The name the embedded default pipeline has in errors.
const DEFAULT_NAME: &str = "<default pipeline>";

impl Sources {
    /// Reads, merges and validates every source.
    pub fn load(&self, env: &dyn Env) -> Result<Loaded, SourceErrors> {
        let mut parsed = Vec::new();
        let mut errors = Vec::new();
        let texts: Vec<(String, Result<String, String>)> = if self.files.is_empty() {
            vec![(DEFAULT_NAME.to_owned(), Ok(DEFAULT_CONFIG.to_owned()))]
        } else {
            self.files
                .iter()
                .map(|p| {
                    let text = std::fs::read_to_string(p)
                        .map_err(|e| format!("cannot read the file: {e}"));
                    (p.display().to_string(), text)
                })
                .collect()
        };
        for (name, text) in texts {
            let text = match text {
                Ok(t) => t,
                Err(message) => {
                    errors.push(whole(&name, None, message));
                    continue;
                }
            };
            match serde_yaml_ng::from_str::<Value>(&text) {
                Ok(tree) => parsed.push(Parsed {
                    text: Some((text.clone(), Locations::index(&text))),
                    name,
                    tree,
                }),
                // The loader places a syntax error best: let it report this file alone.
                Err(_) => match super::load_str(&text, &name, env) {
                    Err(e) => errors.push(e),
                    Ok(_) => errors.push(whole(&name, Some((1, 1)), "YAML syntax".into())),
                },
            }
        }
        for set in &self.sets {
            match parse_set(set) {
                Ok(tree) => parsed.push(Parsed {
                    name: format!("--set {set}"),
                    tree,
                    text: None,
                }),
                Err(message) => errors.push(whole(&format!("--set {set}"), None, message)),
            }
        }
        if !errors.is_empty() {
            return Err(SourceErrors(errors));
        }
        let mut merged = Value::Null;
        for p in &parsed {
            merge(&mut merged, p.tree.clone());
        }
        if let [only] = parsed.as_slice()
            && let Some((text, _)) = &only.text
        {
            // One file: its own text, so the loader's positions are exact as they are.
            return super::load_str(text, &only.name, env)
                .map(|config| Loaded { config, merged })
                .map_err(|e| SourceErrors(vec![e]));
        }
        let text = serde_yaml_ng::to_string(&merged)
            .map_err(|e| SourceErrors(vec![whole("<merged>", None, e.to_string())]))?;
        match super::load_str(&text, "<merged>", env) {
            Ok(config) => Ok(Loaded { config, merged }),
            Err(e) => Err(SourceErrors(place(e.errors, &parsed))),
        }
    }
}

fn whole(name: &str, position: Option<(usize, usize)>, message: String) -> ConfigErrors {
    ConfigErrors {
        source_name: name.to_owned(),
        errors: vec![ConfigError {
            path: String::new(),
            position,
            message,
        }],
    }
}

/// Merges `from` into `into`: mappings key by key, anything else replaced (the Collector's
/// default merge).
pub fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Mapping(old), Value::Mapping(new)) => {
            for (k, v) in new {
                match old.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        old.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Reads `processors::batch::timeout=2s` as `{processors: {batch: {timeout: 2s}}}`.
pub fn parse_set(set: &str) -> Result<Value, String> {
    let Some((key, value)) = set.split_once('=') else {
        return Err("write --set key::path=value (the Collector's syntax)".into());
    };
    if key.contains('.') && !key.contains("::") {
        return Err(format!(
            "write the levels of {key:?} with :: (--set={}={value})",
            key.replace('.', "::")
        ));
    }
    let levels: Vec<&str> = key.split("::").collect();
    if levels.iter().any(|l| l.trim().is_empty()) {
        return Err(format!("{key:?} has an empty level; write key::path=value"));
    }
    let mut tree: Value = serde_yaml_ng::from_str(value)
        .map_err(|e| format!("the value {value:?} is not valid YAML: {e}"))?;
    for level in levels.iter().rev() {
        let mut m = Mapping::new();
        m.insert(Value::String((*level).to_owned()), tree);
        tree = Value::Mapping(m);
    }
    Ok(tree)
}

/// Gives each error of the merged config to the source that supplied its key.
fn place(errors: Vec<ConfigError>, sources: &[Parsed]) -> Vec<ConfigErrors> {
    let mut out: Vec<ConfigErrors> = sources
        .iter()
        .map(|s| ConfigErrors {
            source_name: s.name.clone(),
            errors: Vec::new(),
        })
        .collect();
    for mut e in errors {
        let at = supplier(&e.path, sources);
        e.position = sources[at].text.as_ref().and_then(|(_, l)| l.find(&e.path));
        out[at].errors.push(e);
    }
    for o in &mut out {
        o.errors
            .sort_by_key(|e| e.position.unwrap_or((usize::MAX, 0)));
    }
    out.retain(|o| !o.errors.is_empty());
    out
}

/// The index of the last source holding `path`, else its nearest parent (the last source for
/// the root).
fn supplier(path: &str, sources: &[Parsed]) -> usize {
    let mut p = path;
    loop {
        if let Some(i) = sources.iter().rposition(|s| holds(&s.tree, p)) {
            return i;
        }
        match p.rfind(['.', '[']) {
            Some(cut) => p = &p[..cut],
            None if !p.is_empty() => p = "",
            None => return sources.len().saturating_sub(1),
        }
    }
}

/// True when `tree` has a value at dotted `path` (`a.b[2].c`).
fn holds(tree: &Value, path: &str) -> bool {
    if path.is_empty() {
        return true;
    }
    let mut at = tree;
    for part in path.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        let Some(next) = at.as_mapping().and_then(|m| m.get(key)) else {
            return false;
        };
        at = next;
        for index in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            let Some(next) = index
                .parse::<usize>()
                .ok()
                .and_then(|i| at.as_sequence()?.get(i))
            else {
                return false;
            };
            at = next;
        }
    }
    true
}

#[cfg(test)]
mod tests;
