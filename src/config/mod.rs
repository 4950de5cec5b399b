//! weir's config: the OpenTelemetry Collector's YAML shape, read and validated before anything
//! starts.
//!
//! Loading is pure (no network, no files opened other than the config itself, nothing spawned):
//! parse the YAML (a syntax error names its line and column), expand `${env:…}` in scalar values,
//! read each component on its own so that every error is reported at once with its dotted path
//! and position, then check the pipelines. The result is a [`Config`] or [`ConfigErrors`].
//! [`check_str`] adds what `weir validate` asks for: unset variables as warnings, and output
//! files checked against the filesystem (metadata only; nothing is created).

pub mod admin;
pub mod batch;
mod collect;
pub mod components;
mod error;
pub mod expand;
pub mod extensions;
mod locate;
mod outputs;
pub mod sanitize;
mod scope;
pub mod secrets;
pub mod service;
pub mod sources;
mod suggest;
pub mod telemetry;
pub mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

pub use components::{ExporterConfig, ProcessorConfig, ReceiverConfig};
pub use error::{ConfigError, ConfigErrors, Warnings};
pub use expand::{Env, ProcessEnv};
pub use extensions::ExtensionConfig;
pub use service::{PipelineConfig, ServiceConfig};

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
    /// Extensions by id (those `service.extensions` lists run).
    pub extensions: BTreeMap<ComponentId, ExtensionConfig>,
    /// Pipelines and weir's own settings.
    pub service: ServiceConfig,
}

/// What is checked beyond the config itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// A variable that is not set (and has no default) is a warning, once per variable, and the
    /// values using it are not checked; the config is then for checking only (those values
    /// hold the text as written, and a component that cannot be read without them is left out).
    pub skip_env: bool,
    /// Files weir would write (the `debug` exporter's `path`) must be in an existing, writable
    /// directory.
    pub output_paths: bool,
}

/// A config checked with [`Options`]: the config or every error, and the warnings.
#[derive(Debug)]
pub struct Checked {
    /// The config, or every error in it.
    pub result: Result<Config, ConfigErrors>,
    /// Problems that do not make the config invalid (unset variables under `skip_env`), in
    /// file order.
    pub warnings: Vec<ConfigError>,
}

/// Reads and validates the config file at `path`.
pub fn load_file(path: &Path, env: &dyn Env) -> Result<Config, ConfigErrors> {
    check_file(path, env, Options::default()).result
}

/// Reads and validates config `text`; `source_name` names it in errors.
pub fn load_str(text: &str, source_name: &str, env: &dyn Env) -> Result<Config, ConfigErrors> {
    check_str(text, source_name, env, Options::default()).result
}

/// [`check_str`] on the file at `path`.
pub fn check_file(path: &Path, env: &dyn Env, options: Options) -> Checked {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => check_str(&text, &name, env, options),
        Err(e) => Checked {
            result: Err(ConfigErrors {
                source_name: name,
                errors: vec![ConfigError {
                    path: String::new(),
                    position: None,
                    message: format!("cannot read the file: {e}"),
                }],
            }),
            warnings: Vec::new(),
        },
    }
}

/// Reads and validates config `text` as `options` say; `source_name` names it in errors.
pub fn check_str(text: &str, source_name: &str, env: &dyn Env, options: Options) -> Checked {
    let locations = Locations::index(text);
    let mut unset = expand::Unset::new();
    let mut raw = Vec::new();
    let loaded = load(
        text,
        source_name,
        &locations,
        env,
        options,
        &mut unset,
        &mut raw,
    );
    let place = |(path, message): (String, String)| ConfigError {
        // A whole-file error the index cannot place (its parser refused the text that
        // serde_yaml_ng read) points at the start of the file.
        position: locations
            .find(&path)
            .or_else(|| path.is_empty().then_some((1, 1))),
        path,
        message,
    };
    let mut warnings: Vec<ConfigError> = unset_warnings(&unset).into_iter().map(place).collect();
    if let Ok(config) = &loaded {
        warnings.extend(replaced_extensions(config).into_iter().map(place));
        warnings.extend(
            sanitize::notes(&config.service.pipelines)
                .into_iter()
                .map(place),
        );
    }
    let result = match loaded {
        Err(e) => Err(e),
        Ok(config) if raw.is_empty() => Ok(config),
        Ok(_) => {
            let mut errors: Vec<ConfigError> = raw.into_iter().map(place).collect();
            errors.sort_by_key(|e| e.position.unwrap_or((usize::MAX, 0)));
            Err(ConfigErrors {
                source_name: source_name.to_owned(),
                errors,
            })
        }
    };
    Checked { result, warnings }
}

