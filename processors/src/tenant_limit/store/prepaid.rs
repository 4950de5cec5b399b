//! Records a replica took from the shared store ahead of need (`local_budget`), per tenant:
//! a request that fits in its tenant's remainder is admitted without a round trip. What is held
//! here was already spent in the store, so the tier admits at most one `local_budget` per
//! replica above the shared limit. A tenant is held only while it has records left. Nothing
//! here fails.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use parking_lot::Mutex;
use weir_pipeline::TenantId;

/// Each tenant's records taken ahead.
#[derive(Debug, Default)]
pub(super) struct Prepaid {
    left: Mutex<HashMap<TenantId, u64, RandomState>>,
}

impl Prepaid {
    /// Takes `n` records of `tenant` from what is held; false (nothing taken) when fewer are.
    pub(super) fn take(&self, tenant: &TenantId, n: u64) -> bool {
        let mut left = self.left.lock();
        let Some(held) = left.get_mut(tenant) else {
            return false;
        };
        if *held < n {
            return false;
        }
        *held -= n;
        if *held == 0 {
            left.remove(tenant);
        }
        true
    }

    /// Holds `n` more records of `tenant` (taken ahead, or given back by a refund).
    pub(super) fn add(&self, tenant: &TenantId, n: u64) {
        if n > 0 {
            *self.left.lock().entry(tenant.clone()).or_default() += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_only_what_is_held_and_forgets_an_empty_tenant() {
        let p = Prepaid::default();
        let t = TenantId::new("acme").expect("valid");
        assert!(!p.take(&t, 1), "nothing held yet");
        p.add(&t, 10);
        assert!(!p.take(&t, 11), "more than held takes nothing");
        assert!(p.take(&t, 4));
        assert!(p.take(&t, 6));
        assert!(p.left.lock().is_empty(), "an empty tenant is forgotten");
        assert!(!p.take(&t, 1));
    }
}
