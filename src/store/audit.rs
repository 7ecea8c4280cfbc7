//! The `audit` table: every GitHub write, with the job that made it.

use super::*;

impl Store {
    /// The audit entries of one job, oldest first.
    pub async fn audit_for_job(&self, job_id: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = q(
            "SELECT job_id, installation_id, method, path, status, at, delivery_id, actor,
                    COALESCE(started_at, at) AS started_at FROM audit
             WHERE job_id = $1 ORDER BY id",
        )
        .bind(job_id)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(from_row!(r => AuditEntry {
                    job_id, delivery_id, actor, installation_id, method, path, status, started_at, at
                }))
            })
            .collect()
    }
}

pub(super) async fn insert_audit(
    conn: &mut Conn,
    entries: &[AuditEntry],
) -> Result<(), sqlx::Error> {
    for e in entries {
        q(
            "INSERT INTO audit (job_id, installation_id, method, path, status, at, delivery_id, actor,
                                started_at, ended_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $6)",
        )
        .bind(e.job_id)
        .bind(e.installation_id)
        .bind(&e.method)
        .bind(&e.path)
        .bind(e.status.map(i64::from))
        .bind(e.at.timestamp_millis())
        .bind(&e.delivery_id)
        .bind(&e.actor)
        .bind(e.started_at.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