/// One warning per listed extension that weir accepts but does not run.
pub fn replaced_extensions(config: &Config) -> Vec<(String, String)> {
    config
        .service
        .extensions
        .iter()
        .filter_map(|id| {
            let instead = config.extensions.get(id)?.replaced_by()?;
            Some((
                format!("extensions.{id}"),
                format!("extension {id} is accepted but not run: {instead}"),
            ))
        })
        .collect()
}

/// One warning per unset variable, at its first use.
fn unset_warnings(unset: &expand::Unset) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (name, path) in unset {
        if seen.contains(&name.as_str()) {
            continue;
        }
        seen.push(name);
        let uses = unset.iter().filter(|(n, _)| n == name).count();
        let more = match uses {
            1 => String::new(),
            n => format!(" (used in {n} values)"),
        };
        out.push((
            path.clone(),
            format!(
                "environment variable {name} is not set{more}; the values using it were not checked"
            ),
        ));
    }
    out
}

/// Reads `text` into a config, pushing `(path, message)` for each problem to `raw` (a syntax
/// error, which stops everything, is the `Err`).
fn load(
    text: &str,
    source_name: &str,
    locations: &Locations,
    env: &dyn Env,
    options: Options,
    unset: &mut expand::Unset,
    raw: &mut Vec<(String, String)>,
) -> Result<Config, ConfigErrors> {
    let fail = |errors: Vec<ConfigError>| ConfigErrors {
        source_name: source_name.to_owned(),
        errors,
    };
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
    expand::expand_tree(
        &mut root,
        "",
        env,
        raw,
        options.skip_env.then_some(&mut *unset),
    );
    // Values not expanded (a variable unset under skip_env, or an error already reported) are
    // not checked further.
    let unchecked: BTreeSet<String> = unset
        .iter()
        .map(|(_, p)| p)
        .chain(raw.iter().map(|(p, _)| p))
        .cloned()
        .collect();
    let expansion_errors = raw.len();

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
    if options.output_paths {
        raw.extend(outputs::problems(&exporters_v));
    }
    let extensions_v = section("extensions");
    let service_v = section("service");
    let connectors_v = section("connectors");
    for (k, _) in top {
        let key = key_text(&k);
        let hint = suggest::hint(
            &key,
            [
                "receivers",
                "processors",
                "exporters",
                "service",
                "extensions",
                "connectors",
            ],
        );
        raw.push((key.clone(), format!("unknown top-level key {key:?}{hint}; expected receivers, processors, exporters, extensions or service")));
    }

    // Ids are "defined" even when their settings have errors, and ids whose definition is an
    // error are remembered, so a pipeline naming them does not add a second, misleading error.
    let (mut r_ids, mut p_ids, mut e_ids, mut x_ids) = Default::default();
    let receivers = components::read_section(
        "receivers",
        receivers_v,
        components::RECEIVERS,
        &unchecked,
        &mut r_ids,
        raw,
    );
    let processors = components::read_section(
        "processors",
        processors_v,
        components::PROCESSORS,
        &unchecked,
        &mut p_ids,
        raw,
    );
    let exporters = components::read_section(
        "exporters",
        exporters_v,
        components::EXPORTERS,
        &unchecked,
        &mut e_ids,
        raw,
    );
    scope::connectors(connectors_v, &mut r_ids, &mut e_ids, raw);
    let extensions = components::read_section(
        "extensions",
        extensions_v,
        extensions::EXTENSIONS,
        &unchecked,
        &mut x_ids,
        raw,
    );
    let kinds = service::Known {
        receivers: components::Ids::defined(&r_ids),
        processors: components::Ids::defined(&p_ids),
        exporters: components::Ids::defined(&e_ids),
        extensions: components::Ids::defined(&x_ids),
    };
    let mut service = service::parse(service_v, &kinds, &unchecked, raw);
    let mut processors = processors;
    sanitize::apply(&mut processors, &mut service.pipelines, raw);
    raw.extend(crate::memory::config::conflicts(
        &processors,
        &service.pipelines,
    ));
    raw.extend(components::routing_key_conflicts(
        &exporters,
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
                .any(|e| same_listener(t.endpoint.as_str(), e))
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

    raw.extend(extensions::storage_problems(
        &exporters,
        &extensions,
        &service,
    ));

    // What a value left unexpanded makes wrong is not the user's error.
    let later = raw.split_off(expansion_errors);
    raw.extend(
        later
            .into_iter()
            .filter(|(path, _)| !unchecked.iter().any(|u| collect::covers(u, path))),
    );
    let mut config = Config {
        receivers,
        processors,
        exporters,
        extensions,
        service,
    };
    batch::fold_into_queues(&mut config);
    Ok(config)
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
