//! Bounded tenant label values: at most `max` tenants keep their name in metric labels, the
//! rest are counted under `other`, so a client inventing tenant ids cannot grow weir's
//! `/metrics` without bound — nor keep real tenants out of it:
//!
//! - A tenant proven by a token or a client certificate is preferred: when the names are all
//!   taken it replaces the least recently seen tenant that was only claimed (by a header or a
//!   resource attribute).
//! - A claimed tenant gets a name only while there is room, or by replacing a claimed tenant
//!   idle for `idle_after`; so junk ids sent once age out instead of holding the names until
//!   restart.
//!
//! A replaced tenant's counters are folded into `other` by the registry, so totals never drop.
//! Nothing here fails.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use crate::TenantId;

/// The label value for tenants past the limit.
pub const OTHER: &str = "other";

/// Default number of tenants named in metric labels.
pub const DEFAULT_MAX: usize = 1000;

/// Default idle time after which a claimed tenant's name may go to another tenant.
pub const DEFAULT_IDLE_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug)]
struct Entry {
    /// Milliseconds since `epoch` when it was last seen.
    seen: AtomicU64,
    proven: AtomicBool,
}

/// A label lookup: the value to use, and the tenant whose name it replaced, if any.
pub(super) struct Label {
    pub value: Arc<str>,
    pub replaced: Option<Arc<str>>,
}

#[derive(Debug)]
pub(super) struct TenantLabels {
    max: usize,
    idle_after: Duration,
    epoch: Instant,
    named: RwLock<HashMap<Arc<str>, Entry>>,
    /// No claimed tenant can be idle before this (ms since `epoch`): lookups of unnamed
    /// claimed tenants skip the scan until then.
    next_idle: AtomicU64,
}

impl Default for TenantLabels {
    fn default() -> Self {
        Self::new(DEFAULT_MAX, DEFAULT_IDLE_AFTER)
    }
}

impl TenantLabels {
    pub(super) fn new(max: usize, idle_after: Duration) -> Self {
        Self {
            max,
            idle_after,
            epoch: Instant::now(),
            named: RwLock::default(),
            next_idle: AtomicU64::new(0),
        }
    }

    fn ms(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// The label of `tenant` at `now`; `proven` when a token or certificate names it.
    pub(super) fn label_at(&self, tenant: &TenantId, proven: bool, now: Instant) -> Label {
        let at = self.ms(now);
        if let Some((name, entry)) = self.named.read().get_key_value(tenant.as_str()) {
            entry.seen.store(at, Ordering::Relaxed);
            if proven {
                entry.proven.store(true, Ordering::Relaxed);
            }
            return Label {
                value: Arc::clone(name),
                replaced: None,
            };
        }
        let other = || Label {
            value: Arc::from(OTHER),
            replaced: None,
        };
        if !proven
            && self.named.read().len() >= self.max
            && at < self.next_idle.load(Ordering::Relaxed)
        {
            return other();
        }
        let mut named = self.named.write();
        if let Some((name, entry)) = named.get_key_value(tenant.as_str()) {
            entry.seen.store(at, Ordering::Relaxed);
            return Label {
                value: Arc::clone(name),
                replaced: None,
            };
        }
        let mut replaced = None;
        if named.len() >= self.max {
            let idle = u64::try_from(self.idle_after.as_millis()).unwrap_or(u64::MAX);
            // The least recently seen claimed tenant, and when the next one turns idle.
            let oldest = named
                .iter()
                .filter(|(_, e)| !e.proven.load(Ordering::Relaxed))
                .map(|(n, e)| (e.seen.load(Ordering::Relaxed), n))
                .min_by_key(|(seen, _)| *seen)
                .map(|(seen, n)| (seen, Arc::clone(n)));
            match oldest {
                Some((seen, victim)) if proven || at.saturating_sub(seen) >= idle => {
                    named.remove(&victim);
                    replaced = Some(victim);
                }
                Some((seen, _)) => {
                    self.next_idle
                        .store(seen.saturating_add(idle), Ordering::Relaxed);
                    return other();
                }
                None => {
                    self.next_idle.store(u64::MAX, Ordering::Relaxed);
                    return other();
                }
            }
        }
        let value: Arc<str> = Arc::from(tenant.as_str());
        named.insert(
            Arc::clone(&value),
            Entry {
                seen: AtomicU64::new(at),
                proven: AtomicBool::new(proven),
            },
        );
        // The next idle time is recomputed by the next scan.
        self.next_idle.store(0, Ordering::Relaxed);
        Label { value, replaced }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        TenantId::new(s).expect("tenant")
    }

    #[test]
    fn tenants_past_the_limit_are_other() {
        let labels = TenantLabels::new(2, DEFAULT_IDLE_AFTER);
        let now = Instant::now();
        let label = |s: &str| labels.label_at(&t(s), false, now).value;
        assert_eq!(&*label("a"), "a");
        assert_eq!(&*label("b"), "b");
        assert_eq!(&*label("c"), OTHER);
        assert_eq!(&*label("a"), "a", "a named tenant keeps its name");
        for i in 0..1000 {
            assert_eq!(&*label(&format!("x{i}")), OTHER);
        }
        assert_eq!(labels.named.read().len(), 2);
    }

    #[test]
    fn a_proven_tenant_replaces_the_least_recently_seen_claimed_one() {
        let labels = TenantLabels::new(2, DEFAULT_IDLE_AFTER);
        let t0 = Instant::now();
        labels.label_at(&t("junk-1"), false, t0);
        labels.label_at(&t("junk-2"), false, t0 + Duration::from_secs(1));
        let got = labels.label_at(&t("team-a"), true, t0 + Duration::from_secs(2));
        assert_eq!(&*got.value, "team-a");
        assert_eq!(got.replaced.as_deref(), Some("junk-1"));
        // Proven tenants are never replaced: a second one takes junk-2's name, a third none.
        labels.label_at(&t("team-b"), true, t0 + Duration::from_secs(3));
        let third = labels.label_at(&t("team-c"), true, t0 + Duration::from_secs(4));
        assert_eq!(&*third.value, OTHER);
        let late = t0 + DEFAULT_IDLE_AFTER * 10;
        assert_eq!(&*labels.label_at(&t("junk-3"), false, late).value, OTHER);
    }

    #[test]
    fn claimed_tenants_idle_for_long_enough_make_room() {
        let idle = Duration::from_secs(60);
        let labels = TenantLabels::new(2, idle);
        let t0 = Instant::now();
        labels.label_at(&t("junk-1"), false, t0);
        labels.label_at(&t("busy"), false, t0);
        // busy keeps sending; junk-1 never comes back.
        labels.label_at(&t("busy"), false, t0 + Duration::from_secs(50));
        let early = labels.label_at(&t("late"), false, t0 + Duration::from_secs(59));
        assert_eq!(&*early.value, OTHER, "nobody idle yet");
        let got = labels.label_at(&t("late"), false, t0 + Duration::from_secs(61));
        assert_eq!(&*got.value, "late");
        assert_eq!(got.replaced.as_deref(), Some("junk-1"));
        assert_eq!(
            &*labels
                .label_at(&t("busy"), false, t0 + Duration::from_secs(62))
                .value,
            "busy"
        );
    }
}
