//! The `requests` table: each command asked in an issue and its state.

use super::*;

impl Store {
    /// The commands asked on one issue, oldest first.
    pub async fn requests_for_issue(
        &self,
        repo: &str,
        issue: i64,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT repo, issue, comment_id, author, command, command_index, state, job_id
             FROM requests WHERE repo = ?1 AND issue = ?2 ORDER BY id",
        )
        .bind(repo)
        .bind(issue)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RequestRecord {
                    repo: row.try_get(0)?,
                    issue: row.try_get(1)?,
                    comment_id: row.try_get(2)?,
                    author: row.try_get(3)?,
                    command: row.try_get(4)?,
                    command_index: row.try_get(5)?,
                    state: decode(row.try_get::<&str, _>(6)?)?,
                    job_id: row.try_get(7)?,
                })
            })
            .collect()
    }
}

pub(super) async fn upsert_request(
    conn: &mut SqliteConnection,
    r: &RequestRecord,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO requests (repo, issue, comment_id, author, command, command_index, state, job_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
         ON CONFLICT (job_id, command_index) DO UPDATE
            SET command = excluded.command, state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(&r.repo)
    .bind(r.issue)
    .bind(r.comment_id)
    .bind(&r.author)
    .bind(&r.command)
    .bind(r.command_index)
    .bind(r.state.as_str())
    .bind(r.job_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
