//! weir's config: the OpenTelemetry Collector's YAML shape, read and validated before anything
//! starts.
//!
//! Loading is pure (no network, no files opened other than the config itself, nothing spawned):
//! parse the YAML (a syntax error names its line and column), expand `${env:…}` in scalar values,
//! read each component on its own so that every error is reported at once with its dotted path
//! and position, then check the pipelines. The result is a [`Config`] or [`ConfigErrors`].

pub mod admin;
pub mod batch;
pub mod components;
mod error;
pub mod expand;
mod locate;
pub mod secrets;
pub mod service;
pub mod sources;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

pub use components::{ExporterConfig, ProcessorConfig, ReceiverConfig};
pub use error::{ConfigError, ConfigErrors};
pub use expand::{Env, ProcessEnv};
pub use service::{PipelineConfig, ServiceConfig};

use components::Kind;
use locate::Locations;

/// The default pipeline, used by `weir run` without `--config`.
pub const DEFAULT_CONFIG: &str = include_str!("../../examples/default.yaml");

/// A component id: `type` or `type/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ComponentId {
    /// The kind (`otlp`, `debug`).
    pub kind: String,
    /// The optional name after `/`.
    pub name: Option<String>,
}

impl ComponentId {
    /// Parses `type[/name]`; the type is lower-case letters, digits and `_`, the name non-empty.
    pub fn parse(id: &str) -> Result<Self, String> {
        let (kind, name) = match id.split_once('/') {
            Some((k, n)) => (k, Some(n)),
            None => (id, None),
        };
        let kind_ok = kind.starts_with(|c: char| c.is_ascii_lowercase())
            && kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !kind_ok {
            return Err(format!(
                "bad component id {id:?}: the type must be lower-case letters, digits and _"
            ));
        }
        if name.is_some_and(|n| n.is_empty() || n.contains('/')) {
            return Err(format!(
                "bad component id {id:?}: write type/name with a non-empty name"
            ));
        }
        Ok(Self {
            kind: kind.to_owned(),
            name: name.map(str::to_owned),
        })
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{}/{n}", self.kind),
            None => f.write_str(&self.kind),
        }
    }
}

/// A validated config.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Receivers by id.
    pub receivers: BTreeMap<ComponentId, ReceiverConfig>,
    /// Processors by id.
    pub processors: BTreeMap<ComponentId, ProcessorConfig>,
    /// Exporters by id.
    pub exporters: BTreeMap<ComponentId, ExporterConfig>,
    /// Pipelines and weir's own settings.
    pub service: ServiceConfig,
}

/// Reads and validates the config file at `path`.
pub fn load_file(path: &Path, env: &dyn Env) -> Result<Config, ConfigErrors> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
        source_name: name.clone(),
        errors: vec![ConfigError {
            path: String::new(),
            position: None,
            message: format!("cannot read the file: {e}"),
        }],
    })?;
    load_str(&text, &name, env)
}

/// Reads and validates config `text`; `source_name` names it in errors.
pub fn load_str(text: &str, source_name: &str, env: &dyn Env) -> Result<Config, ConfigErrors> {
    let fail = |errors: Vec<ConfigError>| ConfigErrors {
        source_name: source_name.to_owned(),
        errors,
    };
    let locations = Locations::index(text);
    let mut root: Value = serde_yaml_ng::from_str(text).map_err(|e| {
        // serde_yaml_ng gives no position for a file of several documents (nor for a few
        // malformed files it reports as such): point at the second document, or else say what
        // the index's parser found and where, or else at the start of the file.
        let (position, message) = match (
            e.location(),
            locations.second_document(),
            locations.syntax_error(),
        ) {
            (Some(l), ..) => (Some((l.line(), l.column())), e.to_string()),
            (None, Some(second), _) => (Some(second), e.to_string()),
            (None, None, Some((at, why))) => (Some(at), why.to_owned()),
            // The parsers disagree about the text: the file as a whole.
            (None, None, None) => (Some((1, 1)), e.to_string()),
        };
        fail(vec![ConfigError {
            path: String::new(),
            position,
            message: format!("YAML syntax: {message}"),
        }])
    })?;
    let mut raw: Vec<(String, String)> = Vec::new();
    expand::expand_tree(&mut root, "", env, &mut raw);

    let mut top = match root {
        Value::Mapping(m) => m,
        Value::Null => Mapping::new(),
        _ => {
            raw.push((
                String::new(),
                "the config must be a mapping with receivers, exporters and service".into(),
            ));
            Mapping::new()
        }
    };
    let mut section = |name: &str| top.remove(name).unwrap_or(Value::Null);
    let receivers_v = section("receivers");
    let processors_v = section("processors");
    let exporters_v = section("exporters");
    let service_v = section("service");
    for unsupported in ["extensions", "connectors"] {
        if let Some(v) = top.remove(unsupported)
            && !is_empty(&v)
        {
            raw.push((
                unsupported.into(),
                format!("not supported by weir: {unsupported}"),
            ));
        }
    }
    for (k, _) in top {
        let key = key_text(&k);
        raw.push((key.clone(), format!("unknown top-level key {key:?}; expected receivers, processors, exporters or service")));
    }

    // Ids are "defined" even when their settings have errors, so a pipeline naming them does
    // not add a second, misleading error.
    let (mut r_ids, mut p_ids, mut e_ids) = (Vec::new(), Vec::new(), Vec::new());
    let receivers = components(
        "receivers",
        receivers_v,
        components::RECEIVERS,
        ReceiverConfig::parse,
        &mut r_ids,
        &mut raw,
    );
    let processors = components(
        "processors",
        processors_v,
        components::PROCESSORS,
        ProcessorConfig::parse,
        &mut p_ids,
        &mut raw,
    );
    let exporters = components(
        "exporters",
        exporters_v,
        components::EXPORTERS,
        ExporterConfig::parse,
        &mut e_ids,
        &mut raw,
    );
    let kinds = service::Known {
        receivers: r_ids.iter().collect(),
        processors: p_ids.iter().collect(),
        exporters: e_ids.iter().collect(),
    };
    let service = service::parse(service_v, &kinds, &mut raw);
    raw.extend(crate::memory::config::conflicts(
        &processors,
        &service.pipelines,
    ));
    if let Some(t) = &service.telemetry.traces {
        for (id, ReceiverConfig::Otlp(r)) in &receivers {
            let own = [
                r.protocols.grpc.as_ref().map(|g| g.endpoint.as_str()),
                r.protocols.http.as_ref().map(|h| h.endpoint.as_str()),
            ];
            if own
                .into_iter()
                .flatten()
                .any(|e| same_listener(&t.endpoint, e))
            {
                raw.push((
                    "service.telemetry.traces.endpoint".into(),
                    format!("points at this weir's own receiver {id}: weir never sends its own telemetry into its own receivers"),
                ));
            }
        }
    }

    for (id, ReceiverConfig::Otlp(r)) in &receivers {
        let intake = r
            .protocols
            .http
            .as_ref()
            .is_some_and(|h| h.frontend_log.enabled);
        let feeds_logs = service
            .pipelines
            .iter()
            .any(|p| p.signal == weir_pipeline::SignalKind::Logs && p.receivers.contains(id));
        if intake && !feeds_logs {
            raw.push((
                format!("receivers.{id}.protocols.http.frontend_log.enabled"),
                format!("the intake makes logs, but receiver {id} feeds no logs pipeline"),
            ));
        }
    }

    if raw.is_empty() {
        return Ok(Config {
            receivers,
            processors,
            exporters,
            service,
        });
    }
    let mut errors: Vec<ConfigError> = raw
        .into_iter()
        .map(|(path, message)| ConfigError {
            // A whole-file error the index cannot place (its parser refused the text that
            // serde_yaml_ng read) points at the start of the file.
            position: locations
                .find(&path)
                .or_else(|| path.is_empty().then_some((1, 1))),
            path,
            message,
        })
        .collect();
    errors.sort_by_key(|e| e.position.unwrap_or((usize::MAX, 0)));
    Err(fail(errors))
}

