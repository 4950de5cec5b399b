//! The component kinds weir has, what each accepts, and how its config is read.
//!
//! Adding a component is one enum variant and one match arm in each `parse` below, plus its
//! entry in the kind table. A Collector key that weir does not implement is listed in the kind's
//! `unsupported` keys and reported as "not supported by weir: <key>" rather than as unknown.
//! A section is read with every error at once: a kind weir does not have, a malformed id, each
//! unsupported key and each bad setting.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::Value;
use weir_exporters::debug::DebugConfig;
use weir_exporters::load_balancing::LoadBalancingConfig;
use weir_exporters::loki::LokiConfig;
use weir_exporters::otlp::OtlpConfig;
use weir_exporters::otlphttp::OtlpHttpConfig;
use weir_exporters::prometheus::PrometheusConfig;
use weir_exporters::remote_write::RemoteWriteConfig;
use weir_exporters::sentry::SentryConfig;
use weir_pipeline::SignalKind;
use weir_processors::attributes::{AttributesConfig, ResourceConfig};
use weir_processors::enrich::EnrichConfig;
use weir_processors::filter::FilterConfig;
use weir_processors::redaction::RedactionConfig;
use weir_processors::tenant_limit::TenantLimitConfig;

use crate::memory::MemoryLimiterConfig;
use crate::receivers::config::OtlpReceiverConfig;

use super::batch::BatchConfig;
use super::collect::{Unchecked, read, remove_at};
use super::service::Defined;
use super::{ComponentId, key_text, suggest};

/// What the loader needs to know of one component kind.
pub struct Kind {
    /// The type name used in ids (`otlp`, `debug`).
    pub name: &'static str,
    /// Signals the kind handles; a pipeline of another signal may not use it.
    pub signals: &'static [SignalKind],
    /// Collector keys (dotted, relative to the component) that weir does not implement.
    pub unsupported: &'static [&'static str],
    /// Other type names read as this kind: the Collector's older names (`otlp`, `otlphttp`,
    /// `prometheusremotewrite`), deprecated there and listed in [`DEPRECATED_NAMES`].
    pub aliases: &'static [&'static str],
}

impl Kind {
    /// The kind in `kinds` named `name`, or having it as an alias.
    pub fn named<'a>(kinds: &'a [Kind], name: &str) -> Option<&'a Kind> {
        kinds
            .iter()
            .find(|k| k.name == name || k.aliases.contains(&name))
    }
}

/// Type names the Collector has replaced by lower_snake_case ones; still read, shown as
/// deprecated by `weir components`.
pub const DEPRECATED_NAMES: &[&str] =
    &["otlp", "otlphttp", "prometheusremotewrite", "loadbalancing"];

const ALL_SIGNALS: &[SignalKind] = &SignalKind::ALL;

/// Receiver kinds.
pub const RECEIVERS: &[Kind] = &[Kind {
    name: "otlp",
    signals: ALL_SIGNALS,
    unsupported: &[
        "protocols.grpc.auth",
        "protocols.grpc.keepalive.enforcement_policy",
        "protocols.grpc.read_buffer_size",
        "protocols.grpc.write_buffer_size",
        "protocols.grpc.transport",
        "protocols.http.auth",
        "protocols.http.traces_url_path",
        "protocols.http.metrics_url_path",
        "protocols.http.logs_url_path",
        "protocols.http.response_headers",
        "protocols.http.compression_algorithms",
    ],
    aliases: &[],
}];

/// Processor kinds.
pub const PROCESSORS: &[Kind] = &[
    Kind {
        name: "batch",
        signals: ALL_SIGNALS,
        unsupported: &["metadata_keys", "metadata_cardinality_limit"],
        aliases: &[],
    },
    Kind {
        name: "redaction",
        signals: ALL_SIGNALS,
        unsupported: weir_processors::redaction::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &[],
    },
    Kind {
        name: "enrich",
        signals: ALL_SIGNALS,
        unsupported: weir_processors::enrich::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &[],
    },
    Kind {
        name: "tenant_limit",
        signals: ALL_SIGNALS,
        unsupported: weir_processors::tenant_limit::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &[],
    },
    Kind {
        name: "memory_limiter",
        signals: ALL_SIGNALS,
        unsupported: crate::memory::config::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &[],
    },
    Kind {
        name: "attributes",
        signals: ALL_SIGNALS,
        unsupported: weir_processors::attributes::UNSUPPORTED_ATTRIBUTES_KEYS,
        aliases: &[],
    },
    Kind {
        name: "resource",
        signals: ALL_SIGNALS,
        unsupported: weir_processors::attributes::UNSUPPORTED_RESOURCE_KEYS,
        aliases: &[],
    },
    Kind {
        name: "filter",
        signals: ALL_SIGNALS,
        unsupported: weir_processors::filter::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &[],
    },
];

