//! The component kinds weir has, what each accepts, and how its config is read.
//!
//! Each kind is a row of a table below: the [`Spec`] its folder declares (name, aliases,
//! signals, unsupported Collector keys, queue) and how its settings are read into the section's
//! enum. A Collector key that weir does not implement is listed in the spec's `unsupported`
//! keys and reported as "not supported by weir: <key>" rather than as unknown.
//! A section is read with every error at once: a kind weir does not have, a malformed id, each
//! unsupported key and each bad setting.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::Value;
use weir_exporters::debug::{self, DebugConfig};
use weir_exporters::load_balancing::{self, LoadBalancingConfig};
use weir_exporters::loki::{self, LokiConfig};
use weir_exporters::otlp::{self, OtlpConfig};
use weir_exporters::otlphttp::{self, OtlpHttpConfig};
use weir_exporters::prometheus::{self, PrometheusConfig};
use weir_exporters::remote_write::{self, RemoteWriteConfig};
use weir_exporters::sentry::{self, SentryConfig};
use weir_pipeline::spec::Spec;
use weir_processors::attributes::{self, AttributesConfig, ResourceConfig};
use weir_processors::enrich::{self, EnrichConfig};
use weir_processors::filter::{self, FilterConfig};
use weir_processors::redaction::{self, RedactionConfig};
use weir_processors::tenant_limit::{self, TenantLimitConfig};

use crate::memory::MemoryLimiterConfig;
use crate::receivers::config::OtlpReceiverConfig;

use super::batch::BatchConfig;
use super::collect::{Unchecked, read, remove_at};
use super::service::Defined;
use super::{ComponentId, key_text, suggest};

/// One kind a section may name: what its folder declares ([`Spec`]) and how its settings are
/// read into the section's config type.
pub struct Kind<T: 'static> {
    /// Name, aliases, signals, unsupported Collector keys, queue: declared by the component.
    pub spec: &'static Spec,
    /// Reads its settings (typed, then checked), wrapped in the section's enum.
    pub parse: Parse<T>,
}

impl<T> Kind<T> {
    /// The kind in `kinds` named `name`, or having it as an alias.
    pub fn named<'a>(kinds: &'a [Kind<T>], name: &str) -> Option<&'a Kind<T>> {
        kinds.iter().find(|k| k.spec.answers_to(name))
    }
}

/// The specs of `kinds`, in order.
pub fn specs<T>(kinds: &[Kind<T>]) -> Vec<&'static Spec> {
    kinds.iter().map(|k| k.spec).collect()
}

/// Type names the Collector has replaced by lower_snake_case ones; still read, shown as
/// deprecated by `weir components`.
pub const DEPRECATED_NAMES: &[&str] =
    &["otlp", "otlphttp", "prometheusremotewrite", "loadbalancing"];

/// Receiver kinds.
pub const RECEIVERS: &[Kind<ReceiverConfig>] = &[Kind {
    spec: &crate::receivers::config::SPEC,
    parse: |v, u| read(v, u).finish(OtlpReceiverConfig::problems, ReceiverConfig::Otlp),
}];

/// Processor kinds.
pub const PROCESSORS: &[Kind<ProcessorConfig>] = &[
    Kind {
        spec: &super::batch::SPEC,
        parse: |v, u| read(v, u).finish(BatchConfig::problems, ProcessorConfig::Batch),
    },
    Kind {
        spec: &redaction::SPEC,
        parse: |v, u| {
            read(v, u).finish(RedactionConfig::problems, |c| {
                ProcessorConfig::Redaction(Box::new(c))
            })
        },
    },
    Kind {
        spec: &enrich::SPEC,
        parse: |v, u| {
            read(v, u).finish(EnrichConfig::problems, |c| {
                ProcessorConfig::Enrich(Box::new(c))
            })
        },
    },
    Kind {
        spec: &tenant_limit::SPEC,
        parse: |v, u| {
            read(v, u).finish(TenantLimitConfig::problems, |c| {
                ProcessorConfig::TenantLimit(Box::new(c))
            })
        },
    },
    Kind {
        spec: &crate::memory::config::SPEC,
        parse: |v, u| {
            read(v, u).finish(
                MemoryLimiterConfig::problems,
                ProcessorConfig::MemoryLimiter,
            )
        },
    },
    Kind {
        spec: &attributes::ATTRIBUTES_SPEC,
        parse: |v, u| {
            read(v, u).finish(AttributesConfig::problems, |c| {
                ProcessorConfig::Attributes(Box::new(c))
            })
        },
    },
    Kind {
        spec: &attributes::RESOURCE_SPEC,
        parse: |v, u| {
            read(v, u).finish(ResourceConfig::problems, |c| {
                ProcessorConfig::Resource(Box::new(c))
            })
        },
    },
    Kind {
        spec: &filter::SPEC,
        parse: |v, u| {
            read(v, u).finish(FilterConfig::problems, |c| {
                ProcessorConfig::Filter(Box::new(c))
            })
        },
    },
];

