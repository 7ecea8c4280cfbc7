//! Stopping on a signal, without a moment in which a signal is lost.

/// Ctrl-C and SIGTERM (what Fly and Docker send), listened for from the
/// moment this is made. It is made before the listener is bound: a stop sent
/// as soon as `/readyz` answers must stop the server gracefully, not meet the
/// default action (death) or a handler that nobody awaits.
pub(crate) struct StopSignal {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl StopSignal {
    pub(crate) fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let term = signal(SignalKind::terminate());
            let int = signal(SignalKind::interrupt());
            if let Err(e) = term.as_ref().and(int.as_ref()) {
                tracing::warn!(error = %e, "cannot listen for stop signals");
            }
            Self {
                term: term.ok(),
                int: int.ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// Until the next stop signal (never, if none could be listened for).
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        {
            async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = next(&mut self.term) => {}
                () = next(&mut self.int) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
