//! `orcoursetrion gitreload`: the service on each LMS host that imports a
//! course when its repo is pushed, a drop-in for MIT's gitreload (same
//! settings, endpoints, checks, answers and import command) that also
//! verifies signatures, keeps its queue across restarts, folds a burst of
//! pushes into one import, and reports results (`/imports`, commit statuses).
//!
//! Data flows one way: a push is checked and stored by `routes` before it is
//! answered, `worker`s claim stored tasks and `run` their commands on the
//! `checkout`, and `status` tells GitHub how it went.

mod checkout;
mod payload;
mod routes;
mod run;
mod settings;
mod status;
mod worker;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

pub use settings::{GitreloadSettings, SettingsError, Sources};

use crate::github::{ClientConfig, GitHubError};
use crate::http::{BodyBudget, ConnLimits};
use crate::store::{ImportStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum GitreloadError {
    #[error("cannot open the task database {path}: {source}")]
    Store { path: String, source: StoreError },
    #[error("{0}")]
    Lock(String),
    #[error("cannot set up commit statuses: {0}")]
    GitHub(#[from] GitHubError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A started gitreload: its address, and the handle that stops it.
pub struct RunningGitreload {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    _lock: Option<std::fs::File>,
}

use worker::Shared;

impl RunningGitreload {
    /// Stops listening and stops the workers; an import still running is
    /// killed and runs again at the next start.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.shared.store.close().await;
    }
}

/// Opens the task store, takes back what a stopped process left running,
/// and starts the listener and `NUM_THREADS` workers.
pub async fn start(
    settings: GitreloadSettings,
    client: ClientConfig,
) -> Result<RunningGitreload, GitreloadError> {
    let lock = crate::server::own_database(&format!("sqlite://{}", settings.database))
        .map_err(|e| GitreloadError::Lock(e.to_string()))?;
    let store = ImportStore::open(&settings.database)
        .await
        .map_err(|source| GitreloadError::Store {
            path: settings.database.clone(),
            source,
        })?;
    let mark = std::fs::canonicalize(&settings.database)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| settings.database.clone());
    if lock.is_some() {
        let ended = run::reap(&mark);
        if ended > 0 {
            tracing::warn!(
                processes = ended,
                "ended the commands a killed gitreload left running"
            );
        }
        match store.recover().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tasks = n, "running again the tasks a stopped process left"),
            Err(source) => {
                return Err(GitreloadError::Store {
                    path: settings.database.clone(),
                    source,
                })
            }
        }
    }
    let statuses = match &settings.statuses {
        Some(creds) => Some(status::Statuses::new(creds, &settings.host, client)?),
        None => None,
    };
    if settings.secrets.is_empty() {
        tracing::warn!(
            "--allow-unsigned: pushes are not verified; anyone who can reach this port can queue imports"
        );
    }
    let addr = SocketAddr::from(([0, 0, 0, 0], settings.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| GitreloadError::Bind { addr, source })?;
    let addr = listener.local_addr().unwrap_or(addr);
    let threads = settings.num_threads.max(1);
    tracing::info!(%addr, repodir = %settings.repodir.display(), threads,
        signed = !settings.secrets.is_empty(), statuses = statuses.is_some(), "gitreload listening");
    let shared = Arc::new(Shared {
        store,
        settings,
        wake: Notify::new(),
        statuses,
        answers: Mutex::new(Default::default()),
        imports_run: AtomicU64::new(0),
        mark,
    });
    let (stop, stop_rx) = watch::channel(false);
    let router = routes::router(shared.clone(), BodyBudget::default());
    let mut tasks = vec![tokio::spawn(crate::http::serve(
        listener,
        router,
        ConnLimits::default(),
        stop_rx.clone(),
    ))];
    for _ in 0..threads {
        tasks.push(tokio::spawn(worker::work(shared.clone(), stop_rx.clone())));
    }
    Ok(RunningGitreload {
        addr,
        stop,
        tasks,
        shared,
        _lock: lock,
    })
}

/// `orcoursetrion gitreload`: runs until SIGTERM or Ctrl-C.
pub async fn serve(settings: GitreloadSettings) -> Result<(), GitreloadError> {
    let mut stop = crate::stop::StopSignal::install();
    let running = start(settings, ClientConfig::default()).await?;
    stop.recv().await;
    tracing::info!("stopping");
    running.shutdown().await;
    Ok(())
}
