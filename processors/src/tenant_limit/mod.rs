//! The `tenant_limit` processor: admission by tenant. Each tenant (`RequestContext::tenant`, set
//! by the receiver) gets records per second, bytes per second and requests per second, each with
//! a burst, from the top level of the config or from its entry in `overrides` (`config.rs`). A
//! request over any of its tenant's limits is refused whole, so one noisy tenant cannot crowd
//! out the others.
//!
//! - **Over the rate**: [`Outcome::Refuse`] with [`RefusalKind::RateLimited`] and `retry_after`
//!   = how long until the request would pass (the longest wait over the limits it breaks). The
//!   receivers answer HTTP 429 with `Retry-After` in whole seconds, or gRPC RESOURCE_EXHAUSTED
//!   with `RetryInfo`.
//! - **Larger than the burst** (governor's `InsufficientCapacity`: more records than `burst`,
//!   or a body larger than `bytes_burst`): such a request could never pass, however long the
//!   client waits, so it is refused as [`RefusalKind::Invalid`] (HTTP 400, gRPC
//!   INVALID_ARGUMENT; no `retry_after`) with a message naming the burst and its key, and the
//!   client does not retry it forever. It is not admitted "when the bucket is full" either:
//!   that would let a tenant exceed its rate by sending only oversized requests.
//! - **Three limits, nothing spent for a refused request**: governor has no refund, so the
//!   tenant's three GCRA states live in this processor's own table (`table.rs`) and governor's
//!   rate limiters run over a scratch copy of them, through a [`governor::state::StateStore`]
//!   that keeps nothing (`limiter.rs`). All the request's limits are checked on the copy; the
//!   copy is stored only when every one passed, under the table's lock, so a request refused by
//!   its byte limit spends none of its record or request budget, and two concurrent requests
//!   of one tenant cannot both spend the same tokens. There is no over-spend.
//! - **Refunded when refused later**: a request admitted here and then refused after this
//!   processor (a later processor, a full queue, another tenant's part of a split request) gets
//!   its records, bytes and request back ([`Processor::refund`]), so a tenant pays only for
//!   what weir took.
//! - **One limiter per distinct quota**: tenants with the same rate and burst of a kind share
//!   one limiter (governor's GCRA parameters); the state is keyed by tenant.
//!
//! Units: records are spans, metric data points or log records (`Signal::record_count`, the
//! unit the receivers count); bytes are `RequestContext::body_bytes`, the body after
//! decompression as the receiver measured it (a request the receiver did not measure, `0`,
//! spends no bytes); every batch is one request. The limits belong to one processor instance:
//! weir builds one instance per processor id and shares it between the pipelines that name it
//! (`src/app.rs`), so a tenant's traces, metrics and logs spend one budget; define two ids
//! (`tenant_limit/traces`, `tenant_limit/logs`) to limit signals separately.
//!
//! Memory: a tenant is held from its first admitted request until its buckets have refilled;
//! requests sweep the table one shard at a time, so memory follows the tenants active in the
//! last refill time plus 8 s, not every id ever seen (`table.rs`).
//!
//! **Shared by a tier** (`store`, see `store/` and `shared.rs`): the same limits kept in
//! Redis, checked by one round trip per request on Redis's clock, so replicas enforce one limit
//! per tenant; while the store cannot be reached the `fallback` decides (this table, everything
//! passes, or everything is refused), for `retry_interval` at a time.
//!
//! How it fails: reading the config fails on a rate or burst out of range and on an
//! `overrides` key that is not a tenant id (each checked once, when read);
//! [`TenantLimitConfig::problems`] reports a burst without a rate and the store's settings.
//! Building takes a config that passed both and does not check it again: only the shared
//! store's client can fail to be made ([`TenantLimit::new`], a [`BuildError`]), and
//! [`TenantLimit::with_clock`], without a store, cannot fail. Processing never fails: it
//! passes or refuses. It
//! counts nothing itself: the receivers count refused records by reason
//! (`weir_receiver_refused_records_total{reason="rate_limited"|"invalid"}`).
//!
//! Cost per request: one lookup in `overrides`, one in a shard of the tenant table under its
//! lock, one GCRA check per configured kind (a clock read and some arithmetic each) and one
//! more clock read to date the tenant's entry; no allocation unless the tenant is new or the
//! request is refused. Measured in `benches/tenant_limit.rs`.

mod config;
mod limiter;
mod rate;
mod shared;
pub mod store;
mod table;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use foldhash::fast::RandomState;
use futures::future::BoxFuture;
use governor::clock::{Clock, Reference};
use weir_pipeline::{
    Batch, BuildError, Metrics, Outcome, Processor, Refusal, RefusalKind, RequestContext, TenantId,
};

