//! [`StallIo`]: a connection whose writes may not stay blocked longer than `write_timeout`.
//!
//! A client that stops reading its answers fills the socket's send buffer, and every write
//! then waits. The wrapper starts a timer when a write (or flush, or shutdown) cannot proceed
//! and stops it when one does; when the timer fires, the write fails with `TimedOut`, which ends
//! the connection. Reads pass through untouched. [`Stalled::fired`] tells afterwards whether
//! that is why the connection ended.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// `T` with bounded write stalls.
pub struct StallIo<T> {
    inner: T,
    timeout: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    fired: Arc<AtomicBool>,
}

/// Whether a [`StallIo`]'s timer ended its connection.
#[derive(Clone)]
pub struct Stalled(Arc<AtomicBool>);

impl Stalled {
    /// True once a write failed for being blocked too long.
    pub fn fired(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl<T> StallIo<T> {
    /// Wraps `inner`; writes may stay blocked for `timeout`.
    pub fn new(inner: T, timeout: Duration) -> (Self, Stalled) {
        let fired = Arc::new(AtomicBool::new(false));
        let io = Self {
            inner,
            timeout,
            timer: None,
            fired: Arc::clone(&fired),
        };
        (io, Stalled(fired))
    }

    /// Passes a ready result through (stopping the timer); on `Pending`, runs the timer.
    fn watch<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if polled.is_ready() {
            self.timer = None;
            return polled;
        }
        let timeout = self.timeout;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if timer.as_mut().poll(cx).is_ready() {
            self.fired.store(true, Ordering::Release);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("a write stayed blocked for {timeout:?} (write_timeout)"),
            )));
        }
        Poll::Pending
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    #[tokio::test]
    async fn a_write_blocked_past_the_timeout_fails() {
        // A pipe of 16 bytes nobody reads: the second write blocks until the timer fires.
        let (client, _server) = tokio::io::duplex(16);
        let (mut io, stalled) = StallIo::new(client, Duration::from_millis(50));
        io.write_all(&[0; 16]).await.expect("fits the pipe");
        assert!(!stalled.fired());
        let err = io.write_all(&[0; 16]).await.expect_err("blocked");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(stalled.fired());
    }

    #[tokio::test]
    async fn a_reader_that_keeps_up_is_never_cut() {
        let (client, mut server) = tokio::io::duplex(16);
        let (mut io, stalled) = StallIo::new(client, Duration::from_secs(30));
        let reader = tokio::spawn(async move {
            let mut sink = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut server, &mut sink)
                .await
                .map(|_| sink.len())
        });
        io.write_all(&[1; 4096])
            .await
            .expect("drained by the reader");
        io.shutdown().await.expect("shutdown");
        drop(io);
        assert_eq!(reader.await.expect("join").expect("read"), 4096);
        assert!(!stalled.fired());
    }
}