/// Exporter kinds.
pub const EXPORTERS: &[Kind] = &[
    Kind {
        name: "debug",
        signals: ALL_SIGNALS,
        unsupported: weir_exporters::debug::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &[],
    },
    Kind {
        name: "otlp_grpc",
        signals: ALL_SIGNALS,
        unsupported: weir_exporters::otlp::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &["otlp"],
    },
    Kind {
        name: "otlp_http",
        signals: ALL_SIGNALS,
        unsupported: weir_exporters::otlphttp::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &["otlphttp"],
    },
    Kind {
        name: "loki",
        signals: &[SignalKind::Logs],
        unsupported: weir_exporters::loki::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &[],
    },
    Kind {
        name: "sentry",
        signals: &[SignalKind::Traces, SignalKind::Logs],
        unsupported: weir_exporters::sentry::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &[],
    },
    Kind {
        name: "load_balancing",
        signals: ALL_SIGNALS,
        unsupported: weir_exporters::load_balancing::UNSUPPORTED_COLLECTOR_KEYS,
        // The Collector's former name, still read (`weir run` warns).
        aliases: &["loadbalancing"],
    },
    Kind {
        name: "prometheus",
        signals: &[SignalKind::Metrics],
        unsupported: weir_exporters::prometheus::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &[],
    },
    Kind {
        name: "prometheus_remote_write",
        signals: &[SignalKind::Metrics],
        unsupported: weir_exporters::remote_write::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &["prometheusremotewrite"],
    },
];

/// A receiver's config, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiverConfig {
    /// `otlp`: OTLP over gRPC and HTTP.
    Otlp(OtlpReceiverConfig),
}

/// A processor's config, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcessorConfig {
    /// `batch`: accepted for Collector compatibility (see [`BatchConfig`]).
    Batch(BatchConfig),
    /// `redaction`: masks secrets and PII (sanitize-first).
    Redaction(Box<RedactionConfig>),
    /// `enrich`: request and trace ids on records.
    Enrich(Box<EnrichConfig>),
    /// `tenant_limit`: per-tenant rate limits.
    TenantLimit(Box<TenantLimitConfig>),
    /// `memory_limiter`: the process-wide memory limit the receivers apply (see
    /// [`crate::memory`]).
    MemoryLimiter(MemoryLimiterConfig),
    /// `attributes`: the Collector's edits of record attributes.
    Attributes(Box<AttributesConfig>),
    /// `resource`: the Collector's edits of resource attributes.
    Resource(Box<ResourceConfig>),
    /// `filter`: drops records matching OTTL conditions.
    Filter(Box<FilterConfig>),
}

/// An exporter's config, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ExporterConfig {
    /// `debug`: prints what arrives.
    Debug(DebugConfig),
    /// `otlp_grpc` (`otlp`): OTLP/gRPC to Tempo or another collector.
    Otlp(Box<OtlpConfig>),
    /// `otlp_http` (`otlphttp`): OTLP/HTTP (protobuf) to Tempo or another collector.
    OtlpHttp(Box<OtlpHttpConfig>),
    /// `loki`: Loki's push API.
    Loki(Box<LokiConfig>),
    /// `sentry`: recorded exceptions as Sentry errors.
    Sentry(Box<SentryConfig>),
    /// `prometheus`: a scrape endpoint.
    Prometheus(Box<PrometheusConfig>),
    /// `prometheus_remote_write` (`prometheusremotewrite`): Prometheus remote write.
    RemoteWrite(Box<RemoteWriteConfig>),
    /// `load_balancing`: OTLP/gRPC over several endpoints by routing key.
    LoadBalancing(Box<LoadBalancingConfig>),
}

