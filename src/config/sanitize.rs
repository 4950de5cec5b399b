//! Sanitize-first for every pipeline: one that names no `redaction` processor gets
//! [`APPENDED`] as its last processor (weir's defaults, or the user's settings when the file
//! defines that id), unless it opts out with weir's key `service.pipelines.<id>.redaction: off`.
//! A processor that adds or copies values (`attributes`, `resource`, `enrich`) placed after a
//! `redaction` is an error naming both, so what it writes cannot leave unmasked.
//!
//! [`notes`] says what was done (for `weir validate`, `weir print-config` and the startup log);
//! nothing here fails.

use std::collections::BTreeMap;

use super::service::{PipelineConfig, PipelineRedaction};
use super::{ComponentId, ProcessorConfig};

/// The id of the `redaction` processor appended to a pipeline that names none.
pub const APPENDED: &str = "redaction/default";

/// Processor kinds that add or copy values, which must run before `redaction`.
const ADDS_VALUES: &[&str] = &["attributes", "resource", "enrich"];

fn appended_id() -> ComponentId {
    ComponentId {
        kind: "redaction".into(),
        name: Some("default".into()),
    }
}

/// Appends [`APPENDED`] where it is due (defining it with weir's defaults when the file does
/// not) and pushes an error for each value-adding processor placed after a `redaction`.
pub fn apply(
    processors: &mut BTreeMap<ComponentId, ProcessorConfig>,
    pipelines: &mut [PipelineConfig],
    errors: &mut Vec<(String, String)>,
) {
    for p in pipelines {
        let first_redaction = p.processors.iter().position(|id| id.kind == "redaction");
        match first_redaction {
            Some(at) => {
                let redaction = &p.processors[at];
                for (i, id) in p.processors.iter().enumerate().skip(at + 1) {
                    if ADDS_VALUES.contains(&id.kind.as_str()) {
                        errors.push((
                            format!("service.pipelines.{}.processors[{i}]", p.id),
                            format!(
                                "processor {id} adds or copies values after {redaction}, so \
                                 what it writes would leave unmasked: place it before {redaction}"
                            ),
                        ));
                    }
                }
                p.redaction = PipelineRedaction::Named;
            }
            None if p.redaction == PipelineRedaction::Off => {}
            None => {
                let id = appended_id();
                processors
                    .entry(id.clone())
                    .or_insert_with(|| ProcessorConfig::Redaction(Box::default()));
                p.processors.push(id);
                p.redaction = PipelineRedaction::Appended;
            }
        }
    }
}

/// `(path, message)` for each pipeline that got [`APPENDED`] or turned redaction off.
pub fn notes(pipelines: &[PipelineConfig]) -> Vec<(String, String)> {
    pipelines
        .iter()
        .filter_map(|p| {
            let path = format!("service.pipelines.{}", p.id);
            match p.redaction {
                PipelineRedaction::Appended => Some((
                    path,
                    format!(
                        "names no redaction processor: weir appended {APPENDED} as its last \
                         processor (sanitize-first); name a redaction processor to place it, or \
                         set redaction: off to export unmasked"
                    ),
                )),
                PipelineRedaction::Off => Some((
                    format!("{path}.redaction"),
                    "redaction is off: this pipeline exports values unmasked (secrets and \
                     personal data included)"
                        .into(),
                )),
                PipelineRedaction::Named => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use weir_pipeline::SignalKind;

    use super::*;

    fn id(text: &str) -> ComponentId {
        ComponentId::parse(text).expect("id")
    }

    fn pipeline(processors: &[&str], redaction: PipelineRedaction) -> PipelineConfig {
        PipelineConfig {
            id: "traces".into(),
            signal: SignalKind::Traces,
            receivers: vec![id("otlp")],
            processors: processors.iter().map(|p| id(p)).collect(),
            exporters: vec![id("debug")],
            redaction,
        }
    }

    #[test]
    fn a_pipeline_without_redaction_gets_the_default_appended_last() {
        let mut processors = BTreeMap::new();
        let mut ps = vec![pipeline(&["batch"], PipelineRedaction::Named)];
        let mut errors = Vec::new();
        apply(&mut processors, &mut ps, &mut errors);
        assert!(errors.is_empty());
        assert_eq!(ps[0].processors, [id("batch"), id(APPENDED)]);
        assert_eq!(ps[0].redaction, PipelineRedaction::Appended);
        assert!(matches!(
            processors.get(&id(APPENDED)),
            Some(ProcessorConfig::Redaction(r)) if **r == Default::default()
        ));
        let notes = notes(&ps);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].1.contains("appended redaction/default"));
    }

    #[test]
    fn off_appends_nothing_and_is_noted() {
        let mut processors = BTreeMap::new();
        let mut ps = vec![pipeline(&[], PipelineRedaction::Off)];
        apply(&mut processors, &mut ps, &mut Vec::new());
        assert!(ps[0].processors.is_empty());
        assert!(processors.is_empty());
        assert_eq!(notes(&ps)[0].0, "service.pipelines.traces.redaction");
    }

    #[test]
    fn value_adding_processors_after_redaction_are_errors_naming_both() {
        let mut processors = BTreeMap::new();
        let mut ps = vec![pipeline(
            &[
                "attributes",
                "redaction/x",
                "filter",
                "enrich",
                "resource/r",
            ],
            PipelineRedaction::Named,
        )];
        let mut errors = Vec::new();
        apply(&mut processors, &mut ps, &mut errors);
        let at: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            at,
            [
                "service.pipelines.traces.processors[3]",
                "service.pipelines.traces.processors[4]"
            ]
        );
        assert!(errors[0].1.contains("enrich") && errors[0].1.contains("redaction/x"));
        assert_eq!(ps[0].processors.len(), 5, "nothing appended");
        assert!(notes(&ps).is_empty());
    }
}
