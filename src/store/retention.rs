//! Bounded storage: a delivery's body is kept only as long as it is useful
//! (`ORC_RETENTION_DAYS`), finished jobs are emptied and then removed, and a
//! delivery's id outlives its body for as long as GitHub may redeliver it,
//! so that dedupe keeps working. Requests, the catalog and the audit log are
//! kept. Work is done in small batches, each its own short transaction, so
//! pruning never holds up ingest.

use super::*;

/// GitHub keeps (and may redeliver) three days of deliveries; a day more
/// covers clocks and sweeps.
const REDELIVERY_WINDOW_MS: i64 = 4 * 24 * 3600 * 1000;

/// What one batch removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Delivery bodies dropped (their ids stay).
    pub bodies: u64,
    /// Finished jobs whose payload and journal were dropped.
    pub emptied_jobs: u64,
    /// Finished jobs removed (nothing referred to them).
    pub jobs: u64,
    /// Delivery ids removed (past the redelivery window, no job left).
    pub deliveries: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.bodies + self.emptied_jobs + self.jobs + self.deliveries
    }
}

pub(super) struct PruneOp {
    pub(super) retention_ms: i64,
    pub(super) batch: i64,
}

impl Store {
    /// One batch of pruning (at most `batch` rows of each kind) for
    /// `retention`; call again while it removes anything.
    pub async fn prune(&self, retention: Duration, batch: usize) -> Result<Pruned, StoreError> {
        let op = PruneOp {
            retention_ms: duration_ms(retention),
            batch: i64::try_from(batch.max(1)).unwrap_or(1000),
        };
        match self.submit(Op::Prune(op)).await? {
            Out::Pruned(p) => Ok(p),
            _ => Err(StoreError::WriterGone),
        }
    }

    /// Bytes the database takes on disk (SQLite: the file's pages; PostgreSQL:
    /// the whole database), for `/metrics`.
    pub async fn disk_bytes(&self) -> Result<i64, StoreError> {
        let sql = match self.inner.backend {
            Backend::Sqlite => {
                "SELECT p.page_count * s.page_size FROM pragma_page_count() p, pragma_page_size() s"
            }
            Backend::Postgres => "SELECT pg_database_size(current_database())",
        };
        Ok(q(sql).fetch_one(&self.inner.read).await?.try_get(0)?)
    }
}

/// Empties the bodies of old deliveries whose jobs are over: takes the body
/// to write (`$1`, empty), now (`$2`), the cut-off (`$3`) and a batch size
/// (`$4`).
pub(super) const PRUNE_BODIES: &str = "UPDATE deliveries SET body = $1, pruned_at = $2
          WHERE id IN (SELECT d.id FROM deliveries d
                        WHERE d.received_at < $3 AND d.pruned_at IS NULL
                          AND NOT EXISTS (SELECT 1 FROM jobs j
                                       WHERE j.delivery_at = d.received_at AND j.delivery_id = d.id
                                             AND j.state IN ('queued', 'running'))
                        LIMIT $4)";

/// Each of these takes a cut-off time ($1) and a batch size ($2). The
/// first two name `state IN ('done', 'failed')` exactly as the partial
/// index jobs_finished does: SQLite uses a partial index only for a
/// condition it can match term by term.
pub(super) const PRUNE_BY_CUT: [&str; 3] = [
    // Finished jobs keep their row (ids, state) but not their contents.
    "UPDATE jobs SET payload = '{}', journal = NULL, result = NULL
          WHERE id IN (SELECT id FROM jobs
                        WHERE state IN ('done', 'failed') AND updated_at < $1 AND payload <> '{}'
                        LIMIT $2)",
    "DELETE FROM jobs
          WHERE id IN (SELECT j.id FROM jobs j
                        WHERE j.state IN ('done', 'failed') AND j.updated_at < $1
                          AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.job_id = j.id)
                          AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.job_id = j.id)
                          AND NOT EXISTS (SELECT 1 FROM made_repos m WHERE m.job_id = j.id)
                        LIMIT $2)",
    // A delivery's id outlives its body, so a late redelivery is still
    // refused as a duplicate.
    "DELETE FROM deliveries
          WHERE id IN (SELECT d.id FROM deliveries d
                        WHERE d.pruned_at IS NOT NULL AND d.received_at < $1
                          AND NOT EXISTS (SELECT 1 FROM jobs j
                                       WHERE j.delivery_at = d.received_at AND j.delivery_id = d.id)
                        LIMIT $2)",
];

pub(super) async fn prune(conn: &mut Conn, op: &PruneOp, now: i64) -> Result<Pruned, sqlx::Error> {
    let body_cut = now - op.retention_ms;
    // A failed job may be queued again by a redelivery: keep what it needs
    // while GitHub may still send one.
    let job_cut = now - op.retention_ms.max(REDELIVERY_WINDOW_MS);
    let empty: &[u8] = &[];
    let bodies = q(PRUNE_BODIES)
        .bind(empty)
        .bind(now)
        .bind(body_cut)
        .bind(op.batch)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let mut by_cut = PRUNE_BY_CUT.map(|sql| (sql, 0u64));
    for (sql, affected) in &mut by_cut {
        *affected = q(*sql)
            .bind(job_cut)
            .bind(op.batch)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    let [(_, emptied_jobs), (_, jobs), (_, deliveries)] = by_cut;
    Ok(Pruned {
        bodies,
        emptied_jobs,
        jobs,
        deliveries,
    })
}
