//! The `service` section: pipelines, weir's own logs, and the admin listener.
//!
//! Every pipeline is checked against the components defined above it: an undefined id, or a
//! component that does not handle the pipeline's signal, is an error at its exact list position.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;
use serde_yaml_ng::Value;
use weir_pipeline::SignalKind;
use weir_pipeline::spec::Spec;

use super::ComponentId;
pub use super::admin::{AdminConfig, MAX_RECENT_INCIDENTS, MIN_OPS_TOKEN_LEN, OpsConfig};
use super::admin::{check_hosts, check_ops};
use super::collect::{Unchecked, join, read};
use super::components::{self, FieldError};
use super::suggest::{did_you_mean, hint};

/// The `service` section.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    /// Pipelines, in file order.
    pub pipelines: Vec<PipelineConfig>,
    /// weir's own telemetry.
    pub telemetry: TelemetryConfig,
    /// The admin listener (health and metrics).
    pub admin: AdminConfig,
    /// The extensions that run, in the order written (each defined under `extensions`).
    pub extensions: Vec<ComponentId>,
    /// At shutdown, how long weir may take, from the signal, to finish open requests and send
    /// what is queued; what is still queued then is counted as dropped (reason `shutdown`).
    /// Default: 30s.
    pub drain_timeout: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            pipelines: Vec::new(),
            telemetry: TelemetryConfig::default(),
            admin: AdminConfig::default(),
            extensions: Vec::new(),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// One pipeline: `service.pipelines.<signal>[/name]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// The pipeline id (`traces`, `logs/audit`).
    pub id: String,
    /// Its signal, from the id.
    pub signal: SignalKind,
    /// Receivers feeding it.
    pub receivers: Vec<ComponentId>,
    /// Processors, in order.
    pub processors: Vec<ComponentId>,
    /// Exporters it fans out to.
    pub exporters: Vec<ComponentId>,
    /// Where its redaction comes from (see `sanitize.rs`).
    pub redaction: PipelineRedaction,
}

/// How a pipeline is sanitized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PipelineRedaction {
    /// It names a `redaction` processor (or, before the loader's check, did not say).
    #[default]
    Named,
    /// weir appended `redaction/default` as its last processor.
    Appended,
    /// `redaction: off`: nothing masks what it exports.
    Off,
}

/// weir's pipeline key `redaction`: only `off` (or `false`) is meaningful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RedactionSwitch(bool);

impl<'de> Deserialize<'de> for RedactionSwitch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(b) => Ok(Self(b)),
            Raw::Text(t) if t == "off" => Ok(Self(false)),
            Raw::Text(t) if t == "on" => Ok(Self(true)),
            Raw::Text(t) => Err(serde::de::Error::custom(format!(
                "expected off or on, not {t:?}"
            ))),
        }
    }
}

/// `service.telemetry`: weir's own telemetry.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// weir's own logs.
    #[serde(default)]
    pub logs: LogsConfig,
    /// weir's own traces (off when absent). Configured here only: weir never reads
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, which belongs to the applications around it.
    #[serde(default)]
    pub traces: Option<SelfTracesConfig>,
    /// Where weir also serves its `/metrics` (`metrics:`, see `telemetry.rs`).
    #[serde(skip)]
    pub metrics: super::telemetry::MetricsTelemetry,
    /// Attributes describing this weir, on its own spans and `/metrics` (`resource:`).
    #[serde(skip)]
    pub resource: std::collections::BTreeMap<String, String>,
}

/// `service.telemetry.traces`: spans of weir's own work (receive → process → export), parented
/// on the request's `traceparent`, sent over OTLP/gRPC.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfTracesConfig {
    /// OTLP/gRPC endpoint for weir's spans: `http://host:port` (plaintext) or
    /// `https://host:port`. It may not be one of this weir's own receivers.
    pub endpoint: weir_exporters::shared::endpoint::GrpcEndpoint,
    /// Metadata sent with the spans (e.g. `authorization`); checked when read.
    #[serde(default)]
    pub headers: weir_exporters::otlp::Headers,
    /// Share of requests traced, 0 to 1 (default 1). A request whose `traceparent` says
    /// sampled is always traced.
    #[serde(default = "default_sampling_ratio")]
    pub sampling_ratio: f64,
}

fn default_sampling_ratio() -> f64 {
    1.0
}

/// `service.telemetry.logs`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    /// Level filter in env-filter syntax (`info`, `info,weir=debug`); `WEIR_LOG` overrides it.
    #[serde(default)]
    pub level: Option<String>,
    /// `json` (default) or `console` for a human at a terminal.
    #[serde(default)]
    pub encoding: LogEncoding,
}

/// How weir writes its own logs to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogEncoding {
    /// One JSON object per line.
    #[default]
    Json,
    /// Human-readable lines.
    Console,
}

/// A duration written as `30s`, `500ms`.
#[derive(Deserialize)]
struct DrainTimeout(#[serde(with = "humantime_serde")] Duration);

/// The component ids defined in the file.
pub struct Known<'a> {
    /// Receiver ids.
    pub receivers: Defined<'a>,
    /// Processor ids.
    pub processors: Defined<'a>,
    /// Exporter ids.
    pub exporters: Defined<'a>,
    /// Extension ids.
    pub extensions: Defined<'a>,
}

