//! What weir leaves out on purpose, refused with one clear message each: receivers of other
//! protocols ("weir takes OTLP only"), connectors, `profiles` pipelines, and the Collector's
//! removed `logging` exporter. The ids refused here are remembered like any other ids whose
//! definition is an error, so a pipeline naming them adds no second error.

use serde_yaml_ng::Value;

use super::components::Ids;
use super::key_text;

/// The message for a component of `kind` in `section` that weir does not have, when it is one
/// weir leaves out on purpose; `None` for anything else (a typo gets the usual suggestion).
pub fn refusal(section: &str, kind: &str, typo_hint: &str) -> Option<String> {
    match (section, kind) {
        ("exporters", "logging") => Some(
            "the logging exporter was removed from the Collector: use debug instead \
             (debug: { verbosity: basic | normal | detailed })"
                .into(),
        ),
        ("receivers", _) if typo_hint.is_empty() => Some(format!(
            "weir takes OTLP only: the {kind} receiver is not supported; send OTLP (gRPC or \
             HTTP) to the otlp receiver, from the application's SDK or from a Collector that \
             runs the {kind} receiver"
        )),
        _ => None,
    }
}

/// Refuses each connector of the `connectors` section once, and records its id as both a
/// receiver and an exporter already reported.
pub fn connectors(
    value: Value,
    receivers: &mut Ids,
    exporters: &mut Ids,
    errors: &mut Vec<(String, String)>,
) {
    let Value::Mapping(map) = value else {
        if !super::is_empty(&value) {
            errors.push((
                "connectors".into(),
                "weir takes OTLP only: connectors are not supported".into(),
            ));
        }
        return;
    };
    for (k, _) in map {
        let id = key_text(&k);
        errors.push((
            format!("connectors.{id}"),
            format!(
                "weir takes OTLP only: connectors are not supported ({id} joins pipelines inside \
                 the Collector); run it in a Collector that sends OTLP to weir"
            ),
        ));
        receivers.report(&id);
        exporters.report(&id);
    }
}

/// The message for a pipeline of the `profiles` signal.
pub const PROFILES: &str = "weir takes OTLP traces, metrics and logs only: profiles pipelines \
                            are not supported";
