//! The listener: accepts connections and serves HTTP/1.1 on them with the
//! limits a public endpoint needs before anyone has authenticated.
//!
//! - at most `max_connections` at once; past that, new connections wait in
//!   the kernel's backlog instead of taking memory here;
//! - request headers within `header_timeout`, counted from the moment a
//!   connection is waiting for a request, so an idle keep-alive connection is
//!   closed by the same timer (hyper's `header_read_timeout`);
//! - any connection without I/O for `idle_timeout` is closed, whatever it is
//!   doing (a backstop for states the header timer does not cover);
//! - a small read buffer per connection, so connections that wait for body
//!   budget (see `webhook`) hold little.
//!
//! On shutdown the listener stops accepting and every connection finishes
//! the request it is serving.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// Connection limits; the defaults are `serve`'s.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// `ORC_MAX_CONNECTIONS`.
    pub max_connections: usize,
    /// `ORC_HEADER_TIMEOUT_S`.
    pub header_timeout: Duration,
    /// No I/O for this long closes the connection.
    pub idle_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// hyper's smallest read buffer is 8 KiB; 16 KiB holds any header GitHub sends.
const READ_BUFFER_BYTES: usize = 16 * 1024;

/// Serves `router` on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = shutdown.changed() => return,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            serve_connection(stream, router, limits, shutdown).await;
            drop(permit);
        });
    }
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    limits: ConnLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let started = Instant::now();
    let last_io = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Watched {
        inner: stream,
        started,
        last_io: last_io.clone(),
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(READ_BUFFER_BYTES)
        .keep_alive(true);
    let conn = builder.serve_connection(io, TowerToHyperService::new(router));
    tokio::pin!(conn);
    let mut tick = tokio::time::interval(Duration::from_secs(1).min(limits.idle_timeout));
    let mut draining = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = tick.tick() => {
                let idle = started.elapsed().saturating_sub(Duration::from_millis(last_io.load(Ordering::Relaxed)));
                if idle >= limits.idle_timeout {
                    tracing::debug!(idle_s = idle.as_secs(), "closing an idle connection");
                    return;
                }
            }
            changed = shutdown.changed(), if !draining => {
                draining = true;
                if changed.is_err() || *shutdown.borrow() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// A stream that records when it last moved bytes.
struct Watched {
    inner: TcpStream,
    started: Instant,
    last_io: Arc<AtomicU64>,
}

impl Watched {
    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_io.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
