//! The `extensions` section: components that are not in a pipeline, in the Collector's shape.
//!
//! `file_storage/<name>` is the storage a queue names with `sending_queue.storage`;
//! `health_check` is a probe route; `zpages` and `pprof` are accepted so that users' files
//! load, but not run: weir serves its own pages instead (a warning says so). An extension runs
//! only when `service.extensions` lists it, as in the Collector. Reading fails with the dotted
//! path of each bad key, as the other sections do.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use weir_pipeline::spec::Spec;

use super::collect::read;
use super::components::{FieldError, Kind};

/// The `file_storage` extension kind.
const FILE_STORAGE: Spec = Spec {
    signals: &[],
    unsupported: &["compaction", "directory_permissions", "recreate"],
    ..Spec::named("file_storage")
};

/// The `health_check` extension kind.
const HEALTH_CHECK: Spec = Spec {
    signals: &[],
    unsupported: &[
        "tls",
        "auth",
        "cors",
        "response_body",
        "check_collector_pipeline",
        "use_v2",
        "http",
        "grpc",
        "component_health",
    ],
    ..Spec::named("health_check")
};

/// The `zpages` extension kind (accepted, not run).
const ZPAGES: Spec = Spec {
    signals: &[],
    ..Spec::named("zpages")
};

/// The `pprof` extension kind (accepted, not run).
const PPROF: Spec = Spec {
    signals: &[],
    ..Spec::named("pprof")
};

/// Extension kinds.
pub const EXTENSIONS: &[Kind<ExtensionConfig>] = &[
    Kind {
        spec: &FILE_STORAGE,
        parse: |v, u| read(v, u).finish(FileStorageConfig::problems, ExtensionConfig::FileStorage),
    },
    Kind {
        spec: &HEALTH_CHECK,
        parse: |v, u| read(v, u).finish(HealthCheckConfig::problems, ExtensionConfig::HealthCheck),
    },
    Kind {
        spec: &ZPAGES,
        parse: |_, _| {
            Ok(ExtensionConfig::Replaced {
                kind: "zpages".into(),
            })
        },
    },
    Kind {
        spec: &PPROF,
        parse: |_, _| {
            Ok(ExtensionConfig::Replaced {
                kind: "pprof".into(),
            })
        },
    },
];

/// The kinds that are accepted but not run, with what weir offers instead.
pub const REPLACED: &[(&str, &str)] = &[
    (
        "zpages",
        "weir serves its own pages instead: the ops page at /admin/ops and /metrics on the admin listener",
    ),
    (
        "pprof",
        "weir serves no profiler; profile it with perf (see BENCHMARKS.md)",
    ),
];

/// An extension's config, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtensionConfig {
    /// `file_storage`: a directory where queues keep what they hold.
    FileStorage(FileStorageConfig),
    /// `health_check`: a probe route answering as `/health/ready`.
    HealthCheck(HealthCheckConfig),
    /// `zpages`, `pprof`: accepted, not run (see [`REPLACED`]).
    Replaced {
        /// The kind as written.
        kind: String,
    },
}

impl ExtensionConfig {
    /// For a kind accepted but not run: what weir offers instead.
    pub fn replaced_by(&self) -> Option<&'static str> {
        match self {
            ExtensionConfig::Replaced { kind } => REPLACED
                .iter()
                .find(|(k, _)| k == kind)
                .map(|(_, instead)| *instead),
            _ => None,
        }
    }
}

/// `extensions.file_storage[/name]`: the Collector's file storage keys, plus `fsync_interval`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStorageConfig {
    /// The directory holding the queues' files (default `/var/lib/weir/file_storage`).
    #[serde(default = "default_directory")]
    pub directory: PathBuf,
    /// Create the directory (and its parents) when it is missing (default false: a missing
    /// directory is an error at start).
    #[serde(default)]
    pub create_directory: bool,
    /// Sync every write to the disk before the receiver answers (default false: see
    /// `fsync_interval`).
    #[serde(default)]
    pub fsync: bool,
    /// When `fsync` is false, how often written data is synced to the disk (default 500ms).
    #[serde(default = "default_fsync_interval", with = "humantime_serde")]
    pub fsync_interval: Duration,
    /// How long an operation on the storage may take before it fails (default 1s).
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

impl FileStorageConfig {
    /// Where and how exporter `exporter`'s queue is stored: its own directory inside
    /// `directory` (`exporter_<kind>[_<name>]`), the fsync policy, the lock timeout.
    pub fn for_queue(
        &self,
        exporter: &super::ComponentId,
    ) -> weir_pipeline::queue::disk::StorageConfig {
        use weir_pipeline::queue::disk::Fsync;
        let dir = match &exporter.name {
            Some(name) => format!("exporter_{}_{name}", exporter.kind),
            None => format!("exporter_{}", exporter.kind),
        };
        let fsync = match (self.fsync, self.fsync_interval.is_zero()) {
            (true, _) => Fsync::Always,
            (false, false) => Fsync::Every(self.fsync_interval),
            (false, true) => Fsync::Never,
        };
        weir_pipeline::queue::disk::StorageConfig {
            directory: self.directory.join(dir),
            create_directory: self.create_directory,
            fsync,
            timeout: self.timeout,
        }
    }
}

