//! Large requests are decompressed and decoded away from the runtime's worker threads, at most
//! one per core at a time, so a burst of large (or bomb-like) bodies cannot stall the threads
//! that serve every other request. Small ones stay inline: moving them costs more than it saves.
//!
//! - [`run_blocking`] runs a closure on Tokio's blocking pool (OTLP/HTTP decodes a body that
//!   way).
//! - [`run_in_place`] runs a future with its worker thread handed over to the runtime
//!   (`block_in_place`), for the gRPC calls whose decoding happens inside tonic's service; on a
//!   current-thread runtime (some tests) it runs inline.
//!
//! Never fails, except that a panic inside the closure comes back as an error message.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::Semaphore;

/// Requests at least this large (as received) are decoded off the runtime's worker threads.
pub const OFFLOAD_THRESHOLD: usize = 256 * 1024;

/// The pool's admission: one request at a time per core.
fn pool() -> &'static Arc<Semaphore> {
    static POOL: OnceLock<Arc<Semaphore>> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Arc::new(Semaphore::new(cores))
    })
}

/// Runs `work` for a request of `len` bytes: inline when small, else on the blocking pool once a
/// core is free. `Err` only when `work` panicked.
pub async fn run_blocking<T, F>(len: usize, work: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    if len < OFFLOAD_THRESHOLD {
        return Ok(work());
    }
    let Ok(_permit) = Arc::clone(pool()).acquire_owned().await else {
        return Ok(work()); // never closed; run inline rather than fail
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("decoding the body failed: {e}"))
}

/// Awaits `fut`, which serves a request of `len` bytes: inline when small, else, once a core is
/// free, on this thread after handing its worker role to another thread, so that the decoding
/// inside `fut` does not hold up other requests.
pub async fn run_in_place<F: Future>(len: usize, fut: F) -> F::Output {
    let handle = Handle::current();
    if len < OFFLOAD_THRESHOLD || handle.runtime_flavor() != RuntimeFlavor::MultiThread {
        return fut.await;
    }
    let Ok(_permit) = Arc::clone(pool()).acquire_owned().await else {
        return fut.await;
    };
    tokio::task::block_in_place(|| handle.block_on(fut))
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    const DEADLINE: Duration = Duration::from_secs(30);

    /// With one worker thread, a large request that blocks its thread until another task runs
    /// only finishes because its thread gave up the worker role.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_large_request_leaves_the_worker_free_for_others() {
        let (tx, rx) = mpsc::channel::<()>();
        let other = tokio::spawn(async move {
            let _ = tx.send(());
        });
        let served = run_in_place(OFFLOAD_THRESHOLD, async move {
            // Synchronous, as decoding is: holds this thread until the other task ran.
            rx.recv_timeout(DEADLINE).is_ok()
        })
        .await;
        assert!(
            served,
            "the other task ran while the large request held its thread"
        );
        other.await.expect("other task");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_small_request_stays_inline() {
        let here = std::thread::current().id();
        let there = run_in_place(10, async { std::thread::current().id() }).await;
        assert_eq!(here, there);
    }

    #[tokio::test]
    async fn a_current_thread_runtime_runs_large_requests_inline() {
        let value = run_in_place(OFFLOAD_THRESHOLD, async { 7 }).await;
        assert_eq!(value, 7);
    }
}
