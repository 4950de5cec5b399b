//! `weir print-config`: the effective config as YAML — the sources merged, `${env:…}`
//! expanded, and a `batch` processor shown where weir applies it, as `sending_queue.batch` on
//! each exporter of its pipelines that sets no batching of its own — with secrets replaced by
//! `[REDACTED]` (see [`crate::config::secrets`]) unless asked otherwise.
//!
//! It prints only a valid config (the caller reports the errors of an invalid one); nothing
//! here fails.

use serde_yaml_ng::{Mapping, Value};
use weir_pipeline::queue::QueueBatchConfig;

use crate::config::service::PipelineRedaction;
use crate::config::sources::Loaded;
use crate::config::{Env, expand, sanitize, secrets};

/// The effective config of `loaded` as YAML, preceded by comment lines saying what was done.
pub fn render(loaded: &Loaded, env: &dyn Env, unredacted: bool) -> String {
    let mut tree = loaded.merged.clone();
    // Already expanded once without errors by the loader; the same result here.
    expand::expand_tree(&mut tree, "", env, &mut Vec::new(), None);
    let mut notes = Vec::new();
    for (id, cfg) in &loaded.config.exporters {
        let Some((queue, at)) = cfg.queue_at(&id.kind) else {
            continue;
        };
        let Some(batch) = &queue.batch else {
            continue;
        };
        let id_text = id.to_string();
        let written = at
            .iter()
            .try_fold(&loaded.merged["exporters"][id_text.as_str()], |v, k| {
                v.get(*k)
            })
            .and_then(|q| q.get("batch"));
        if written.is_some() {
            continue;
        }
        let mut slot = child(child(&mut tree, "exporters"), &id_text);
        for key in at {
            slot = child(slot, key);
        }
        *child(slot, "batch") = batch_value(batch);
        notes.push(format!(
            "#   exporters.{id_text}.{}.batch comes from the batch processor of its pipeline",
            at.join(".")
        ));
    }
    let appended = appended_redaction(&mut tree, loaded);
    if !unredacted {
        secrets::redact(&mut tree);
    }
    let mut out = String::from(
        "# The effective config: files merged in order, --set applied, ${env:…} expanded.\n",
    );
    if unredacted {
        out.push_str("# Secrets are shown as they are (--unredacted).\n");
    } else {
        out.push_str("# Secrets are shown as [REDACTED]; --unredacted shows them.\n");
    }
    if !notes.is_empty() {
        out.push_str("# weir batches in each exporter's queue:\n");
        for n in notes {
            out.push_str(&n);
            out.push('\n');
        }
    }
    if !appended.is_empty() {
        out.push_str("# weir sanitizes first:\n");
        for n in appended {
            out.push_str(&n);
            out.push('\n');
        }
    }
    match serde_yaml_ng::to_string(&tree) {
        Ok(yaml) => out.push_str(&yaml),
        Err(e) => out.push_str(&format!("# cannot print the config as YAML: {e}\n")),
    }
    out
}

/// Shows in `tree` the `redaction` weir appended to pipelines that name none (defining
/// `redaction/default: {}` when the files do not), and returns a comment line per pipeline
/// appended to or turned off.
fn appended_redaction(tree: &mut Value, loaded: &Loaded) -> Vec<String> {
    let pipelines = &loaded.config.service.pipelines;
    let mut notes = Vec::new();
    for p in pipelines {
        match p.redaction {
            PipelineRedaction::Appended => {
                let list = child(
                    child(child(child(tree, "service"), "pipelines"), &p.id),
                    "processors",
                );
                if !list.is_sequence() {
                    *list = Value::Sequence(Vec::new());
                }
                if let Value::Sequence(s) = list {
                    s.push(sanitize::APPENDED.into());
                }
                notes.push(format!(
                    "#   service.pipelines.{}: {} appended (the pipeline names no redaction)",
                    p.id,
                    sanitize::APPENDED
                ));
            }
            PipelineRedaction::Off => notes.push(format!(
                "#   service.pipelines.{}: redaction: off, its data leaves unmasked",
                p.id
            )),
            PipelineRedaction::Named => {}
        }
    }
    if pipelines
        .iter()
        .any(|p| p.redaction == PipelineRedaction::Appended)
    {
        let slot = child(child(tree, "processors"), sanitize::APPENDED);
        if slot.is_null() {
            *slot = Value::Mapping(Mapping::new());
        }
    }
    notes
}

/// `sending_queue.batch` as a user would write it.
fn batch_value(b: &QueueBatchConfig) -> Value {
    let mut m = Mapping::new();
    let timeout = humantime_serde::re::humantime::format_duration(b.flush_timeout);
    m.insert("flush_timeout".into(), timeout.to_string().into());
    m.insert("min_size".into(), b.min_size.into());
    m.insert("max_size".into(), b.max_size.into());
    m.insert("sizer".into(), "items".into());
    Value::Mapping(m)
}

/// The value at `key` under `v` (null when absent), `v` made a mapping when it is not one.
fn child<'a>(v: &'a mut Value, key: &str) -> &'a mut Value {
    if !v.is_mapping() {
        *v = Value::Mapping(Mapping::new());
    }
    &mut v[key]
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::sources::Sources;

    #[test]
    fn batch_is_shown_on_the_exporters_and_secrets_are_hidden() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("w.yaml");
        std::fs::write(
            &path,
            "receivers:\n  otlp:\n    protocols:\n      http: { endpoint: 127.0.0.1:4318 }\n\
             processors:\n  batch: { timeout: 2s, send_batch_size: 100 }\n\
             exporters:\n  otlphttp:\n    endpoint: ${env:TEMPO}\n    headers: { Authorization: Bearer abc }\n\
             service:\n  pipelines:\n    traces: { receivers: [otlp], processors: [batch], exporters: [otlphttp] }\n",
        )
        .expect("write");
        let env = HashMap::from([("TEMPO".to_owned(), "https://u:pw@tempo:4318".to_owned())]);
        let loaded = Sources {
            files: vec![path],
            sets: vec![],
        }
        .load(&env)
        .expect("valid");
        let text = render(&loaded, &env, false);
        let printed: Value = serde_yaml_ng::from_str(&text).expect("yaml");
        let e = &printed["exporters"]["otlphttp"];
        assert_eq!(e["endpoint"], "https://[REDACTED]@tempo:4318");
        assert_eq!(e["headers"]["Authorization"], "[REDACTED]");
        assert_eq!(e["sending_queue"]["batch"]["flush_timeout"], "2s");
        assert_eq!(e["sending_queue"]["batch"]["min_size"], 100);
        assert!(
            text.contains("exporters.otlphttp.sending_queue.batch"),
            "{text}"
        );
        assert!(
            !text.contains("pw@") && !text.contains("Bearer abc"),
            "{text}"
        );

        assert_eq!(
            printed["service"]["pipelines"]["traces"]["processors"],
            serde_yaml_ng::from_str::<Value>("[batch, redaction/default]").expect("yaml")
        );
        assert!(printed["processors"]["redaction/default"].is_mapping());
        assert!(text.contains("redaction/default appended"), "{text}");

        let shown = render(&loaded, &env, true);
        assert!(shown.contains("https://u:pw@tempo:4318") && shown.contains("Bearer abc"));
    }
}