/// True when `url` (`http://host:port`) reaches the listener bound at `endpoint` (`host:port`):
/// same port, and the same host or a wildcard or loopback one.
fn same_listener(url: &str, endpoint: &str) -> bool {
    let target = url.split("://").nth(1).unwrap_or(url).trim_end_matches('/');
    let split = |s: &str| {
        s.rsplit_once(':')
            .map(|(h, p)| (h.trim_matches(['[', ']']).to_owned(), p.to_owned()))
    };
    let (Some((th, tp)), Some((lh, lp))) = (split(target), split(endpoint)) else {
        return false;
    };
    let local = |h: &str| matches!(h, "0.0.0.0" | "::" | "localhost" | "127.0.0.1" | "::1" | "");
    tp == lp
        && tp != "0"
        && (th == lh || (local(&th) && local(&lh)) || lh == "0.0.0.0" || lh == "::")
}

/// True for null, `{}` and `[]`.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Mapping(m) => m.is_empty(),
        Value::Sequence(s) => s.is_empty(),
        _ => false,
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
    }
}

/// Reads one of the component sections, collecting every error.
fn components<T>(
    section: &str,
    value: Value,
    kinds: &[Kind],
    parse: fn(&str, Value) -> Result<T, Vec<components::FieldError>>,
    defined: &mut Vec<ComponentId>,
    errors: &mut Vec<(String, String)>,
) -> BTreeMap<ComponentId, T> {
    let mut out = BTreeMap::new();
    let map = match value {
        Value::Null => return out,
        Value::Mapping(m) => m,
        _ => {
            errors.push((
                section.into(),
                format!("{section} must be a mapping of component ids to their settings"),
            ));
            return out;
        }
    };
    let singular = section.trim_end_matches('s');
    for (k, v) in map {
        let id_text = key_text(&k);
        let path = format!("{section}.{id_text}");
        let id = match ComponentId::parse(&id_text) {
            Ok(id) => id,
            Err(e) => {
                errors.push((path, e));
                continue;
            }
        };
        let Some(kind) = Kind::named(kinds, &id.kind) else {
            let have: Vec<&str> = kinds.iter().map(|k| k.name).collect();
            errors.push((
                path,
                format!(
                    "unknown {singular} type {:?}; weir has: {}",
                    id.kind,
                    have.join(", ")
                ),
            ));
            continue;
        };
        defined.push(id.clone());
        let mut bad = false;
        for key in kind.unsupported {
            if lookup(&v, key).is_some() {
                errors.push((
                    format!("{path}.{key}"),
                    format!("not supported by weir: {key}"),
                ));
                bad = true;
            }
        }
        if bad {
            continue;
        }
        match parse(kind.name, v) {
            Ok(cfg) => {
                out.insert(id, cfg);
            }
            Err(problems) => {
                for (field, message) in problems {
                    let full = if field.is_empty() {
                        path.clone()
                    } else {
                        format!("{path}.{field}")
                    };
                    errors.push((full, message));
                }
            }
        }
    }
    out
}

/// The value at dotted `path` under `v`.
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |v, key| v.as_mapping()?.get(key))
}
