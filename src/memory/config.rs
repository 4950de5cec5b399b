//! The Collector's `memory_limiter` keys, their checks (the Collector's rules, each error with
//! its key), the limits they give in bytes, and the rule that a process has one memory limit:
//! every pipeline that names a `memory_limiter` must name the same settings.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use weir_pipeline::spec::Spec;

use crate::config::{ComponentId, Config, PipelineConfig, ProcessorConfig};

const MIB: u64 = 1024 * 1024;

/// Collector keys weir refuses: they tune forced runs of Go's garbage collector, which weir
/// (Rust, no collector to force) does not have; `ballast_size_mib` is the Collector's removed
/// ballast extension's size.
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] = &[
    "min_gc_interval_when_soft_limited",
    "min_gc_interval_when_hard_limited",
    "max_gc_interval_when_soft_limited",
    "max_gc_interval_when_hard_limited",
    "ballast_size_mib",
];

/// The `memory_limiter` processor kind: every signal, the garbage-collector keys refused.
pub const SPEC: Spec = Spec {
    unsupported: UNSUPPORTED_COLLECTOR_KEYS,
    ..Spec::named("memory_limiter")
};

/// The `memory_limiter` processor's keys (the Collector's). Usage is the process's resident
/// memory; past `limit − spike` the receivers refuse requests before reading them.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MemoryLimiterConfig {
    /// How often the resident memory is measured (`1s`, `100ms`); required, more than 0.
    #[serde(default, with = "humantime_serde")]
    pub check_interval: Duration,
    /// The hard limit in MiB. Takes precedence over `limit_percentage`, as in the Collector.
    #[serde(default)]
    pub limit_mib: u32,
    /// The growth expected between two checks, in MiB; refusal starts at `limit − spike`.
    /// Default (0): 20% of the limit. Must be below `limit_mib`.
    #[serde(default)]
    pub spike_limit_mib: u32,
    /// The hard limit as a share (1–100) of the cgroup's memory limit, or of the machine's RAM
    /// when there is none. Used when `limit_mib` is not set.
    #[serde(default)]
    pub limit_percentage: u32,
    /// The spike as a share (0–100) of the same total; must be below `limit_percentage`.
    /// Default (0): 20% of the limit.
    #[serde(default)]
    pub spike_limit_percentage: u32,
}

impl MemoryLimiterConfig {
    /// Settings that parse but cannot be used, as (key, message): the Collector's checks.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut say = |key: &str, message: &str| out.push((key.into(), message.into()));
        if self.check_interval.is_zero() {
            say("check_interval", "must be more than 0s");
        }
        if self.limit_mib == 0 && self.limit_percentage == 0 {
            say(
                "limit_mib",
                "set limit_mib or limit_percentage (more than 0)",
            );
        }
        for (key, v) in [
            ("limit_percentage", self.limit_percentage),
            ("spike_limit_percentage", self.spike_limit_percentage),
        ] {
            if v > 100 {
                say(key, "must be a percentage, at most 100");
            }
        }
        if self.limit_mib > 0 && self.spike_limit_mib >= self.limit_mib {
            say("spike_limit_mib", "must be smaller than limit_mib");
        }
        if self.limit_percentage > 0 && self.spike_limit_percentage >= self.limit_percentage {
            say(
                "spike_limit_percentage",
                "must be smaller than limit_percentage",
            );
        }
        out
    }

    /// The limits in bytes; `total` is what percentages are taken of (see
    /// [`super::sources::total_bytes`]). Fails only for percentages when `total` is unknown.
    pub fn limits(&self, total: Option<u64>) -> Result<Limits, String> {
        let (limit, spike) = if self.limit_mib > 0 {
            (
                u64::from(self.limit_mib) * MIB,
                u64::from(self.spike_limit_mib) * MIB,
            )
        } else {
            let total = total.ok_or(
                "limit_percentage: the memory available (cgroup limit or RAM) cannot be read \
                 here; set limit_mib instead",
            )?;
            let share = |pct: u32| u64::try_from(u128::from(total) * u128::from(pct) / 100);
            let limit = share(self.limit_percentage).unwrap_or(u64::MAX);
            let spike = share(self.spike_limit_percentage).unwrap_or(u64::MAX);
            (limit, spike)
        };
        Ok(Limits::new(limit, spike))
    }
}

/// A hard limit and the spike below it, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The hard limit.
    pub limit: u64,
    /// The growth allowed for between checks.
    pub spike: u64,
}

impl Limits {
    /// `limit` and `spike`; a spike of 0 means 20% of the limit (the Collector's default), and
    /// a spike at or above the limit leaves a soft limit of 0.
    pub fn new(limit: u64, spike: u64) -> Self {
        let spike = if spike == 0 { limit / 5 } else { spike };
        Self { limit, spike }
    }

