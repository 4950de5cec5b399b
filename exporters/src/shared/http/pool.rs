//! Encode buffers reused across requests, so that a steady flow of exports does not allocate
//! the scratch space of every request body anew. Bounded: at most `MAX_POOLED_BUFFERS`
//! buffers are kept (about one per concurrent request), none larger than
//! `MAX_POOLED_CAPACITY`. Nothing here fails.

use parking_lot::Mutex;

/// Most buffers kept for reuse.
pub(crate) const MAX_POOLED_BUFFERS: usize = 16;
/// Larger buffers are freed after use rather than kept.
pub(crate) const MAX_POOLED_CAPACITY: usize = 16 << 20;

/// A bounded stack of empty buffers whose capacity is reused.
#[derive(Debug, Default)]
pub(crate) struct BufferPool(Mutex<Vec<Vec<u8>>>);

impl BufferPool {
    /// An empty buffer: one given back earlier, with its capacity, or a new one.
    pub(crate) fn take(&self) -> Vec<u8> {
        let mut buf = self.0.lock().pop().unwrap_or_default();
        buf.clear();
        buf
    }

    /// Keeps `buf` for a later [`take`](Self::take), unless it is larger than
    /// [`MAX_POOLED_CAPACITY`] or the pool holds [`MAX_POOLED_BUFFERS`] already.
    pub(crate) fn give(&self, buf: Vec<u8>) {
        if buf.capacity() > MAX_POOLED_CAPACITY {
            return;
        }
        let mut pool = self.0.lock();
        if pool.len() < MAX_POOLED_BUFFERS {
            pool.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_and_the_pool_stays_bounded() {
        let pool = BufferPool::default();
        let mut buf = pool.take();
        buf.extend_from_slice(b"abc");
        let capacity = buf.capacity();
        pool.give(buf);
        let again = pool.take();
        assert!(again.is_empty() && again.capacity() == capacity);
        pool.give(Vec::with_capacity(MAX_POOLED_CAPACITY + 1));
        assert_eq!(pool.take().capacity(), 0, "too large to keep");
        for _ in 0..MAX_POOLED_BUFFERS + 4 {
            pool.give(Vec::with_capacity(8));
        }
        assert_eq!(pool.0.lock().len(), MAX_POOLED_BUFFERS);
    }
}
