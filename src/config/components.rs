//! The component kinds weir has, what each accepts, and how its config is read.
//!
//! Adding a component is one enum variant and one match arm in each `parse` below, plus its
//! entry in the kind table. A Collector key that weir does not implement is listed in the kind's
//! `unsupported` keys and reported as "not supported by weir: <key>" rather than as unknown.

use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;
use weir_exporters::debug::DebugConfig;
use weir_exporters::loki::LokiConfig;
use weir_exporters::otlp::OtlpConfig;
use weir_exporters::otlphttp::OtlpHttpConfig;
use weir_exporters::prometheus::PrometheusConfig;
use weir_exporters::remote_write::RemoteWriteConfig;
use weir_exporters::sentry::SentryConfig;
use weir_pipeline::SignalKind;
use weir_processors::enrich::EnrichConfig;
use weir_processors::redaction::RedactionConfig;
use weir_processors::tenant_limit::TenantLimitConfig;

use crate::memory::MemoryLimiterConfig;
use crate::receivers::config::OtlpReceiverConfig;

use super::batch::BatchConfig;

/// What the loader needs to know of one component kind.
pub struct Kind {
    /// The type name used in ids (`otlp`, `debug`).
    pub name: &'static str,
    /// Signals the kind handles; a pipeline of another signal may not use it.
    pub signals: &'static [SignalKind],
    /// Collector keys (dotted, relative to the component) that weir does not implement.
    pub unsupported: &'static [&'static str],
    /// Other type names read as this kind (the Collector's newer `otlp_grpc`, `otlp_http`).
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
        name: "otlp",
        signals: ALL_SIGNALS,
        unsupported: weir_exporters::otlp::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &["otlp_grpc"],
    },
    Kind {
        name: "otlphttp",
        signals: ALL_SIGNALS,
        unsupported: weir_exporters::otlphttp::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &["otlp_http"],
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
        name: "prometheus",
        signals: &[SignalKind::Metrics],
        unsupported: weir_exporters::prometheus::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &[],
    },
    Kind {
        name: "prometheusremotewrite",
        signals: &[SignalKind::Metrics],
        unsupported: weir_exporters::remote_write::UNSUPPORTED_COLLECTOR_KEYS,
        aliases: &[],
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
}

/// An exporter's config, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ExporterConfig {
    /// `debug`: prints what arrives.
    Debug(DebugConfig),
    /// `otlp`: OTLP/gRPC to Tempo or another collector.
    Otlp(Box<OtlpConfig>),
    /// `otlphttp`: OTLP/HTTP (protobuf) to Tempo or another collector.
    OtlpHttp(Box<OtlpHttpConfig>),
    /// `loki`: Loki's push API.
    Loki(Box<LokiConfig>),
    /// `sentry`: recorded exceptions as Sentry errors.
    Sentry(Box<SentryConfig>),
    /// `prometheus`: a scrape endpoint.
    Prometheus(Box<PrometheusConfig>),
    /// `prometheusremotewrite`: Prometheus remote write.
    RemoteWrite(Box<RemoteWriteConfig>),
}

/// A config error: the path inside the component and the message.
pub type FieldError = (String, String);

impl ReceiverConfig {
    /// Reads the config of a receiver of kind `kind`.
    pub fn parse(kind: &str, value: Value) -> Result<Self, Vec<FieldError>> {
        match kind {
            "otlp" => {
                let c: OtlpReceiverConfig = one(typed(value))?;
                checked(c.problems(), ReceiverConfig::Otlp(c))
            }
            other => Err(vec![(String::new(), format!("no receiver kind {other:?}"))]),
        }
    }
}

impl ProcessorConfig {
    /// Reads the config of a processor of kind `kind`.
    pub fn parse(kind: &str, value: Value) -> Result<Self, Vec<FieldError>> {
        match kind {
            "batch" => {
                let b: BatchConfig = one(typed(value))?;
                if b.send_batch_max_size != 0 && b.send_batch_max_size < b.send_batch_size {
                    return Err(vec![(
                        "send_batch_max_size".into(),
                        "must be 0 or at least send_batch_size".into(),
                    )]);
                }
                Ok(ProcessorConfig::Batch(b))
            }
            "redaction" => {
                let c: RedactionConfig = one(typed(value))?;
                checked(c.problems(), ProcessorConfig::Redaction(Box::new(c)))
            }
            "enrich" => {
                let c: EnrichConfig = one(typed(value))?;
                checked(c.problems(), ProcessorConfig::Enrich(Box::new(c)))
            }
            "tenant_limit" => {
                let c: TenantLimitConfig = one(typed(value))?;
                checked(c.problems(), ProcessorConfig::TenantLimit(Box::new(c)))
            }
            "memory_limiter" => {
                let c: MemoryLimiterConfig = one(typed(value))?;
                checked(c.problems(), ProcessorConfig::MemoryLimiter(c))
            }
            other => Err(vec![(
                String::new(),
                format!("no processor kind {other:?}"),
            )]),
        }
    }
}

impl ExporterConfig {
    /// Reads the config of an exporter of kind `kind`.
    pub fn parse(kind: &str, value: Value) -> Result<Self, Vec<FieldError>> {
        match kind {
            "debug" => one(typed(value)).map(ExporterConfig::Debug),
            "otlp" => {
                let c: OtlpConfig = one(typed(value))?;
                checked(c.problems(), ExporterConfig::Otlp(Box::new(c)))
            }
            "otlphttp" => {
                let c: OtlpHttpConfig = one(typed(value))?;
                checked(c.problems(), ExporterConfig::OtlpHttp(Box::new(c)))
            }
            "loki" => {
                let c: LokiConfig = one(typed(value))?;
                checked(c.problems(), ExporterConfig::Loki(Box::new(c)))
            }
            "sentry" => {
                let c: SentryConfig = one(typed(value))?;
                checked(c.problems(), ExporterConfig::Sentry(Box::new(c)))
            }
            "prometheus" => {
                let c: PrometheusConfig = one(typed(value))?;
                checked(c.problems(), ExporterConfig::Prometheus(Box::new(c)))
            }
            "prometheusremotewrite" => {
                let c: RemoteWriteConfig = one(typed(value))?;
                checked(c.problems(), ExporterConfig::RemoteWrite(Box::new(c)))
            }
            other => Err(vec![(String::new(), format!("no exporter kind {other:?}"))]),
        }
    }
}

fn one<T>(r: Result<T, FieldError>) -> Result<T, Vec<FieldError>> {
    r.map_err(|e| vec![e])
}

fn checked<T>(problems: Vec<FieldError>, ok: T) -> Result<T, Vec<FieldError>> {
    if problems.is_empty() {
        Ok(ok)
    } else {
        Err(problems)
    }
}

/// Deserialises a component's value (null means "all defaults"), keeping the failing path.
pub(super) fn typed<T: DeserializeOwned>(value: Value) -> Result<T, FieldError> {
    let value = match value {
        Value::Null => Value::Mapping(Default::default()),
        v => v,
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut path = e.path().to_string();
        if path == "." {
            path.clear();
        }
        let message = e.inner().to_string();
        // Point an unknown key's error at the key itself.
        if let Some(key) = message
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
        {
            if path.is_empty() {
                path = key.to_owned();
            } else if !path.ends_with(key) {
                path = format!("{path}.{key}");
            }
        }
        (path, message)
    })
}
