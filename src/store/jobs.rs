//! The `jobs` table: the queue, its leases and step journals.

use super::*;

impl Store {
    /// Ends the leases of every running job, so the next claim takes them at
    /// once (their journals resume them). Only for the owner of the database
    /// at start-up; returns how many.
    pub async fn expire_leases(&self) -> Result<u64, StoreError> {
        match self.submit(Op::ExpireLeases).await? {
            Out::Count(n) => Ok(n),
            _ => Err(StoreError::WriterGone),
        }
    }

    /// One job, whatever its state.
    pub async fn job(&self, id: i64) -> Result<Option<JobRow>, StoreError> {
        let row = q(format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.inner.read)
            .await?;
        row.map(|r| job_row(&r)).transpose()
    }
    /// The jobs a delivery implied, oldest first.
    pub async fn jobs_of_delivery(&self, delivery_id: &str) -> Result<Vec<JobRow>, StoreError> {
        let rows = q(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id IN ({JOBS_OF_DELIVERY}) ORDER BY id"
        ))
        .bind(delivery_id)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter().map(job_row).collect()
    }
    /// Jobs by state; every state is present (0 when none), for `/metrics`.
    pub async fn job_counts(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut counts: BTreeMap<String, i64> = JobState::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), 0))
            .collect();
        let rows = q("SELECT state, COUNT(*) FROM jobs GROUP BY state")
            .fetch_all(&self.inner.read)
            .await?;
        for r in rows {
            counts.insert(r.try_get(0)?, r.try_get(1)?);
        }
        Ok(counts)
    }
    /// How long until a job may become claimable: the earliest retry time of a
    /// queued job (pushed back to the live lease of a job of the same
    /// installation, which blocks it) or lease expiry of a running one. `None`:
    /// nothing queued or running, so an idle worker can wait for a wake-up.
    /// `Some(ZERO)`: something is due now.
    pub async fn next_due_in(&self) -> Result<Option<Duration>, StoreError> {
        let now = self.now();
        let mut db = &self.inner.read;
        let running = running_leases(&mut db).await?;
        let heads = queue_heads(&mut db).await?;
        let blocked_until = |inst: Option<i64>| {
            running
                .iter()
                .filter(|(i, until)| *i == inst && *until > now)
                .map(|(_, until)| *until)
                .max()
                .unwrap_or(0)
        };
        let due = heads
            .iter()
            .map(|h| h.next_run_at.max(blocked_until(h.installation)))
            .chain(running.iter().map(|(_, until)| *until))
            .min();
        Ok(due.map(|d| Duration::from_millis(u64::try_from(d.saturating_sub(now)).unwrap_or(0))))
    }
}

pub(super) const JOB_COLUMNS: &str =
    "id, delivery_id, kind, installation_id, payload, state, attempts, \
     max_attempts, next_run_at, lease_owner, lease_until, journal, last_error, result, \
     created_at, updated_at";

pub(super) fn job_row(r: &Row) -> Result<JobRow, StoreError> {
    Ok(from_row!(r => JobRow {
        id, delivery_id, kind, installation_id, payload, state, attempts, max_attempts,
        next_run_at, lease_owner, lease_until, journal, last_error, result, created_at, updated_at
    }))
}

/// The ids of the jobs of the delivery whose id is `$1` (`j` is the job),
/// through `jobs_delivery` (delivery_at, delivery_id). That index starts
/// with the delivery's time so that new entries are appended, not scattered
/// over random pages. Filters on `j` go inside this subquery: SQLite's
/// planner, given `state = …` beside it in an UPDATE, scans by state.
pub(super) const JOBS_OF_DELIVERY: &str = "SELECT j.id FROM deliveries d
    JOIN jobs j ON j.delivery_at = d.received_at AND j.delivery_id = d.id
    WHERE d.id = $1";