    /// Where refusal starts: `limit − spike`.
    pub fn soft(&self) -> u64 {
        self.limit.saturating_sub(self.spike)
    }
}

/// The `memory_limiter` that pipelines name, when any: one process-wide limit.
pub fn active(config: &Config) -> Option<&MemoryLimiterConfig> {
    config
        .service
        .pipelines
        .iter()
        .flat_map(|p| &p.processors)
        .find_map(|id| match config.processors.get(id) {
            Some(ProcessorConfig::MemoryLimiter(c)) => Some(c),
            _ => None,
        })
}

/// One problem, as (path, message), for each pipeline whose `memory_limiter` has settings other
/// than the first one named: weir has one process-wide limit. The same id, or another id with
/// the same settings, is fine.
pub fn conflicts(
    processors: &BTreeMap<ComponentId, ProcessorConfig>,
    pipelines: &[PipelineConfig],
) -> Vec<(String, String)> {
    let mut first: Option<(&ComponentId, &str, &MemoryLimiterConfig)> = None;
    let mut out = Vec::new();
    for p in pipelines {
        for (i, id) in p.processors.iter().enumerate() {
            let Some(ProcessorConfig::MemoryLimiter(c)) = processors.get(id) else {
                continue;
            };
            match first {
                None => first = Some((id, &p.id, c)),
                Some((_, _, same)) if same == c => {}
                Some((one, pipeline, _)) => out.push((
                    format!("service.pipelines.{}.processors[{i}]", p.id),
                    format!(
                        "{id} sets another memory limit than {one} (pipeline {pipeline}); the \
                         memory limit is process-wide: name the same memory_limiter everywhere"
                    ),
                )),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> MemoryLimiterConfig {
        serde_yaml_ng::from_str(yaml).expect("parses")
    }

    fn keys(c: &MemoryLimiterConfig) -> Vec<String> {
        c.problems().into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn the_collectors_checks_name_their_key() {
        assert!(keys(&parse("{ check_interval: 1s, limit_mib: 100 }")).is_empty());
        assert!(keys(&parse("{ check_interval: 1s, limit_percentage: 80 }")).is_empty());
        assert_eq!(keys(&parse("{ limit_mib: 100 }")), ["check_interval"]);
        assert_eq!(keys(&parse("{ check_interval: 1s }")), ["limit_mib"]);
        assert_eq!(
            keys(&parse(
                "{ check_interval: 1s, limit_mib: 10, spike_limit_mib: 10 }"
            )),
            ["spike_limit_mib"]
        );
        assert_eq!(
            keys(&parse(
                "{ check_interval: 1s, limit_percentage: 101, spike_limit_percentage: 20 }"
            )),
            ["limit_percentage"]
        );
        assert_eq!(
            keys(&parse(
                "{ check_interval: 1s, limit_percentage: 50, spike_limit_percentage: 50 }"
            )),
            ["spike_limit_percentage"]
        );
    }

    #[test]
    fn limits_in_bytes_with_the_default_spike() {
        let c = parse("{ check_interval: 1s, limit_mib: 100 }");
        let l = c.limits(None).expect("fixed");
        assert_eq!(l.limit, 100 * MIB);
        assert_eq!(l.spike, 20 * MIB);
        assert_eq!(l.soft(), 80 * MIB);
        let c = parse("{ check_interval: 1s, limit_mib: 100, spike_limit_mib: 30 }");
        assert_eq!(c.limits(None).expect("fixed").soft(), 70 * MIB);
    }

    #[test]
    fn percentages_are_of_the_total_and_need_it() {
        let c = parse("{ check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 25 }");
        let l = c.limits(Some(1000 * MIB)).expect("total known");
        assert_eq!(
            (l.limit, l.spike, l.soft()),
            (800 * MIB, 250 * MIB, 550 * MIB)
        );
        let c = parse("{ check_interval: 1s, limit_percentage: 50 }");
        assert_eq!(c.limits(Some(1000 * MIB)).expect("known").spike, 100 * MIB);
        assert!(c.limits(None).is_err());
        let both = parse("{ check_interval: 1s, limit_mib: 64, limit_percentage: 50 }");
        assert_eq!(both.limits(Some(1000 * MIB)).expect("mib").limit, 64 * MIB);
    }

    #[test]
    fn a_spike_at_the_limit_leaves_no_room() {
        assert_eq!(Limits::new(10, 10).soft(), 0);
        assert_eq!(Limits::new(10, 20).soft(), 0);
        assert_eq!(Limits::new(0, 0).soft(), 0);
    }
}
