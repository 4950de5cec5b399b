use std::collections::HashMap;
use std::path::Path;

use super::*;

fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).expect("yaml")
}

fn env() -> HashMap<String, String> {
    HashMap::new()
}

const BASE: &str = "\
receivers:
  otlp:
    protocols:
      http: { endpoint: 127.0.0.1:4318 }
exporters:
  debug: { verbosity: basic }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn maps_merge_recursively_and_later_values_and_lists_replace() {
    let mut v = yaml("a: { b: 1, c: [1, 2, 3], d: { e: x } }\nkeep: 1\n");
    merge(
        &mut v,
        yaml("a: { b: 2, c: [9], d: { f: y } }\nnew: { x: 1 }\n"),
    );
    assert_eq!(
        v,
        yaml("a: { b: 2, c: [9], d: { e: x, f: y } }\nkeep: 1\nnew: { x: 1 }\n")
    );
    merge(&mut v, yaml("a: null\n"));
    assert_eq!(v["a"], Value::Null);
}

#[test]
fn set_uses_the_collectors_syntax_and_reads_yaml_values() {
    assert_eq!(
        parse_set("processors::batch::timeout=2s"),
        Ok(yaml("processors: { batch: { timeout: 2s } }"))
    );
    assert_eq!(
        parse_set("service::pipelines::traces::exporters=[debug, otlp]"),
        Ok(yaml(
            "service: { pipelines: { traces: { exporters: [debug, otlp] } } }"
        ))
    );
    assert_eq!(
        parse_set("exporters::debug::verbosity=a=b"),
        Ok(yaml("exporters: { debug: { verbosity: a=b } }"))
    );
    assert_eq!(parse_set("x::n=5"), Ok(yaml("x: { n: 5 }")));
    assert_eq!(parse_set("x::n="), Ok(yaml("x: { n: null }")));
}

#[test]
fn bad_sets_say_what_to_write() {
    assert!(
        parse_set("novalue")
            .expect_err("no =")
            .contains("key::path=value")
    );
    let dotted = parse_set("processors.batch.timeout=2s").expect_err("dots");
    assert!(
        dotted.contains("--set=processors::batch::timeout=2s"),
        "{dotted}"
    );
    assert!(
        parse_set("a::::b=1")
            .expect_err("empty")
            .contains("empty level")
    );
    assert!(
        parse_set("a::b=[1")
            .expect_err("yaml")
            .contains("not valid YAML")
    );
}

#[test]
fn several_files_and_sets_make_one_config() {
    let dir = tempfile::tempdir().expect("dir");
    let base = write(dir.path(), "base.yaml", BASE);
    let more = write(
        dir.path(),
        "more.yaml",
        "exporters:\n  debug: { verbosity: detailed }\nprocessors:\n  batch: {}\n",
    );
    let sources = Sources {
        files: vec![base, more],
        sets: vec!["processors::batch::timeout=2s".into()],
    };
    let loaded = sources.load(&env()).expect("valid");
    assert_eq!(loaded.merged["exporters"]["debug"]["verbosity"], "detailed");
    assert_eq!(loaded.merged["processors"]["batch"]["timeout"], "2s");
    assert_eq!(
        batch_timeout(&loaded.config),
        Some(std::time::Duration::from_secs(2))
    );
}

/// The timeout of processor `batch`.
fn batch_timeout(config: &Config) -> Option<std::time::Duration> {
    let id = super::super::ComponentId::parse("batch").ok()?;
    match config.processors.get(&id)? {
        super::super::ProcessorConfig::Batch(b) => Some(b.timeout),
        _ => None,
    }
}

#[test]
fn errors_name_the_file_and_line_that_supplied_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    let base = write(dir.path(), "base.yaml", BASE);
    let more = write(
        dir.path(),
        "more.yaml",
        "# an override\nexporters:\n  debug:\n    verbosity: loud\n",
    );
    let sources = Sources {
        files: vec![base.clone(), more.clone()],
        sets: vec!["receivers::otlp::protocols::http::bogus=1".into()],
    };
    let errors = sources.load(&env()).expect_err("invalid").0;
    let names: Vec<&str> = errors.iter().map(|e| e.source_name.as_str()).collect();
    let more_name = more.display().to_string();
    assert_eq!(
        names,
        [
            more_name.as_str(),
            "--set receivers::otlp::protocols::http::bogus=1"
        ]
    );
    assert_eq!(errors[0].errors[0].path, "exporters.debug.verbosity");
    assert_eq!(errors[0].errors[0].position, Some((4, 5)));
    assert_eq!(errors[1].errors[0].position, None);
    assert!(
        errors[1].errors[0].path.ends_with("bogus"),
        "{:?}",
        errors[1]
    );
    // An error under a key only the first file has stays in the first file.
    let sources = Sources {
        files: vec![base.clone(), more],
        sets: vec!["service::pipelines::traces::exporters=[nope]".into()],
    };
    let errors = sources.load(&env()).expect_err("invalid").0;
    assert!(
        errors
            .iter()
            .any(|e| e.source_name.starts_with("--set service")
                && e.errors[0]
                    .path
                    .starts_with("service.pipelines.traces.exporters")),
        "{errors:?}"
    );
}

#[test]
fn a_syntax_error_or_a_missing_file_is_reported_per_file() {
    let dir = tempfile::tempdir().expect("dir");
    let good = write(dir.path(), "good.yaml", BASE);
    let bad = write(dir.path(), "bad.yaml", "a: [1\n");
    let sources = Sources {
        files: vec![good, bad.clone(), dir.path().join("missing.yaml")],
        sets: vec![],
    };
    let errors = sources.load(&env()).expect_err("invalid").0;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].source_name, bad.display().to_string());
    assert!(errors[0].errors[0].message.contains("YAML syntax"));
    assert!(errors[1].errors[0].message.contains("cannot read the file"));
}

#[test]
fn no_file_means_the_default_pipeline_and_sets_apply_to_it() {
    let sources = Sources {
        files: vec![],
        sets: vec!["exporters::debug::verbosity=basic".into()],
    };
    let loaded = sources.load(&env()).expect("valid");
    assert_eq!(loaded.merged["exporters"]["debug"]["verbosity"], "basic");
    assert!(!loaded.config.service.pipelines.is_empty());
}