pub use config::{Limits, SPEC, TenantLimitConfig, UNSUPPORTED_COLLECTOR_KEYS};
/// The clock of [`TenantLimit::new`], and the fake one tests drive with
/// [`TenantLimit::with_clock`].
pub use governor::clock::{DefaultClock, FakeRelativeClock};
pub use rate::{Burst, MAX_RATE, PerSecond, RateError};
pub use store::{StoreHealth, StoreStatus};

use config::Kind;
use limiter::{Limiter, Slot, Verdict};
use table::{Decision, Entry, Table};

/// The limits of one tenant (or of every tenant without an override), by [`Kind`] order.
#[derive(Debug)]
struct Group<C: Clock> {
    limits: [Option<Arc<Limiter<C>>>; 3],
    /// How long after an admitted request every bucket is full again, in nanoseconds.
    refill_ns: u64,
}

/// The `tenant_limit` processor, on governor's clock `C` (the real one outside tests).
#[derive(Debug)]
pub struct TenantLimit<C: Clock = DefaultClock> {
    default: Group<C>,
    overrides: HashMap<TenantId, Group<C>, RandomState>,
    table: Table,
    clock: C,
    origin: C::Instant,
    /// The store shared by the tier, when `store` is configured.
    store: Option<store::Shared>,
}

/// What the checks of one request found.
enum Answer<'g, C: Clock> {
    Admit,
    Wait {
        limiter: &'g Limiter<C>,
        after: Duration,
    },
    TooLarge {
        limiter: &'g Limiter<C>,
        n: u64,
    },
}

impl TenantLimit<DefaultClock> {
    /// Builds the processor `id` from `cfg`, on the real clock, with the shared store of
    /// `cfg.store` when there is one (its failures and fallbacks counted in `metrics`; the
    /// receivers count what this processor refuses).
    pub fn new(id: &str, cfg: &TenantLimitConfig, metrics: &Metrics) -> Result<Self, BuildError> {
        let mut limit = Self::with_clock(cfg, DefaultClock::default());
        if let Some(store) = &cfg.store {
            let shared = store::SharedStore::new(id, store, metrics)
                .map_err(|source| BuildError::whole(id, source))?;
            limit.store = Some(Arc::new(shared));
        }
        Ok(limit)
    }
}

impl<C: Clock + Clone> TenantLimit<C> {
    /// [`TenantLimit::new`] on `clock` (tests pass a [`FakeRelativeClock`] and advance it),
    /// limiting on this replica only: `cfg.store` is not used.
    pub fn with_clock(cfg: &TenantLimitConfig, clock: C) -> Self {
        let mut shared: Vec<Arc<Limiter<C>>> = Vec::new();
        let mut group = |over: Option<&Limits>| {
            let mut limits: [Option<Arc<Limiter<C>>>; 3] = [None, None, None];
            for (slot, kind) in limits.iter_mut().zip(Kind::ALL) {
                let Some(rate) = cfg.rate(over, kind) else {
                    continue;
                };
                let existing = shared.iter().find(|l| l.kind() == kind && l.rate() == rate);
                let limiter = match existing {
                    Some(l) => Arc::clone(l),
                    None => {
                        let l = Arc::new(Limiter::new(kind, rate, clock.clone()));
                        shared.push(Arc::clone(&l));
                        l
                    }
                };
                *slot = Some(limiter);
            }
            let refill = limits.iter().flatten().map(|l| l.refill()).max();
            let refill_ns = refill.map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
            Group { limits, refill_ns }
        };
        let default = group(None);
        let mut overrides = HashMap::with_hasher(RandomState::default());
        for (tenant, over) in &cfg.overrides {
            overrides.insert(tenant.clone(), group(Some(over)));
        }
        let origin = clock.now();
        Self {
            default,
            overrides,
            table: Table::new(),
            clock,
            origin,
            store: None,
        }
    }

    /// The shared store's health, for `/health`; `None` without a store.
    pub fn store_health(&self) -> Option<StoreHealth> {
        self.store.as_ref().map(|s| s.health())
    }

    /// The limits of `tenant`.
    fn group(&self, tenant: &TenantId) -> &Group<C> {
        self.overrides.get(tenant).unwrap_or(&self.default)
    }

    /// Decides a request of `tenant` spending `amounts` on this replica's table.
    fn decide_local(&self, tenant: &TenantId, group: &Group<C>, amounts: [u64; 3]) -> Outcome {
        let (answer, now) = self
            .table
            .decide(tenant, |tats| self.check(group, tats, amounts));
        self.table.maybe_sweep(now);
        outcome(tenant, answer)
    }