/// The ids of one component section.
#[derive(Default)]
pub struct Defined<'a> {
    /// Ids of a kind weir has (their settings may still have errors).
    pub ids: BTreeSet<&'a ComponentId>,
    /// Ids written as they are in the file whose definition is already an error (a kind weir
    /// does not have, a malformed id): a pipeline naming them adds no second error.
    pub reported: BTreeSet<&'a str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    #[serde(default)]
    receivers: Vec<String>,
    #[serde(default)]
    processors: Vec<String>,
    #[serde(default)]
    exporters: Vec<String>,
    /// weir: `off` exports this pipeline's data without the `redaction` weir would append.
    #[serde(default)]
    redaction: Option<RedactionSwitch>,
}

/// Reads `service`, pushing `(path, message)` for each problem; values at `unchecked` paths
/// (unexpanded variables) are not checked.
pub fn parse(
    value: Value,
    known: &Known<'_>,
    unchecked: &BTreeSet<String>,
    errors: &mut Vec<(String, String)>,
) -> ServiceConfig {
    let mut out = ServiceConfig::default();
    let mut map = match value {
        Value::Mapping(m) => m,
        Value::Null => {
            errors.push((
                "service".into(),
                "missing: a service section with at least one pipeline".into(),
            ));
            return out;
        }
        _ => {
            errors.push(("service".into(), "service must be a mapping".into()));
            return out;
        }
    };
    if let Some(v) = map.remove("extensions") {
        out.extensions = extension_list(v, &known.extensions, unchecked, errors);
    }
    if let Some(mut t) = map.remove("telemetry") {
        let mut taken = |key: &str| t.as_mapping_mut().and_then(|m| m.remove(key));
        let metrics = taken("metrics").map(|m| super::telemetry::metrics(m, unchecked, errors));
        let resource = taken("resource").map(|r| super::telemetry::resource(r, unchecked, errors));
        let (t, problems) =
            read::<TelemetryConfig>(t, Unchecked::new(unchecked, "service.telemetry")).partial();
        push_under("service.telemetry", problems, errors);
        if let Some(t) = t {
            {
                if let Some(tr) = &t.traces {
                    if !(0.0..=1.0).contains(&tr.sampling_ratio) {
                        errors.push((
                            "service.telemetry.traces.sampling_ratio".into(),
                            "must be between 0 and 1".into(),
                        ));
                    }
                    if !tr.endpoint.has_scheme() {
                        errors.push((
                            "service.telemetry.traces.endpoint".into(),
                            "write http://host:port or https://host:port (OTLP/gRPC)".into(),
                        ));
                    }
                }
                out.telemetry = TelemetryConfig {
                    metrics: metrics.unwrap_or_default(),
                    resource: resource.unwrap_or_default(),
                    ..t
                };
            }
        }
    }
    if let Some(d) = map.remove("drain_timeout") {
        match read::<DrainTimeout>(d, Unchecked::new(unchecked, "service.drain_timeout")).plain() {
            Ok(d) => out.drain_timeout = d.0,
            Err(problems) => errors.extend(
                problems
                    .into_iter()
                    .map(|(_, m)| ("service.drain_timeout".to_owned(), m)),
            ),
        }
    }
    if let Some(a) = map.remove("admin") {
        let (a, problems) =
            read::<AdminConfig>(a, Unchecked::new(unchecked, "service.admin")).partial();
        push_under("service.admin", problems, errors);
        if let Some(a) = a {
            {
                for (key, message) in check_ops(&a.ops) {
                    errors.push((format!("service.admin.ops.{key}"), message));
                }
                for (i, message) in check_hosts(&a.allowed_hosts) {
                    errors.push((format!("service.admin.allowed_hosts[{i}]"), message));
                }
                out.admin = a;
            }
        }
    }
    match map.remove("pipelines") {
        Some(Value::Mapping(pipelines)) if !pipelines.is_empty() => {
            for (k, v) in pipelines {
                let id = k.as_str().unwrap_or_default().to_owned();
                if let Some(p) = pipeline(&id, v, known, unchecked, errors) {
                    out.pipelines.push(p);
                }
            }
        }
        _ => errors.push((
            "service.pipelines".into(),
            "missing: at least one pipeline (traces, metrics or logs)".into(),
        )),
    }
    for (k, _) in map {
        let key = k.as_str().unwrap_or_default().to_owned();
        let suggestion = hint(
            &key,
            [
                "pipelines",
                "telemetry",
                "admin",
                "drain_timeout",
                "extensions",
            ],
        );
        errors.push((
            format!("service.{key}"),
            format!("unknown key {key:?}{suggestion}; expected pipelines, telemetry, admin, extensions or drain_timeout"),
        ));
    }
    out
}

