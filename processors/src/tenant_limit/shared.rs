//! `tenant_limit` across a tier: a request is decided by the shared store (`store/`) when it
//! answers, else by the configured fallback. A request larger than a burst is refused here,
//! without a round trip (it could never pass); a request that fits in the records this replica
//! took ahead (`local_budget`) passes without one.
//!
//! Refunds go where the tenant's requests are decided now: this replica's table while the
//! fallback decides, the records held ahead when `local_budget` is set, else the store.
//! Nothing here fails: a store that cannot be reached is the fallback's case.

use std::time::Duration;

use governor::clock::Clock;
use weir_pipeline::{Batch, Outcome, Refusal, RefusalKind, TenantId};

use super::store::{Fallback, Reply, Route, SharedStore, Spend};
use super::{Answer, Group, TenantLimit, amounts, outcome};

impl<C: Clock + Clone + Send + Sync> TenantLimit<C> {
    /// Decides `batch` through `store`, or by its fallback.
    pub(super) async fn process_shared(&self, store: &SharedStore, batch: &Batch) -> Outcome {
        let tenant = &batch.ctx.tenant;
        let group = self.group(tenant);
        if group.limits.iter().all(Option::is_none) {
            return Outcome::pass();
        }
        let amounts = amounts(&batch.ctx, batch.record_count());
        if let Some(answer) = too_large(group, amounts) {
            return outcome(tenant, answer);
        }
        if store.take_prepaid(tenant, amounts[0]) {
            return Outcome::pass();
        }
        if store.route() == Route::Fallback {
            return self.fall_back(store, tenant, group, amounts);
        }
        match store
            .check(tenant, &spends(group, amounts), store.local_budget)
            .await
        {
            Ok(Reply::Admitted { extra }) => {
                store.add_prepaid(tenant, extra);
                Outcome::pass()
            }
            Ok(Reply::Wait { after, kind }) => match group.limits[kind].as_deref() {
                Some(limiter) => outcome(tenant, Answer::Wait { limiter, after }),
                // The store named a kind this tenant does not limit: only a store written by a
                // replica with other limits can; its wait still holds.
                None => Outcome::Refuse {
                    reason: Refusal::new(
                        RefusalKind::RateLimited,
                        format!("tenant {tenant} is over its limit"),
                    ),
                    retry_after: Some(after),
                },
            },
            Err(_) => {
                store.count_fallback();
                self.fall_back(store, tenant, group, amounts)
            }
        }
    }

    /// Decides by the fallback while the store is given up.
    fn fall_back(
        &self,
        store: &SharedStore,
        tenant: &TenantId,
        group: &Group<C>,
        amounts: [u64; 3],
    ) -> Outcome {
        match store.fallback {
            Fallback::Local => self.decide_local(tenant, group, amounts),
            Fallback::Allow => Outcome::pass(),
            Fallback::Deny => Outcome::Refuse {
                reason: Refusal::new(
                    RefusalKind::Unavailable,
                    "the store that shares tenant limits across weir replicas cannot be reached; \
                     retry later",
                ),
                retry_after: Some(store.retry_interval()),
            },
        }
    }

    /// Gives `amounts` back to `tenant` where its requests are decided now.
    pub(super) fn refund_shared(
        &self,
        store: &SharedStore,
        tenant: &TenantId,
        group: &Group<C>,
        amounts: [u64; 3],
    ) {
        if store.is_down() {
            self.refund_local(tenant, group, amounts);
        } else if store.local_budget > 0 {
            store.add_prepaid(tenant, amounts[0]);
        } else {
            store.refund(tenant, &spends(group, amounts));
        }
    }
}

/// The refusal of a request that spends more than one of `group`'s bursts.
fn too_large<C: Clock>(group: &Group<C>, amounts: [u64; 3]) -> Option<Answer<'_, C>> {
    group
        .limits
        .iter()
        .zip(amounts)
        .find_map(|(limiter, n)| match limiter.as_deref() {
            Some(l) if n > l.rate().burst.get() => Some(Answer::TooLarge { limiter: l, n }),
            _ => None,
        })
}

/// What a request spending `amounts` asks of the store, kind by kind.
fn spends<C: Clock>(group: &Group<C>, amounts: [u64; 3]) -> [Spend; 3] {
    let mut out = [Spend::default(); 3];
    for ((spend, limiter), n) in out.iter_mut().zip(&group.limits).zip(amounts) {
        if let Some(l) = limiter {
            let rate = l.rate();
            let unit_us = Duration::from_secs(1).as_micros() as f64 / rate.per_second.get() as f64;
            *spend = Spend {
                unit_us,
                burst_us: unit_us * rate.burst.get() as f64,
                n,
            };
        }
    }
    out
}