/// Inserts the jobs of deliveries that this same batch inserted at `now`,
/// which is therefore their deliveries' `received_at` (the foreign key
/// checks it).
pub(super) async fn insert_jobs(
    conn: &mut Conn,
    jobs: &[(&str, &PreparedJob)],
    now: i64,
    around: Around,
) -> Result<(), sqlx::Error> {
    let chunks = chunked(jobs);
    for (i, chunk) in chunks.iter().enumerate() {
        let sql = values_sql(
            around.chunk(i, chunks.len()),
            "INSERT INTO jobs (delivery_id, delivery_at, kind, installation_id, payload, state, \
             attempts, max_attempts, next_run_at, created_at, updated_at) VALUES ",
            "(?,?,?,?,?,'queued',0,?,?,?,?)",
            chunk.len(),
            "",
        );
        let mut q = q(sql);
        for (delivery_id, j) in *chunk {
            q = q
                .bind(*delivery_id)
                .bind(now)
                .bind(j.kind.as_str())
                .bind(j.installation_id)
                .bind(j.payload.as_str())
                .bind(j.max_attempts)
                .bind(now)
                .bind(now)
                .bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Claims a running job whose lease expired (its worker died; it resumes from
/// its journal), unless its installation holds another live lease. `{skip}`
/// is the backend's row-skipping clause.
const RECLAIM_SQL: &str =
    "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2 + $3, lease_ms = $3,
            attempts = attempts + 1, updated_at = $2
      WHERE id = (SELECT j.id FROM jobs j
                   WHERE j.state = 'running' AND j.lease_until <= $2
                     AND NOT EXISTS (SELECT 1 FROM jobs r
                                      WHERE r.state = 'running' AND r.lease_until > $2
                                        AND r.installation_id IS NOT DISTINCT FROM j.installation_id)
                   ORDER BY j.lease_until, j.id LIMIT 1{skip})
      RETURNING id, delivery_id, kind, installation_id, payload, journal, attempts, max_attempts";

/// Claims one queued job chosen by [`claim`], if it is still queued.
const TAKE_SQL: &str =
    "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2 + $3, lease_ms = $3,
            attempts = attempts + 1, updated_at = $2
      WHERE id = (SELECT j.id FROM jobs j WHERE j.id = $4 AND j.state = 'queued'{skip})
      RETURNING id, delivery_id, kind, installation_id, payload, journal, attempts, max_attempts";

/// The key of the transaction-level advisory lock a PostgreSQL claim takes:
/// "one job per installation" reads other instances' claims, so claims take
/// turns (each is a few short statements); the rows themselves are taken
/// with `SKIP LOCKED`.
const CLAIM_LOCK: i64 = 0x006f_7263_5f63_6c6d; // "orc_clm"

/// The first queued job of an installation (None: jobs without one).
pub(super) struct Head {
    installation: Option<i64>,
    id: i64,
    next_run_at: i64,
}

/// The first queued job of each installation that has any. The
/// installations are found by a loose index scan (one probe each), and each
/// head by one more, so a deep queue of one installation, blocked behind
/// its running job, costs a claim no more than a short one. Jobs of one
/// installation run in order, so only its head can be next.
pub(super) async fn queue_heads(db: &mut impl Db) -> Result<Vec<Head>, sqlx::Error> {
    let installations = q("WITH RECURSIVE inst(i) AS (
                SELECT MIN(installation_id) FROM jobs WHERE state = 'queued'
              UNION ALL
                SELECT (SELECT MIN(j.installation_id) FROM jobs j
                         WHERE j.state = 'queued' AND j.installation_id > inst.i)
                  FROM inst WHERE inst.i IS NOT NULL)
            SELECT i FROM inst WHERE i IS NOT NULL")
    .fetch_all(db.on())
    .await?;
    let mut keys: Vec<Option<i64>> = vec![None];
    for r in installations {
        keys.push(Some(r.try_get(0)?));
    }
    let mut heads = Vec::with_capacity(keys.len());
    for key in keys {
        let sql = match key {
            Some(_) => {
                "SELECT id, next_run_at FROM jobs WHERE state = 'queued' AND installation_id = $1
                         ORDER BY next_run_at, id LIMIT 1"
            }
            None => {
                "SELECT id, next_run_at FROM jobs WHERE state = 'queued' AND installation_id IS NULL
                      ORDER BY next_run_at, id LIMIT 1"
            }
        };
        let mut stmt = q(sql);
        if let Some(k) = key {
            stmt = stmt.bind(k);
        }
        let row = stmt.fetch_optional(db.on()).await?;
        if let Some(r) = row {
            heads.push(Head {
                installation: key,
                id: r.try_get(0)?,
                next_run_at: r.try_get(1)?,
            });
        }
    }
    Ok(heads)
}

/// Every running job's installation and lease end (few: one per worker).
pub(super) async fn running_leases(
    db: &mut impl Db,
) -> Result<Vec<(Option<i64>, i64)>, sqlx::Error> {
    let rows =
        q("SELECT installation_id, COALESCE(lease_until, 0) FROM jobs WHERE state = 'running'")
            .fetch_all(db.on())
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

fn raw_job(r: &Row) -> Result<RawJob, sqlx::Error> {
    Ok(from_row!(r => RawJob {
        id, delivery_id, kind, installation_id, payload, journal, attempts, max_attempts
    }))
}

/// Expired leases first (resume crashed work), then the oldest due head of
/// an installation that holds no live lease.
pub(super) async fn claim(
    conn: &mut Conn,
    owner: &str,
    lease_ms: i64,
    now: i64,
) -> Result<Option<RawJob>, sqlx::Error> {
    let backend = conn.backend();
    if backend == Backend::Postgres {
        q("SELECT pg_advisory_xact_lock($1)")
            .bind(CLAIM_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    let reclaim = RECLAIM_SQL.replace("{skip}", backend.skip_locked());
    if let Some(r) = q(reclaim)
        .bind(owner)
        .bind(now)
        .bind(lease_ms)
        .fetch_optional(&mut *conn)
        .await?
    {
        return raw_job(&r).map(Some);
    }
    let running = running_leases(conn).await?;
    let mut heads = queue_heads(conn).await?;
    heads.retain(|h| {
        h.next_run_at <= now
            && !running
                .iter()
                .any(|(i, until)| *i == h.installation && *until > now)
    });
    heads.sort_by_key(|h| (h.next_run_at, h.id));
    let take = TAKE_SQL.replace("{skip}", backend.skip_locked());
    for h in heads {
        if let Some(r) = q(take.as_str())
            .bind(owner)
            .bind(now)
            .bind(lease_ms)
            .bind(h.id)
            .fetch_optional(&mut *conn)
            .await?
        {
            return raw_job(&r).map(Some);
        }
    }
    Ok(None)
}

pub(super) async fn touch(
    conn: &mut Conn,
    job_id: i64,
    owner: &str,
    journal: Option<&str>,
    now: i64,
) -> Result<Result<Out, StoreError>, sqlx::Error> {
    let done = q("UPDATE jobs SET journal = COALESCE($4, journal),
                lease_until = $3 + COALESCE(lease_ms, 0), updated_at = $3
          WHERE id = $1 AND state = 'running' AND lease_owner = $2")
    .bind(job_id)
    .bind(owner)
    .bind(now)
    .bind(journal)
    .execute(&mut *conn)
    .await?;
    Ok(held(done.rows_affected(), job_id))
}

pub(super) async fn finish(
    conn: &mut Conn,
    job_id: i64,
    owner: &str,
    end: &PreparedEnd,
    now: i64,
) -> Result<Result<Out, StoreError>, sqlx::Error> {
    // lease_owner stays as a record of who ran the job last.
    let (state, next_run_at, result, error, refund) = match end {
        PreparedEnd::Done { result } => ("done", None, Some(result.as_str()), None, 0i64),
        PreparedEnd::Failed { error } => ("failed", None, None, Some(error.as_str()), 0),
        PreparedEnd::Retry {
            after_ms,
            error,
            refund,
        } => (
            "queued",
            Some(now.saturating_add(*after_ms)),
            None,
            Some(error.as_str()),
            i64::from(*refund),
        ),
    };
    let done = q(
        "UPDATE jobs SET state = $3, next_run_at = COALESCE($4, next_run_at),
                result = COALESCE($5, result), last_error = COALESCE($6, last_error),
                lease_until = NULL, updated_at = $7, attempts = attempts - $8
          WHERE id = $1 AND state = 'running' AND lease_owner = $2",
    )
    .bind(job_id)
    .bind(owner)
    .bind(state)
    .bind(next_run_at)
    .bind(result)
    .bind(error)
    .bind(now)
    .bind(refund)
    .execute(&mut *conn)
    .await?;
    Ok(held(done.rows_affected(), job_id))
}

/// A write guarded by the lease changed its row, or the lease was lost.
fn held(rows: u64, job_id: i64) -> Result<Out, StoreError> {
    if rows == 0 {
        Err(StoreError::LeaseLost(job_id))
    } else {
        Ok(Out::Unit)
    }
}