/// A config error: the path inside the component and the message.
pub type FieldError = (String, String);

impl ReceiverConfig {
    /// Reads the config of a receiver of kind `kind`.
    pub fn parse(kind: &str, value: Value, unchecked: Unchecked) -> Result<Self, Vec<FieldError>> {
        match kind {
            "otlp" => {
                read(value, unchecked).finish(OtlpReceiverConfig::problems, ReceiverConfig::Otlp)
            }
            other => Err(vec![(String::new(), format!("no receiver kind {other:?}"))]),
        }
    }
}

impl ProcessorConfig {
    /// Reads the config of a processor of kind `kind`.
    pub fn parse(kind: &str, value: Value, unchecked: Unchecked) -> Result<Self, Vec<FieldError>> {
        match kind {
            "batch" => read(value, unchecked).finish(
                |b: &BatchConfig| {
                    if b.send_batch_max_size != 0 && b.send_batch_max_size < b.send_batch_size {
                        vec![(
                            "send_batch_max_size".into(),
                            "must be 0 or at least send_batch_size".into(),
                        )]
                    } else {
                        Vec::new()
                    }
                },
                ProcessorConfig::Batch,
            ),
            "redaction" => read(value, unchecked).finish(RedactionConfig::problems, |c| {
                ProcessorConfig::Redaction(Box::new(c))
            }),
            "enrich" => read(value, unchecked).finish(EnrichConfig::problems, |c| {
                ProcessorConfig::Enrich(Box::new(c))
            }),
            "tenant_limit" => read(value, unchecked).finish(TenantLimitConfig::problems, |c| {
                ProcessorConfig::TenantLimit(Box::new(c))
            }),
            "memory_limiter" => read(value, unchecked).finish(
                MemoryLimiterConfig::problems,
                ProcessorConfig::MemoryLimiter,
            ),
            "attributes" => read(value, unchecked).finish(AttributesConfig::problems, |c| {
                ProcessorConfig::Attributes(Box::new(c))
            }),
            "resource" => read(value, unchecked).finish(ResourceConfig::problems, |c| {
                ProcessorConfig::Resource(Box::new(c))
            }),
            "filter" => read(value, unchecked).finish(FilterConfig::problems, |c| {
                ProcessorConfig::Filter(Box::new(c))
            }),
            other => Err(vec![(
                String::new(),
                format!("no processor kind {other:?}"),
            )]),
        }
    }
}

impl ExporterConfig {
    /// Reads the config of an exporter of kind `kind`.
    pub fn parse(kind: &str, value: Value, unchecked: Unchecked) -> Result<Self, Vec<FieldError>> {
        match kind {
            "debug" => read(value, unchecked).finish(|_| Vec::new(), ExporterConfig::Debug),
            "otlp_grpc" => read(value, unchecked)
                .finish(OtlpConfig::problems, |c| ExporterConfig::Otlp(Box::new(c))),
            "otlp_http" => read(value, unchecked).finish(OtlpHttpConfig::problems, |c| {
                ExporterConfig::OtlpHttp(Box::new(c))
            }),
            "loki" => read(value, unchecked)
                .finish(LokiConfig::problems, |c| ExporterConfig::Loki(Box::new(c))),
            "sentry" => read(value, unchecked).finish(SentryConfig::problems, |c| {
                ExporterConfig::Sentry(Box::new(c))
            }),
            "prometheus" => read(value, unchecked).finish(PrometheusConfig::problems, |c| {
                ExporterConfig::Prometheus(Box::new(c))
            }),
            "prometheus_remote_write" => read(value, unchecked)
                .finish(RemoteWriteConfig::problems, |c| {
                    ExporterConfig::RemoteWrite(Box::new(c))
                }),
            "load_balancing" => read(value, unchecked).finish(LoadBalancingConfig::problems, |c| {
                ExporterConfig::LoadBalancing(Box::new(c))
            }),
            other => Err(vec![(String::new(), format!("no exporter kind {other:?}"))]),
        }
    }

