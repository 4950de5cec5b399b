//! `weir components`: every receiver, processor, exporter and extension kind weir has, the signals each
//! takes and the other type names it answers to, as a table or as JSON. Read from the kind
//! specs the components declare, as the config loader reads them, so the list cannot drift
//! from what a config may name.
//! Nothing here fails.

use serde_json::{Value, json};

use weir_pipeline::spec::Spec;

use crate::config::components::{DEPRECATED_NAMES, EXPORTERS, PROCESSORS, RECEIVERS, specs};
use crate::config::extensions::EXTENSIONS;

/// The specs of the kind tables, by role.
fn roles() -> [(&'static str, Vec<&'static Spec>); 4] {
    [
        ("receiver", specs(RECEIVERS)),
        ("processor", specs(PROCESSORS)),
        ("exporter", specs(EXPORTERS)),
        ("extension", specs(EXTENSIONS)),
    ]
}

fn signals(kind: &Spec) -> Vec<&'static str> {
    kind.signals.iter().map(|s| s.as_str()).collect()
}

/// One line per kind: role, type, signals, aliases.
pub fn table() -> String {
    let mut out = format!(
        "{:<10} {:<24} {:<22} {}\n",
        "ROLE", "TYPE", "SIGNALS", "ALIASES"
    );
    for (role, kinds) in roles() {
        for k in kinds {
            let aliases = if k.aliases.is_empty() {
                "-".to_owned()
            } else {
                let shown: Vec<String> = k.aliases.iter().map(|a| marked(a)).collect();
                shown.join(", ")
            };
            let signals = match signals(k).join(", ") {
                s if s.is_empty() => "-".to_owned(),
                s => s,
            };
            let line = format!("{role:<10} {:<24} {signals:<22} {aliases}", k.name);
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// An alias as the table shows it: `otlp (deprecated)` for the Collector's older names.
fn marked(alias: &str) -> String {
    if DEPRECATED_NAMES.contains(&alias) {
        format!("{alias} (deprecated)")
    } else {
        alias.to_owned()
    }
}

/// `{"receivers": [{"type", "signals", "aliases", "deprecated_aliases"}…], "processors": […],
/// "exporters": […], "extensions": […]}` (an extension's signals are empty).
pub fn json() -> Value {
    let mut out = serde_json::Map::new();
    for (role, kinds) in roles() {
        let list: Vec<Value> = kinds
            .iter()
            .map(|k| {
                let deprecated: Vec<&str> = k
                    .aliases
                    .iter()
                    .copied()
                    .filter(|a| DEPRECATED_NAMES.contains(a))
                    .collect();
                json!({
                    "type": k.name,
                    "signals": signals(k),
                    "aliases": k.aliases,
                    "deprecated_aliases": deprecated,
                })
            })
            .collect();
        out.insert(format!("{role}s"), Value::Array(list));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_with_its_signals_and_aliases() {
        let j = json();
        let exporters = j["exporters"].as_array().expect("exporters");
        assert_eq!(exporters.len(), EXPORTERS.len());
        let otlp = exporters
            .iter()
            .find(|e| e["type"] == "otlp_grpc")
            .expect("otlp_grpc");
        assert_eq!(otlp["aliases"], json!(["otlp"]));
        assert_eq!(otlp["deprecated_aliases"], json!(["otlp"]));
        let loki = exporters
            .iter()
            .find(|e| e["type"] == "loki")
            .expect("loki");
        assert_eq!(loki["signals"], json!(["logs"]));
        assert_eq!(
            j["processors"].as_array().map(Vec::len),
            Some(PROCESSORS.len())
        );
        let t = table();
        assert_eq!(
            t.lines().count(),
            1 + RECEIVERS.len() + PROCESSORS.len() + EXPORTERS.len() + EXTENSIONS.len()
        );
        assert!(
            t.lines()
                .any(|l| l.starts_with("extension") && l.contains("file_storage")),
            "{t}"
        );
        assert_eq!(
            j["extensions"].as_array().map(Vec::len),
            Some(EXTENSIONS.len())
        );
        assert!(
            t.lines().any(|l| l.starts_with("exporter")
                && l.contains("otlp_http")
                && l.ends_with("otlphttp (deprecated)")),
            "{t}"
        );
    }
}
