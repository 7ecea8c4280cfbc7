//! A listener whose connections can be killed from a handler (`Fault::Drop`).

#![allow(unused_imports)]

use super::*;

// ---------------------------------------------------------------------------
// A listener whose connections can be killed from a handler (Fault::Drop)
// ---------------------------------------------------------------------------

/// Connect info handed to every request: flipping it kills the connection.
#[derive(Clone, Debug)]
pub(crate) struct ConnKill(pub(crate) Arc<AtomicBool>);

pub(crate) struct KillListener {
    pub(crate) inner: tokio::net::TcpListener,
}

impl Listener for KillListener {
    type Io = KillStream;
    type Addr = ConnKill;

    async fn accept(&mut self) -> (KillStream, ConnKill) {
        loop {
            match self.inner.accept().await {
                Ok((io, _)) => {
                    let _ = io.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    return (
                        KillStream {
                            io,
                            kill: kill.clone(),
                        },
                        ConnKill(kill),
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<ConnKill> {
        Ok(ConnKill(Arc::new(AtomicBool::new(false))))
    }
}

impl Connected<IncomingStream<'_, KillListener>> for ConnKill {
    fn connect_info(stream: IncomingStream<'_, KillListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP stream that fails every read and write once its flag is set, so
/// hyper drops the connection without writing a response.
pub(crate) struct KillStream {
    pub(crate) io: tokio::net::TcpStream,
    pub(crate) kill: Arc<AtomicBool>,
}

pub(crate) fn killed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "fake GitHub dropped the connection",
    )
}

impl AsyncRead for KillStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