    /// The exporter's `sending_queue`, for the kinds that have one (a `load_balancing`
    /// exporter's per-endpoint queue).
    pub fn sending_queue(&self) -> Option<&weir_pipeline::queue::QueueConfig> {
        match self {
            ExporterConfig::Otlp(c) => Some(&c.sending_queue),
            ExporterConfig::OtlpHttp(c) => Some(&c.sending_queue),
            ExporterConfig::Loki(c) => Some(&c.sending_queue),
            ExporterConfig::Sentry(c) => Some(&c.sending_queue),
            ExporterConfig::RemoteWrite(c) => Some(&c.sending_queue),
            ExporterConfig::LoadBalancing(c) => Some(&c.protocol.otlp.sending_queue),
            ExporterConfig::Debug(_) | ExporterConfig::Prometheus(_) => None,
        }
    }
}

/// The ids of one section as read: those of a kind weir has (their settings may have errors),
/// and those, as written, whose definition is itself an error.
#[derive(Debug, Default)]
pub struct Ids {
    known: Vec<ComponentId>,
    reported: Vec<String>,
}

impl Ids {
    /// Records `id` (as written) as one whose definition is already an error.
    pub fn report(&mut self, id: &str) {
        self.reported.push(id.to_owned());
    }

    /// The ids for the pipelines' checks.
    pub fn defined(&self) -> Defined<'_> {
        Defined {
            ids: self.known.iter().collect(),
            reported: self.reported.iter().map(String::as_str).collect(),
        }
    }
}

/// A section's `parse`: the kind, the settings, the values not to check.
pub type Parse<T> = fn(&str, Value, Unchecked) -> Result<T, Vec<FieldError>>;

/// Reads one of the component sections, collecting every error; values at `unchecked` paths
/// are not checked.
pub fn read_section<T>(
    section: &str,
    value: Value,
    kinds: &[Kind],
    parse: Parse<T>,
    unchecked: &BTreeSet<String>,
    ids: &mut Ids,
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
    for (k, mut v) in map {
        let id_text = key_text(&k);
        let path = format!("{section}.{id_text}");
        let id = match ComponentId::parse(&id_text) {
            Ok(id) => id,
            Err(e) => {
                errors.push((path, e));
                ids.reported.push(id_text);
                continue;
            }
        };
        let Some(kind) = Kind::named(kinds, &id.kind) else {
            let have: Vec<&str> = kinds.iter().map(|k| k.name).collect();
            let names = kinds
                .iter()
                .flat_map(|k| std::iter::once(k.name).chain(k.aliases.iter().copied()));
            let hint = suggest::hint(&id.kind, names);
            let message = super::scope::refusal(section, &id.kind, &hint).unwrap_or_else(|| {
                format!(
                    "unknown {singular} type {:?}{hint}; weir has: {}",
                    id.kind,
                    have.join(", ")
                )
            });
            errors.push((path, message));
            ids.reported.push(id_text);
            continue;
        };
        ids.known.push(id.clone());
        // Each unsupported key is an error; the rest of the settings are still checked.
        let mut bad = false;
        for key in kind.unsupported {
            if remove_at(&mut v, key) {
                errors.push((
                    format!("{path}.{key}"),
                    format!("not supported by weir: {key}"),
                ));
                bad = true;
            }
        }
        match parse(kind.name, v, Unchecked::new(unchecked, &path)) {
            Ok(cfg) if !bad => {
                out.insert(id, cfg);
            }
            Ok(_) => {}
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

/// `(path, message)` for each `load_balancing` exporter whose `routing_key` cannot route a
/// signal of a pipeline it is in (`traceID` for metrics, `metric` or `streamID` for traces
/// and logs).
pub fn routing_key_conflicts(
    exporters: &BTreeMap<ComponentId, ExporterConfig>,
    pipelines: &[super::PipelineConfig],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in pipelines {
        for id in &p.exporters {
            let Some(ExporterConfig::LoadBalancing(c)) = exporters.get(id) else {
                continue;
            };
            if let Ok(Some(key)) = c.key()
                && !key.signals().contains(&p.signal)
            {
                let takes: Vec<&str> = key.signals().iter().map(|s| s.as_str()).collect();
                out.push((
                    format!("exporters.{id}.routing_key"),
                    format!(
                        "cannot route {} (pipeline {}); it routes {}",
                        p.signal,
                        p.id,
                        takes.join(", ")
                    ),
                ));
            }
        }
    }
    out
}
