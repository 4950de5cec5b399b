//! Config of the `tenant_limit` processor.
//!
//! ```yaml
//! processors:
//!   tenant_limit:
//!     records_per_second: 5000
//!     burst: 10000
//!     bytes_per_second: 5000000
//!     bytes_burst: 20000000
//!     requests_per_second: 100
//!     overrides:
//!       big-co: { records_per_second: 50000 }
//!       tiny: { records_per_second: 100, burst: 100, requests_per_second: 5 }
//! ```
//!
//! Three kinds of limit (records, bytes, requests), each a rate and a burst; a kind whose rate is
//! absent is not limited. An override sets any of the six keys for one tenant; the keys it
//! leaves out are taken from the top level, except that an inherited burst is raised to one
//! second at the override's own rate when it is smaller (so `big-co: { records_per_second:
//! 50000 }` above gets a burst of 50000, not 10000). A burst left out at the top level is one
//! second at the rate.
//!
//! `store` (see `store/config.rs`) shares the limits between the replicas of a tier.
//!
//! Rates and bursts ([`PerSecond`], [`Burst`]) and the tenant ids of `overrides`
//! ([`TenantId`]) are checked when the config is read: a bad one fails the reading at its key.
//! [`TenantLimitConfig::problems`] is pure, opens nothing, and checks what spans several keys:
//! a burst without a rate, and the store's settings.

use std::collections::BTreeMap;

use serde::Deserialize;
use weir_pipeline::TenantId;
use weir_pipeline::spec::Spec;

use super::rate::{Burst, PerSecond, Rate};
use super::store::StoreConfig;

/// Collector keys weir does not implement for this processor: none (the Collector has no
/// per-tenant limiter; these keys are weir's own).
pub const UNSUPPORTED_COLLECTOR_KEYS: &[&str] = &[];

/// The `tenant_limit` processor kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const SPEC: Spec = Spec {
    unsupported: UNSUPPORTED_COLLECTOR_KEYS,
    ..Spec::named("tenant_limit")
};

/// The `tenant_limit` processor's settings: the limits every tenant gets, and per-tenant
/// overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantLimitConfig {
    /// Records (spans, metric data points, log records) per second, per tenant, 1 to
    /// 1,000,000,000. Absent: records are not limited.
    pub records_per_second: Option<PerSecond>,
    /// Records a tenant may send at once after a quiet spell; also the largest request, in
    /// records, that can ever pass. Needs `records_per_second`. Default: `records_per_second`
    /// (one second's worth).
    pub burst: Option<Burst>,
    /// Request bytes (after decompression, as the receiver measured them) per second, per
    /// tenant, 1 to 1,000,000,000. Rates above 1,000,000 are rounded to whole nanoseconds per
    /// byte (3,000,000 runs as 3,003,003). Absent: bytes are not limited.
    pub bytes_per_second: Option<PerSecond>,
    /// Bytes a tenant may send at once; also the largest request body, in bytes, that can ever
    /// pass, so keep it at or above the receiver's `max_request_body_size`. Needs
    /// `bytes_per_second`. Default: `bytes_per_second`.
    pub bytes_burst: Option<Burst>,
    /// Export requests per second, per tenant, 1 to 1,000,000,000 (a request that feeds two
    /// pipelines naming this processor counts twice). Absent:
    /// requests are not limited.
    pub requests_per_second: Option<PerSecond>,
    /// Requests a tenant may send at once. Needs `requests_per_second`. Default:
    /// `requests_per_second`.
    pub requests_burst: Option<Burst>,
    /// Limits for named tenants, by tenant id (Loki/Mimir id rules, checked when read). Each
    /// entry may set any of the six keys above; the rest are inherited (see the module docs).
    /// Default: none.
    pub overrides: BTreeMap<TenantId, Limits>,
    /// A store shared by the replicas of a tier (`store.redis`), so that a tenant gets these
    /// limits once across the tier instead of once per replica. Absent: each replica limits on
    /// its own.
    pub store: Option<StoreConfig>,
}