    /// Gives `amounts` back to `tenant` in this replica's table.
    fn refund_local(&self, tenant: &TenantId, group: &Group<C>, amounts: [u64; 3]) {
        self.table.refund(tenant, |tats| {
            for ((limiter, tat), n) in group.limits.iter().zip(tats.iter_mut()).zip(amounts) {
                if let Some(limiter) = limiter {
                    *tat = limiter.refund(*tat, n);
                }
            }
        });
    }

    /// Tenants whose limiter state is held now (those admitted within their refill time, plus
    /// those not swept yet).
    pub fn tracked_tenants(&self) -> usize {
        self.table.len()
    }

    /// Nanoseconds on the clock since the processor was built.
    fn elapsed(&self) -> u64 {
        self.clock.now().duration_since(self.origin).as_u64()
    }

    /// Checks `amounts` (records, bytes, requests) against `group` on copies of the stored
    /// `tats`; commits the copies only when every limit passed. Also returns the time it read
    /// after checking.
    fn check<'g>(
        &self,
        group: &'g Group<C>,
        tats: [u64; 3],
        amounts: [u64; 3],
    ) -> Decision<(Answer<'g, C>, u64)> {
        let slots = tats.map(Slot::new);
        let mut answer = Answer::Admit;
        for ((limiter, slot), n) in group.limits.iter().zip(&slots).zip(amounts) {
            let Some(limiter) = limiter.as_deref() else {
                continue;
            };
            match limiter.check(slot, n) {
                Verdict::Pass => {}
                Verdict::TooLarge => {
                    answer = Answer::TooLarge { limiter, n };
                    break;
                }
                Verdict::Wait(after) => {
                    if !matches!(answer, Answer::Wait { after: longest, .. } if longest >= after) {
                        answer = Answer::Wait { limiter, after };
                    }
                }
            }
        }
        // Read after the checks, so `forget_at` is no earlier than the buckets refill.
        let now = self.elapsed();
        let commit = matches!(answer, Answer::Admit).then(|| Entry {
            tats: slots.map(|s| s.get()),
            forget_at: now.saturating_add(group.refill_ns),
        });
        Decision {
            answer: (answer, now),
            commit,
        }
    }
}

/// The refusal for `answer`, or a pass.
fn outcome<C: Clock>(tenant: &TenantId, answer: Answer<'_, C>) -> Outcome {
    match answer {
        Answer::Admit => Outcome::pass(),
        Answer::Wait { limiter, after } => {
            let (kind, rate) = (limiter.kind(), limiter.rate());
            Outcome::Refuse {
                reason: Refusal::new(
                    RefusalKind::RateLimited,
                    format!(
                        "tenant {tenant} is over its limit of {} {} per second (burst {}); \
                         retry in {:.3} s",
                        rate.per_second,
                        kind.unit(),
                        rate.burst,
                        after.as_secs_f64()
                    ),
                ),
                retry_after: Some(after),
            }
        }
        Answer::TooLarge { limiter, n } => {
            let (kind, rate) = (limiter.kind(), limiter.rate());
            Outcome::Refuse {
                reason: Refusal::new(
                    RefusalKind::Invalid,
                    format!(
                        "this request has {n} {unit}, more than tenant {tenant}'s burst of {} \
                         {unit} ({}): it can never pass; send smaller requests",
                        rate.burst,
                        kind.burst_key(),
                        unit = kind.unit(),
                    ),
                ),
                retry_after: None,
            }
        }
    }
}

impl<C> Processor for TenantLimit<C>
where
    C: Clock + Clone + Send + Sync,
{
    fn process(&self, batch: &mut Batch) -> Outcome {
        let tenant = &batch.ctx.tenant;
        let group = self.group(tenant);
        if group.limits.iter().all(Option::is_none) {
            return Outcome::pass();
        }
        let amounts = amounts(&batch.ctx, batch.record_count());
        self.decide_local(tenant, group, amounts)
    }

    fn waits(&self) -> bool {
        self.store.is_some()
    }

    fn process_async<'a>(&'a self, batch: &'a mut Batch) -> BoxFuture<'a, Outcome> {
        match &self.store {
            Some(store) => Box::pin(self.process_shared(store, batch)),
            None => Box::pin(std::future::ready(self.process(batch))),
        }
    }

    fn refund(&self, ctx: &RequestContext, records: u64) {
        let group = self.group(&ctx.tenant);
        let amounts = amounts(ctx, records);
        match &self.store {
            Some(store) => self.refund_shared(store, &ctx.tenant, group, amounts),
            None => self.refund_local(&ctx.tenant, group, amounts),
        }
    }
}

/// What a request of `ctx` with `records` records spends, by [`Kind`] order.
fn amounts(ctx: &RequestContext, records: u64) -> [u64; 3] {
    [records, ctx.body_bytes as u64, 1]
}
