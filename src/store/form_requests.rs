//! The `form_requests` table: course requests made through the issue form.

use super::*;

crate::word_enum::word_enum! {
    /// Where a form request is.
    FormState {
        /// A check failed; the author is to fix the form.
        Invalid => "invalid",
        /// Valid, waiting for an approver's `/approve`.
        PendingApproval => "pending_approval",
        /// Approved; its command is queued or running.
        Approved => "approved",
        /// Valid, and its command is queued or running.
        Queued => "queued",
        /// Cancelled with `/cancel` while it waited.
        Cancelled => "cancelled",
        Done => "done",
        Failed => "failed",
    }
}

/// A form request as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct FormRequest {
    pub repo: String,
    pub issue: i64,
    pub author: String,
    /// The answers keyed by field id (JSON object).
    pub fields: Value,
    pub command: Option<String>,
    pub state: FormState,
    pub approved_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(super) async fn upsert_form_request(
    conn: &mut Conn,
    r: &FormRequest,
    now: i64,
) -> Result<(), sqlx::Error> {
    q(
        "INSERT INTO form_requests (repo, issue, author, fields, command, state, approved_by,
                                    created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         ON CONFLICT (repo, issue) DO UPDATE
            SET author = excluded.author, fields = excluded.fields, command = excluded.command,
                state = excluded.state, approved_by = excluded.approved_by,
                updated_at = excluded.updated_at",
    )
    .bind(&r.repo)
    .bind(r.issue)
    .bind(&r.author)
    .bind(r.fields.to_string())
    .bind(&r.command)
    .bind(r.state.as_str())
    .bind(&r.approved_by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn set_form_state(
    conn: &mut Conn,
    repo: &str,
    issue: i64,
    state: FormState,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(
        q("UPDATE form_requests SET state = $3, updated_at = $4 WHERE repo = $1 AND issue = $2")
            .bind(repo)
            .bind(issue)
            .bind(state.as_str())
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

fn form_request(row: &Row) -> Result<FormRequest, StoreError> {
    Ok(from_row!(row => FormRequest {
        repo, issue, author, fields, command, state, approved_by, created_at, updated_at
    }))
}

impl Store {
    /// Stores a form request as its latest check left it.
    pub async fn record_form_request(&self, r: &FormRequest) -> Result<(), StoreError> {
        self.submit(Op::FormRequest(r.clone())).await.map(|_| ())
    }

    /// Moves a form request to `state` (its command ran).
    pub async fn set_form_state(
        &self,
        repo: &str,
        issue: i64,
        state: FormState,
    ) -> Result<(), StoreError> {
        let op = Op::FormState {
            repo: repo.to_string(),
            issue,
            state,
        };
        self.submit(op).await.map(|_| ())
    }

    /// The form requests of a repo (of one issue, when given), oldest first.
    pub async fn form_requests(
        &self,
        repo: &str,
        issue: Option<i64>,
    ) -> Result<Vec<FormRequest>, StoreError> {
        let rows = q(
            "SELECT * FROM form_requests WHERE repo = $1 AND ($2 IS NULL OR issue = $2)
              ORDER BY created_at, issue",
        )
        .bind(repo)
        .bind(issue)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter().map(form_request).collect()
    }
}