/// One tenant's limits in `overrides`; every key is optional and inherits the top level's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Records per second for this tenant.
    pub records_per_second: Option<PerSecond>,
    /// Record burst for this tenant.
    pub burst: Option<Burst>,
    /// Bytes per second for this tenant.
    pub bytes_per_second: Option<PerSecond>,
    /// Byte burst for this tenant.
    pub bytes_burst: Option<Burst>,
    /// Requests per second for this tenant.
    pub requests_per_second: Option<PerSecond>,
    /// Request burst for this tenant.
    pub requests_burst: Option<Burst>,
}

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Spans, metric data points or log records.
    Records,
    /// Request body bytes after decompression.
    Bytes,
    /// Export requests.
    Requests,
}

impl Kind {
    /// Every kind, in the order a tenant's state slots are kept.
    pub(super) const ALL: [Kind; 3] = [Kind::Records, Kind::Bytes, Kind::Requests];

    /// The unit, for messages.
    pub(super) fn unit(self) -> &'static str {
        match self {
            Kind::Records => "records",
            Kind::Bytes => "bytes",
            Kind::Requests => "requests",
        }
    }

    /// The config key of the rate.
    pub(super) fn rate_key(self) -> &'static str {
        match self {
            Kind::Records => "records_per_second",
            Kind::Bytes => "bytes_per_second",
            Kind::Requests => "requests_per_second",
        }
    }

    /// The config key of the burst.
    pub(super) fn burst_key(self) -> &'static str {
        match self {
            Kind::Records => "burst",
            Kind::Bytes => "bytes_burst",
            Kind::Requests => "requests_burst",
        }
    }
}

impl Limits {
    /// `(rate, burst)` as written for `kind`.
    fn get(&self, kind: Kind) -> (Option<PerSecond>, Option<Burst>) {
        match kind {
            Kind::Records => (self.records_per_second, self.burst),
            Kind::Bytes => (self.bytes_per_second, self.bytes_burst),
            Kind::Requests => (self.requests_per_second, self.requests_burst),
        }
    }
}

impl TenantLimitConfig {
    /// The top-level limits, in the shape of an override.
    pub(super) fn defaults(&self) -> Limits {
        Limits {
            records_per_second: self.records_per_second,
            burst: self.burst,
            bytes_per_second: self.bytes_per_second,
            bytes_burst: self.bytes_burst,
            requests_per_second: self.requests_per_second,
            requests_burst: self.requests_burst,
        }
    }

    /// The limit of `kind` for a tenant with `over` (or the top level's when `None`); `None`
    /// when that kind is not limited.
    pub(super) fn rate(&self, over: Option<&Limits>, kind: Kind) -> Option<Rate> {
        let (rate, burst) = self.defaults().get(kind);
        let default = rate.map(|r| Rate {
            per_second: r,
            burst: burst.unwrap_or(r.into()),
        });
        let Some(over) = over else { return default };
        match over.get(kind) {
            (None, None) => default,
            (Some(r), Some(b)) => Some(Rate {
                per_second: r,
                burst: b,
            }),
            (Some(r), None) => Some(Rate {
                per_second: r,
                burst: default.map_or(r.into(), |d| d.burst.max(r.into())),
            }),
            (None, Some(b)) => default.map(|d| Rate { burst: b, ..d }),
        }
    }

    /// `(key, message)` for each invalid setting; pure (no I/O).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let defaults = self.defaults();
        limit_problems("", &defaults, None, &mut out);
        for (tenant, over) in &self.overrides {
            limit_problems(
                &format!("overrides.{tenant}."),
                over,
                Some(&defaults),
                &mut out,
            );
        }
        if let Some(store) = &self.store {
            let only_records = std::iter::once(&defaults)
                .chain(self.overrides.values())
                .all(|l| l.bytes_per_second.is_none() && l.requests_per_second.is_none());
            for (key, message) in store.problems(only_records) {
                out.push((format!("store.{key}"), message));
            }
        }
        out
    }
}

/// Problems of one set of limits written at `prefix`, inheriting rates from `defaults`: a
/// burst without a rate.
fn limit_problems(
    prefix: &str,
    limits: &Limits,
    defaults: Option<&Limits>,
    out: &mut Vec<(String, String)>,
) {
    for kind in Kind::ALL {
        let (rate, burst) = limits.get(kind);
        let inherited = defaults.and_then(|d| d.get(kind).0);
        if burst.is_some() && rate.or(inherited).is_none() {
            out.push((
                format!("{prefix}{}", kind.burst_key()),
                format!(
                    "is set but {} is not: a burst needs a rate{}",
                    kind.rate_key(),
                    if defaults.is_some() {
                        " (here or at the top level)"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
}
