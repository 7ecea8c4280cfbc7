//! Waking idle workers of every instance when work appears. On PostgreSQL a
//! batch that queued or finished jobs sends `NOTIFY orc_jobs` (delivered at
//! its commit), and each instance LISTENs; on SQLite this process is the
//! only one, and ingress wakes its own workers. Workers still look at the
//! queue every `idle_poll`, in case a notification is lost with a connection.

use super::*;
use sqlx::postgres::PgListener;
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

impl Store {
    /// Wakes the workers waiting on `wake` whenever any instance commits new
    /// or finished jobs. Does nothing on SQLite. Stops with the store.
    pub fn watch_jobs(&self, wake: Arc<Notify>) {
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
                        wake.notify_waiters();
                        wake.notify_one();
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
