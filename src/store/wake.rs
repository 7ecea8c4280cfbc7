//! Waking idle workers of every instance when work appears. On PostgreSQL a
//! batch that queued or finished jobs sends `NOTIFY orc_jobs` (delivered at
//! its commit), and each instance LISTENs; on SQLite this process is the
//! only one, and ingress wakes its own workers. Workers still look at the
//! queue every `idle_poll`, in case a notification is lost with a connection.

use super::*;
use sqlx::postgres::PgListener;
use std::sync::Mutex;
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

const CHANNEL: &str = "orc_jobs";

pub(super) async fn notify_workers(conn: &mut Conn) -> Result<(), sqlx::Error> {
    if conn.backend() == Backend::Postgres {
        q("SELECT pg_notify('orc_jobs', '')")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// How this process's idle workers learn that a job may have become
/// claimable.
///
/// It also counts the jobs this process's workers are running, by
/// installation. A claim never takes a job of an installation that holds a
/// live lease (one job per installation at a time), so a new job of such an
/// installation is not claimable until that job ends; and the worker that
/// ends it wakes the next one. Ingress need not wake anyone for it. Without
/// this, a burst of deliveries for one installation woke every idle worker
/// once per delivery, for a claim that found nothing and a read of the
/// queue: with a job per delivery, 16 % more writes and four times the CPU
/// per delivery (BENCHMARKS.md).
#[derive(Debug, Default)]
pub struct JobWake {
    notify: Notify,
    running: Mutex<HashMap<Option<i64>, usize>>,
}

impl JobWake {
    pub fn new() -> Arc<JobWake> {
        Arc::new(JobWake::default())
    }

    /// Wakes every idle worker, and leaves a permit for one that is between
    /// "nothing to claim" and waiting, so the wake-up cannot be missed.
    pub fn all(&self) {
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    /// Wakes one idle worker (or leaves the permit for the next to wait).
    pub fn one(&self) {
        self.notify.notify_one();
    }

    /// Jobs of these installations (`None`: jobs that hold none, which also
    /// run one at a time) are committed: wakes the workers, unless a worker
    /// of this process runs a job of each of them (it wakes the next one when
    /// it ends). Call it after the commit, so that a job that ends in between
    /// is either seen here or wakes someone itself.
    pub fn new_jobs(&self, installations: &[Option<i64>]) {
        // No installation named (a redelivery whose jobs this build would
        // not imply again): nothing says they wait, so wake.
        let busy = !installations.is_empty()
            && self
                .running
                .lock()
                .map(|r| installations.iter().all(|i| r.contains_key(i)))
                .unwrap_or(false);
        if !busy {
            self.all();
        }
    }

    /// What an idle worker waits on.
    pub fn notified(&self) -> Notified<'_> {
        self.notify.notified()
    }

    /// Counts a claimed job of `installation` as running until the guard is
    /// dropped. Drop it after the job's end is committed: dropping it wakes
    /// one worker, for a job of the same installation queued behind it.
    pub fn running(self: &Arc<Self>, installation: Option<i64>) -> RunningJob {
        if let Ok(mut r) = self.running.lock() {
            *r.entry(installation).or_default() += 1;
        }
        RunningJob {
            wake: self.clone(),
            installation,
        }
    }
}

/// See [`JobWake::running`].
#[derive(Debug)]
pub struct RunningJob {
    wake: Arc<JobWake>,
    installation: Option<i64>,
}

impl Drop for RunningJob {
    fn drop(&mut self) {
        if let Ok(mut r) = self.wake.running.lock() {
            if let Some(n) = r.get_mut(&self.installation) {
                *n -= 1;
                if *n == 0 {
                    r.remove(&self.installation);
                }
            }
        }
        self.wake.one();
    }
}

impl Store {
    /// Wakes the workers waiting on `wake` whenever any instance commits new
    /// or finished jobs. Does nothing on SQLite. Stops with the store.
    pub fn watch_jobs(&self, wake: Arc<JobWake>) {
        let Pool::Pg(pool) = &self.inner.read else {
            return;
        };
        let pool = pool.clone();
        let mut closing = self.inner.closing.subscribe();
        tokio::spawn(async move {
            loop {
                let listening = async {
                    let mut listener = PgListener::connect_with(&pool).await?;
                    listener.listen(CHANNEL).await?;
                    loop {
                        listener.recv().await?;
                        wake.all();
                    }
                    #[allow(unreachable_code)]
                    Ok::<(), sqlx::Error>(())
                };
                tokio::select! {
                    ended = listening => {
                        if let Err(e) = ended {
                            tracing::warn!(error = %e, "LISTEN on the database stopped; retrying in 1 s");
                        }
                    }
                    _ = closing.changed() => return,
                }
                if *closing.borrow() {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = closing.changed() => return,
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a wake-up is pending (it is consumed).
    async fn woken(wake: &JobWake) -> bool {
        tokio::time::timeout(Duration::from_millis(50), wake.notified())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_job_behind_a_running_one_of_its_installation_wakes_no_one() {
        let wake = JobWake::new();
        wake.new_jobs(&[Some(1)]);
        assert!(woken(&wake).await, "nothing runs: wake");

        let running = wake.running(Some(1));
        assert!(!woken(&wake).await);
        wake.new_jobs(&[Some(1)]);
        assert!(!woken(&wake).await, "installation 1 is running a job");
        wake.new_jobs(&[None]);
        assert!(
            woken(&wake).await,
            "jobs without an installation are another queue"
        );
        wake.new_jobs(&[Some(1), Some(2)]);
        assert!(woken(&wake).await, "installation 2 runs nothing");
        wake.new_jobs(&[]);
        assert!(woken(&wake).await, "a requeue that names no installation");

        let second = wake.running(Some(1));
        drop(running);
        assert!(woken(&wake).await, "an ending job wakes the next");
        wake.new_jobs(&[Some(1)]);
        assert!(
            !woken(&wake).await,
            "one of installation 1's jobs still runs"
        );
        drop(second);
        assert!(woken(&wake).await);
        wake.new_jobs(&[Some(1)]);
        assert!(woken(&wake).await, "none runs any more");
    }
}