/// Exporter kinds.
pub const EXPORTERS: &[Kind<ExporterConfig>] = &[
    Kind {
        spec: &debug::SPEC,
        parse: |v, u| read(v, u).finish(|_| Vec::new(), ExporterConfig::Debug),
    },
    Kind {
        spec: &otlp::SPEC,
        parse: |v, u| {
            read(v, u).finish(OtlpConfig::problems, |c| ExporterConfig::Otlp(Box::new(c)))
        },
    },
    Kind {
        spec: &otlphttp::SPEC,
        parse: |v, u| {
            read(v, u).finish(OtlpHttpConfig::problems, |c| {
                ExporterConfig::OtlpHttp(Box::new(c))
            })
        },
    },
    Kind {
        spec: &loki::SPEC,
        parse: |v, u| {
            read(v, u).finish(LokiConfig::problems, |c| ExporterConfig::Loki(Box::new(c)))
        },
    },
    Kind {
        spec: &sentry::SPEC,
        parse: |v, u| {
            read(v, u).finish(SentryConfig::problems, |c| {
                ExporterConfig::Sentry(Box::new(c))
            })
        },
    },
    Kind {
        spec: &load_balancing::SPEC,
        parse: |v, u| {
            read(v, u).finish(LoadBalancingConfig::problems, |c| {
                ExporterConfig::LoadBalancing(Box::new(c))
            })
        },
    },
    Kind {
        spec: &prometheus::SPEC,
        parse: |v, u| {
            read(v, u).finish(PrometheusConfig::problems, |c| {
                ExporterConfig::Prometheus(Box::new(c))
            })
        },
    },
    Kind {
        spec: &remote_write::SPEC,
        parse: |v, u| {
            read(v, u).finish(RemoteWriteConfig::problems, |c| {
                ExporterConfig::RemoteWrite(Box::new(c))
            })
        },
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

/// The `sending_queue` of an exporter config, borrowed as `$borrow` (`&` or `&mut`): the one
/// list of the queued kinds and where their queue is, read by both accessors below. A queued
/// kind adds its arm here.
macro_rules! sending_queue_of {
    ($cfg:expr, $($borrow:tt)+) => {
        match $cfg {
            ExporterConfig::Otlp(c) => Some($($borrow)+ c.sending_queue),
            ExporterConfig::OtlpHttp(c) => Some($($borrow)+ c.sending_queue),
            ExporterConfig::Loki(c) => Some($($borrow)+ c.sending_queue),
            ExporterConfig::Sentry(c) => Some($($borrow)+ c.sending_queue),
            ExporterConfig::RemoteWrite(c) => Some($($borrow)+ c.sending_queue),
            ExporterConfig::LoadBalancing(c) => Some($($borrow)+ c.protocol.otlp.sending_queue),
            ExporterConfig::Debug(_) | ExporterConfig::Prometheus(_) => None,
        }
    };
}

impl ExporterConfig {
    /// The exporter's `sending_queue`, for the kinds that have one (a `load_balancing`
    /// exporter's per-endpoint queue).
    pub fn sending_queue(&self) -> Option<&weir_pipeline::queue::QueueConfig> {
        sending_queue_of!(self, &)
    }

    /// [`ExporterConfig::sending_queue`], to change (a `batch` processor folded into it).
    pub fn sending_queue_mut(&mut self) -> Option<&mut weir_pipeline::queue::QueueConfig> {
        sending_queue_of!(self, &mut)
    }

    /// The exporter's queue and its place in the exporter's settings (from the [`Spec`] of
    /// `kind`, the type name in its id), for the kinds that have one.
    pub fn queue_at(
        &self,
        kind: &str,
    ) -> Option<(&weir_pipeline::queue::QueueConfig, &'static [&'static str])> {
        let at = Kind::named(EXPORTERS, kind)?.spec.queue?;
        Some((self.sending_queue()?, at))
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

/// A kind's `parse`: the settings, the values not to check.
pub type Parse<T> = fn(Value, Unchecked) -> Result<T, Vec<FieldError>>;

/// Reads one of the component sections, collecting every error; values at `unchecked` paths
/// are not checked.
pub fn read_section<T>(
    section: &str,
    value: Value,
    kinds: &[Kind<T>],
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
            let have: Vec<&str> = kinds.iter().map(|k| k.spec.name).collect();
            let names = kinds
                .iter()
                .flat_map(|k| std::iter::once(k.spec.name).chain(k.spec.aliases.iter().copied()));
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
        for key in kind.spec.unsupported {
            if remove_at(&mut v, key) {
                errors.push((
                    format!("{path}.{key}"),
                    format!("not supported by weir: {key}"),
                ));
                bad = true;
            }
        }
        match (kind.parse)(v, Unchecked::new(unchecked, &path)) {
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
            if let Some(key) = c.key()
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