fn default_directory() -> PathBuf {
    PathBuf::from("/var/lib/weir/file_storage")
}

fn default_fsync_interval() -> Duration {
    Duration::from_millis(500)
}

fn default_timeout() -> Duration {
    Duration::from_secs(1)
}

impl FileStorageConfig {
    /// What the settings get wrong on their own.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        if self.directory.as_os_str().is_empty() {
            out.push(("directory".into(), "must not be empty".into()));
        }
        if !self.fsync && self.fsync_interval.is_zero() {
            out.push((
                "fsync_interval".into(),
                "must be more than 0 (or set fsync: true to sync every write)".into(),
            ));
        }
        if self.timeout.is_zero() {
            out.push(("timeout".into(), "must be more than 0".into()));
        }
        out
    }
}

/// `extensions.health_check[/name]`: one probe route, answering as `/health/ready` does.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckConfig {
    /// Where the route listens, `host:port` (default `localhost:13133`, as the Collector's).
    #[serde(default = "default_health_endpoint")]
    pub endpoint: String,
    /// The route's path (default `/`).
    #[serde(default = "default_health_path")]
    pub path: String,
}

fn default_health_endpoint() -> String {
    "localhost:13133".into()
}

fn default_health_path() -> String {
    "/".into()
}

impl HealthCheckConfig {
    /// What the settings get wrong on their own.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        if !self.path.starts_with('/') {
            out.push(("path".into(), "must start with /".into()));
        }
        if self.endpoint.rsplit_once(':').is_none() {
            out.push((
                "endpoint".into(),
                format!("{:?} is not host:port", self.endpoint),
            ));
        }
        out
    }
}

/// `(path, message)` for each exporter whose `sending_queue.storage` does not name a
/// `file_storage` extension that is defined and listed in `service.extensions`.
pub fn storage_problems(
    exporters: &std::collections::BTreeMap<super::ComponentId, super::ExporterConfig>,
    extensions: &std::collections::BTreeMap<super::ComponentId, ExtensionConfig>,
    service: &super::ServiceConfig,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (id, cfg) in exporters {
        let Some(name) = cfg.sending_queue().and_then(|q| q.storage.as_deref()) else {
            continue;
        };
        if matches!(cfg, super::ExporterConfig::LoadBalancing(_)) {
            out.push((
                format!("exporters.{id}.protocol.otlp.sending_queue.storage"),
                "not supported by weir: a load_balancing exporter keeps its queues in memory"
                    .into(),
            ));
            continue;
        }
        let path = format!("exporters.{id}.sending_queue.storage");
        let found = extensions.iter().find(|(x, _)| x.to_string() == name);
        let problem = match found {
            None => format!("names {name:?}, which is not defined under extensions"),
            Some((_, ExtensionConfig::FileStorage(_))) => {
                if service.extensions.iter().any(|x| x.to_string() == name) {
                    continue;
                }
                format!("names {name:?}, which service.extensions does not list")
            }
            Some(_) => format!("names {name:?}, which is not a file_storage extension"),
        };
        out.push((path, problem));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_yaml_ng::Value;

    use super::*;
    use crate::config::collect::Unchecked;

    fn parse(kind: &str, yaml: &str) -> Result<ExtensionConfig, Vec<FieldError>> {
        let value: Value = serde_yaml_ng::from_str(yaml).expect("yaml");
        let kind = Kind::named(EXTENSIONS, kind).expect("an extension kind");
        (kind.parse)(value, Unchecked::NONE)
    }

    #[test]
    fn file_storage_reads_the_collector_keys_with_defaults() {
        let ExtensionConfig::FileStorage(c) =
            parse("file_storage", "directory: /tmp/q\nfsync: true\n").expect("valid")
        else {
            panic!("not file_storage");
        };
        assert_eq!(c.directory, PathBuf::from("/tmp/q"));
        assert!(c.fsync);
        assert!(!c.create_directory);
        assert_eq!(c.timeout, Duration::from_secs(1));
        assert_eq!(c.fsync_interval, Duration::from_millis(500));
    }

    #[test]
    fn file_storage_refuses_a_zero_interval_without_fsync() {
        let errors = parse("file_storage", "fsync_interval: 0s\n").expect_err("invalid");
        assert_eq!(errors[0].0, "fsync_interval");
    }

    #[test]
    fn health_check_defaults_to_the_collectors_port_and_root() {
        let ExtensionConfig::HealthCheck(c) = parse("health_check", "").expect("valid") else {
            panic!("not health_check");
        };
        assert_eq!(c.endpoint, "localhost:13133");
        assert_eq!(c.path, "/");
        let errors = parse("health_check", "path: healthz\n").expect_err("invalid");
        assert_eq!(errors[0].0, "path");
    }

    #[test]
    fn zpages_is_accepted_with_what_replaces_it() {
        let c = parse("zpages", "endpoint: localhost:55679\n").expect("valid");
        assert!(c.replaced_by().is_some_and(|s| s.contains("/admin/ops")));
    }
}