fn pipeline(
    id: &str,
    value: Value,
    known: &Known<'_>,
    unchecked: &BTreeSet<String>,
    errors: &mut Vec<(String, String)>,
) -> Option<PipelineConfig> {
    let path = format!("service.pipelines.{id}");
    let signal_name = id.split('/').next().unwrap_or_default();
    if signal_name == "profiles" {
        errors.push((path, super::scope::PROFILES.into()));
        return None;
    }
    // An unknown signal is an error, and the pipeline's lists are still checked.
    let signal = SignalKind::parse(signal_name);
    if signal.is_none() {
        let suggestion = hint(signal_name, ["traces", "metrics", "logs"]);
        errors.push((
            path.clone(),
            format!("unknown signal {signal_name:?} in pipeline id {id:?}{suggestion}; use traces, metrics or logs (optionally /name)"),
        ));
    }
    let (raw, problems) = read::<RawPipeline>(value, Unchecked::new(unchecked, &path)).partial();
    push_under(&path, problems, errors);
    let raw = raw?;
    if raw.receivers.is_empty() {
        errors.push((
            format!("{path}.receivers"),
            "a pipeline needs at least one receiver".into(),
        ));
    }
    if raw.exporters.is_empty() {
        errors.push((
            format!("{path}.exporters"),
            "a pipeline needs at least one exporter".into(),
        ));
    }
    let lists = [
        (
            "receivers",
            &raw.receivers,
            &known.receivers,
            components::specs(components::RECEIVERS),
        ),
        (
            "processors",
            &raw.processors,
            &known.processors,
            components::specs(components::PROCESSORS),
        ),
        (
            "exporters",
            &raw.exporters,
            &known.exporters,
            components::specs(components::EXPORTERS),
        ),
    ];
    let mut resolved: Vec<Vec<ComponentId>> = Vec::new();
    for (section, ids, defined, kinds) in lists {
        let mut ok = Vec::new();
        for (i, text) in ids.iter().enumerate() {
            let at = format!("{path}.{section}[{i}]");
            match check(text, section, signal, defined, &kinds) {
                Ok(Some(id)) => ok.push(id),
                Ok(None) => {}
                Err(m) => errors.push((at, m)),
            }
        }
        resolved.push(ok);
    }
    let exporters = resolved.pop().unwrap_or_default();
    let processors = resolved.pop().unwrap_or_default();
    let receivers = resolved.pop().unwrap_or_default();
    Some(PipelineConfig {
        id: id.to_owned(),
        signal: signal?,
        receivers,
        processors,
        exporters,
        redaction: match raw.redaction {
            Some(RedactionSwitch(false)) => PipelineRedaction::Off,
            _ => PipelineRedaction::Named,
        },
    })
}

/// The id `text` names in a pipeline of `signal` (`None` when unknown), or why it cannot be
/// used; `Ok(None)` for an id whose definition is already reported.
fn check(
    text: &str,
    section: &str,
    signal: Option<SignalKind>,
    defined: &Defined<'_>,
    kinds: &[&'static Spec],
) -> Result<Option<ComponentId>, String> {
    if defined.reported.contains(text) {
        return Ok(None);
    }
    let singular = section.trim_end_matches('s');
    let id = ComponentId::parse(text)?;
    if !defined.ids.contains(&id) {
        let names: Vec<String> = defined
            .ids
            .iter()
            .map(|i| i.to_string())
            .chain(defined.reported.iter().map(|r| (*r).to_owned()))
            .collect();
        let hint = did_you_mean(text, names.iter().map(String::as_str));
        return Err(format!(
            "{singular} {text:?} is not defined under {section}{hint}"
        ));
    }
    if let Some(signal) = signal
        && let Some(kind) = kinds.iter().find(|k| k.answers_to(&id.kind))
        && !kind.signals.contains(&signal)
    {
        let takes: Vec<&str> = kind.signals.iter().map(|s| s.as_str()).collect();
        return Err(format!(
            "{singular} {text:?} does not handle {signal}; it takes {}",
            takes.join(", ")
        ));
    }
    Ok(Some(id))
}

/// Reads `service.extensions`: a list of defined extension ids, each at most once.
fn extension_list(
    value: Value,
    defined: &Defined<'_>,
    unchecked: &BTreeSet<String>,
    errors: &mut Vec<(String, String)>,
) -> Vec<ComponentId> {
    let (texts, problems) =
        read::<Vec<String>>(value, Unchecked::new(unchecked, "service.extensions")).partial();
    push_under("service.extensions", problems, errors);
    let mut out: Vec<ComponentId> = Vec::new();
    for (i, text) in texts.unwrap_or_default().iter().enumerate() {
        let path = format!("service.extensions[{i}]");
        match check(
            text,
            "extensions",
            None,
            defined,
            &components::specs(super::extensions::EXTENSIONS),
        ) {
            Ok(Some(id)) if out.contains(&id) => {
                errors.push((path, format!("extension {text:?} is listed twice")));
            }
            Ok(Some(id)) => out.push(id),
            Ok(None) => {}
            Err(message) => errors.push((path, message)),
        }
    }
    out
}

/// Pushes `problems` (paths relative to `base`) with their full paths.
fn push_under(base: &str, problems: Vec<FieldError>, errors: &mut Vec<(String, String)>) {
    errors.extend(problems.into_iter().map(|(p, m)| (join(base, &p), m)));
}
