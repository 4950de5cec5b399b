//! Bounded tenant label values: the first `max` tenants seen keep their name in metric labels,
//! later ones are counted under `other`, so a client inventing tenant ids cannot grow weir's
//! `/metrics` without bound.

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::TenantId;

/// The label value for tenants past the limit.
pub const OTHER: &str = "other";

/// Default number of tenants named in metric labels.
pub const DEFAULT_MAX: usize = 1000;

#[derive(Debug)]
pub(super) struct TenantLabels {
    max: usize,
    named: RwLock<HashSet<Arc<str>>>,
}

impl Default for TenantLabels {
    fn default() -> Self {
        Self {
            max: DEFAULT_MAX,
            named: RwLock::default(),
        }
    }
}

impl TenantLabels {
    pub(super) fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    pub(super) fn label(&self, tenant: &TenantId) -> Arc<str> {
        if let Some(name) = self.named.read().get(tenant.as_str()) {
            return Arc::clone(name);
        }
        let mut named = self.named.write();
        if let Some(name) = named.get(tenant.as_str()) {
            return Arc::clone(name);
        }
        if named.len() >= self.max {
            return Arc::from(OTHER);
        }
        let name: Arc<str> = Arc::from(tenant.as_str());
        named.insert(Arc::clone(&name));
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_past_the_limit_are_other() {
        let mut labels = TenantLabels::default();
        labels.set_max(2);
        let t = |s: &str| TenantId::new(s).expect("tenant");
        assert_eq!(&*labels.label(&t("a")), "a");
        assert_eq!(&*labels.label(&t("b")), "b");
        assert_eq!(&*labels.label(&t("c")), OTHER);
        assert_eq!(
            &*labels.label(&t("a")),
            "a",
            "a named tenant keeps its name"
        );
        for i in 0..1000 {
            assert_eq!(&*labels.label(&t(&format!("x{i}"))), OTHER);
        }
        assert_eq!(labels.named.read().len(), 2);
    }
}
