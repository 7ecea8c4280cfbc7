//! This process as one instance among several on one database: its name,
//! its registration and heartbeat, and the GitHub write budget it shares with
//! the others. See docs/ARCHITECTURE.md, "Several instances".

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::InstanceSettings;
use crate::github::PaceLedger;
use crate::store::{Store, StoreError};

/// A registered instance.
#[derive(Debug, Clone)]
pub struct Instance {
    pub name: String,
    pub pid: u32,
}

/// The machine's host name, or `localhost` when it cannot be read.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // within it or truncates.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = if rc == 0 {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    // Only what instance names allow (see config): the name goes into a LIKE.
    let clean: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        .take(48)
        .collect();
    if clean.is_empty() {
        "localhost".to_string()
    } else {
        clean
    }
}

/// Whether a process of this host is alive (`kill(pid, 0)`).
fn process_alive(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

impl Instance {
    /// Registers this process under `ORC_INSTANCE` (default: host name and
    /// pid). A name whose heartbeat is fresh belongs to a live process and is
    /// refused, except when that process ran on this host and is gone (a
    /// restart after `kill -9`): then the name, and its jobs, are taken over
    /// at once. Returns the instance and how many jobs it took back.
    pub async fn register(
        store: &Store,
        settings: &InstanceSettings,
    ) -> Result<(Instance, u64), StoreError> {
        let host = host_name();
        let pid = std::process::id();
        let name = settings
            .name
            .clone()
            .unwrap_or_else(|| format!("{host}-{pid}"));
        let fresh = settings.lease;
        let taken = match store
            .register_instance(&name, &host, pid, fresh, false)
            .await
        {
            Err(StoreError::InstanceLive(live))
                if live.host == host
                    && (live.pid == i64::from(pid) || !process_alive(live.pid)) =>
            {
                tracing::info!(instance = %name, old_pid = live.pid, "taking over the name of a process that is gone");
                store
                    .register_instance(&name, &host, pid, fresh, true)
                    .await?
            }
            other => other?,
        };
        Ok((Instance { name, pid }, taken))
    }

    /// The owner name of worker `n` in job leases.
    pub fn worker_owner(&self, n: usize) -> String {
        format!("{}/w{n}", self.name)
    }

    /// Renews the heartbeat every `every` until shutdown, then removes the
    /// name, so that a clean restart never waits for it to go stale.
    pub fn spawn_heartbeat(
        &self,
        store: Store,
        every: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        match store.heartbeat(&me.name, me.pid).await {
                            Ok(true) => {}
                            Ok(false) => tracing::error!(instance = %me.name, "another process took over this instance's name"),
                            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                        }
                    }
                    _ = shutdown.changed() => break,
                }
            }
            if let Err(e) = store.unregister_instance(&me.name, me.pid).await {
                tracing::debug!(error = %e, "could not remove the instance's name");
            }
        })
    }
}

/// The store as the GitHub client's pace ledger: instances on one database
/// share one budget of content-creating writes.
pub struct StorePacer(pub Store);

impl PaceLedger for StorePacer {
    fn reserve(
        &self,
        installation: Option<u64>,
        limit: usize,
    ) -> Pin<Box<dyn Future<Output = Result<Duration, String>> + Send + '_>> {
        Box::pin(async move {
            self.0
                .reserve_content_write(installation, limit)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// A shared handle for `ClientConfig::pace_ledger`.
pub fn pace_ledger(store: &Store) -> Arc<dyn PaceLedger> {
    Arc::new(StorePacer(store.clone()))
}

/// How often old rows are pruned, and how many of each kind per batch.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
const PRUNE_BATCH: usize = 500;

/// Prunes what `ORC_RETENTION_DAYS` no longer keeps: at start-up, then every
/// ten minutes, in small batches until nothing is left to prune.
pub fn spawn_pruner(
    store: Store,
    retention_days: u64,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let retention = Duration::from_secs(retention_days.saturating_mul(86_400));
    tokio::spawn(async move {
        loop {
            let mut total = crate::store::Pruned::default();
            loop {
                match store.prune(retention, PRUNE_BATCH).await {
                    Ok(p) if p.total() > 0 => {
                        total.bodies += p.bodies;
                        total.emptied_jobs += p.emptied_jobs;
                        total.jobs += p.jobs;
                        total.deliveries += p.deliveries;
                        // Let ingest's writes through between batches.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "pruning failed; trying again later");
                        break;
                    }
                }
                if *shutdown.borrow() {
                    return;
                }
            }
            if total.total() > 0 {
                tracing::info!(
                    bodies = total.bodies,
                    emptied_jobs = total.emptied_jobs,
                    jobs = total.jobs,
                    deliveries = total.deliveries,
                    "pruned what the retention period no longer keeps"
                );
            }
            tokio::select! {
                _ = tokio::time::sleep(PRUNE_EVERY) => {}
                _ = shutdown.changed() => return,
            }
        }
    })
}
