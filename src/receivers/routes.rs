//! The pipelines a receiver feeds, swappable while it serves: a reload puts the new ones in
//! place for the next request, while requests already routed finish with the ones they
//! loaded. Nothing here fails.

use std::sync::Arc;

use parking_lot::RwLock;
use weir_pipeline::Router;

/// A receiver's current [`Router`]; clones share it.
#[derive(Clone, Default)]
pub struct Routes(Arc<RwLock<Arc<Router>>>);

impl Routes {
    /// Routes to `router`.
    pub fn new(router: Router) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(router))))
    }

    /// The router now; a request keeps it until it is answered.
    pub fn load(&self) -> Arc<Router> {
        Arc::clone(&self.0.read())
    }

    /// Routes the next requests to `router`; returns the one it replaces.
    pub fn store(&self, router: Router) -> Arc<Router> {
        std::mem::replace(&mut *self.0.write(), Arc::new(router))
    }
}
