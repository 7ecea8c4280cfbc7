//! The `requests` table: each command asked in an issue and its state.

use super::*;

impl Store {
    /// The commands asked on one issue, oldest first.
    pub async fn requests_for_issue(
        &self,
        repo: &str,
        issue: i64,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let rows = q(
            "SELECT repo, issue, comment_id, author, command, command_index, state, job_id,
                    status_comment
             FROM requests WHERE repo = $1 AND issue = $2 ORDER BY id",
        )
        .bind(repo)
        .bind(issue)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(from_row!(row => RequestRecord {
                    repo, issue, comment_id, author, command, command_index, state, job_id,
                    status_comment
                }))
            })
            .collect()
    }
}

impl Store {
    /// Whether `author` got an answer on this issue since `since`, from a job
    /// other than `job_id` (throttled commands got none).
    pub async fn answered_since(
        &self,
        repo: &str,
        issue: i64,
        author: &str,
        since: chrono::DateTime<Utc>,
        job_id: i64,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> = q(
            "SELECT id FROM requests WHERE repo = $1 AND issue = $2 AND author = $3
                AND job_id != $4 AND state != 'throttled' AND updated_at >= $5 LIMIT 1",
        )
        .bind(repo)
        .bind(issue)
        .bind(author)
        .bind(job_id)
        .bind(since.timestamp_millis())
        .fetch_optional(&self.inner.read)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
        Ok(found.is_some())
    }
}

pub(super) async fn upsert_request(
    conn: &mut Conn,
    r: &RequestRecord,
    now: i64,
) -> Result<(), sqlx::Error> {
    q(
        "INSERT INTO requests (repo, issue, comment_id, author, command, command_index, state, job_id,
                               status_comment, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
         ON CONFLICT (job_id, command_index) DO UPDATE
            SET command = excluded.command, state = excluded.state,
                status_comment = COALESCE(excluded.status_comment, requests.status_comment),
                updated_at = excluded.updated_at",
    )
    .bind(&r.repo)
    .bind(r.issue)
    .bind(r.comment_id)
    .bind(&r.author)
    .bind(&r.command)
    .bind(r.command_index)
    .bind(r.state.as_str())
    .bind(r.job_id)
    .bind(r.status_comment)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// The repo this App created under that name, if it did (any case).
    pub async fn made_repo(&self, full_name: &str) -> Result<Option<MadeRepo>, StoreError> {
        let row = q("SELECT full_name, course_key, job_id FROM made_repos WHERE full_name = $1")
            .bind(full_name)
            .fetch_optional(&self.inner.read)
            .await?;
        row.map(|r| Ok(from_row!(&r => MadeRepo { full_name, course_key, job_id })))
            .transpose()
    }
}

/// The first job to create a repo names it; a later adoption keeps that.
pub(super) async fn insert_made_repo(
    conn: &mut Conn,
    m: &MadeRepo,
    now: i64,
) -> Result<(), sqlx::Error> {
    q(
        "INSERT INTO made_repos (full_name, course_key, job_id, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (full_name) DO NOTHING",
    )
    .bind(&m.full_name)
    .bind(&m.course_key)
    .bind(m.job_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
