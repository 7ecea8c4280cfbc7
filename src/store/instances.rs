//! What several instances on one database share besides the queue: who is
//! running (`instances`), named leases for work only one of them may do
//! (`leases`), instants that outlive a restart (`marks`), and the budget of
//! content-creating GitHub writes (`pacing_keys`, `content_writes`).
//!
//! Every write goes through the store's one writer, in its batch
//! transaction; each rule below is one statement (or a row lock taken
//! first), so it holds across instances on PostgreSQL as on SQLite.

use super::*;

/// How long GitHub's window for content-creating writes is.
const PACE_WINDOW_MS: i64 = 60_000;

/// Someone else runs under this instance name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveInstance {
    pub name: String,
    pub host: String,
    pub pid: i64,
    /// Milliseconds since its last heartbeat.
    pub heartbeat_age_ms: i64,
}

pub(super) enum SharedOp {
    Register {
        name: String,
        host: String,
        pid: i64,
        fresh_ms: i64,
        take_over: bool,
    },
    Heartbeat {
        name: String,
        pid: i64,
    },
    Unregister {
        name: String,
        pid: i64,
    },
    TryLease {
        name: String,
        owner: String,
        ms: i64,
    },
    ReleaseLease {
        name: String,
        owner: String,
    },
    SetMark {
        name: String,
        at: i64,
    },
    ReservePace {
        key: i64,
        limit: i64,
    },
}

impl Store {
    async fn shared(&self, op: SharedOp) -> Result<u64, StoreError> {
        match self.submit(Op::Shared(op)).await? {
            Out::Count(n) => Ok(n),
            _ => Err(StoreError::WriterGone),
        }
    }

    /// Names this process `name` in the database. Refused with
    /// [`StoreError::InstanceLive`] while another process under that name
    /// renewed its heartbeat within `fresh`, unless `take_over` (the caller
    /// knows that process is gone). Then the jobs the name held are made
    /// claimable at once, so they resume now rather than when their leases
    /// end; returns how many.
    pub async fn register_instance(
        &self,
        name: &str,
        host: &str,
        pid: u32,
        fresh: Duration,
        take_over: bool,
    ) -> Result<u64, StoreError> {
        self.shared(SharedOp::Register {
            name: name.to_owned(),
            host: host.to_owned(),
            pid: i64::from(pid),
            fresh_ms: duration_ms(fresh),
            take_over,
        })
        .await
    }

    /// Renews the heartbeat; false if another process took the name over.
    pub async fn heartbeat(&self, name: &str, pid: u32) -> Result<bool, StoreError> {
        let n = self
            .shared(SharedOp::Heartbeat {
                name: name.to_owned(),
                pid: i64::from(pid),
            })
            .await?;
        Ok(n > 0)
    }

    /// Removes this process's name at a clean stop.
    pub async fn unregister_instance(&self, name: &str, pid: u32) -> Result<(), StoreError> {
        self.shared(SharedOp::Unregister {
            name: name.to_owned(),
            pid: i64::from(pid),
        })
        .await
        .map(|_| ())
    }

    /// The instances whose heartbeat is younger than `fresh`, by name.
    pub async fn live_instances(&self, fresh: Duration) -> Result<Vec<String>, StoreError> {
        let rows = q("SELECT name FROM instances WHERE heartbeat_at > $1 ORDER BY name")
            .bind(self.now() - duration_ms(fresh))
            .fetch_all(&self.inner.read)
            .await?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(StoreError::from))
            .collect()
    }

    /// Takes (or renews) the lease `name` for `owner` for `hold`; false when
    /// another owner holds it.
    pub async fn try_lease(
        &self,
        name: &str,
        owner: &str,
        hold: Duration,
    ) -> Result<bool, StoreError> {
        let n = self
            .shared(SharedOp::TryLease {
                name: name.to_owned(),
                owner: owner.to_owned(),
                ms: duration_ms(hold),
            })
            .await?;
        Ok(n > 0)
    }

    pub async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        self.shared(SharedOp::ReleaseLease {
            name: name.to_owned(),
            owner: owner.to_owned(),
        })
        .await
        .map(|_| ())
    }

    pub async fn set_mark(&self, name: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.shared(SharedOp::SetMark {
            name: name.to_owned(),
            at: at.timestamp_millis(),
        })
        .await
        .map(|_| ())
    }

    pub async fn mark(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = q("SELECT at FROM marks WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.inner.read)
            .await?;
        row.map(|r| r.try_get(0).map(ms_to_time).map_err(StoreError::from))
            .transpose()
    }

    /// Reserves the next slot for one content-creating GitHub write of
    /// `installation` (None: the App itself) such that no 60 s window holds
    /// more than `limit`; how long to wait for it. Shared by every instance
    /// on the database, and kept across restarts.
    pub async fn reserve_content_write(
        &self,
        installation: Option<u64>,
        limit: usize,
    ) -> Result<Duration, StoreError> {
        let key = installation
            .and_then(|i| i64::try_from(i).ok())
            .unwrap_or(0);
        let wait = self
            .shared(SharedOp::ReservePace {
                key,
                limit: i64::try_from(limit.max(1)).unwrap_or(i64::MAX),
            })
            .await?;
        Ok(Duration::from_millis(wait))
    }
}

pub(super) async fn exec_shared(
    conn: &mut Conn,
    op: &SharedOp,
    now: i64,
) -> Result<Result<Out, StoreError>, sqlx::Error> {
    let n = match op {
        SharedOp::Register {
            name,
            host,
            pid,
            fresh_ms,
            take_over,
        } => return register(conn, name, host, *pid, now - fresh_ms, *take_over, now).await,
        SharedOp::Heartbeat { name, pid } => {
            q("UPDATE instances SET heartbeat_at = $3 WHERE name = $1 AND pid = $2")
                .bind(name)
                .bind(*pid)
                .bind(now)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        }
        SharedOp::Unregister { name, pid } => {
            q("DELETE FROM instances WHERE name = $1 AND pid = $2")
                .bind(name)
                .bind(*pid)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        }
        SharedOp::TryLease { name, owner, ms } => q(
            "INSERT INTO leases (name, owner, until_at) VALUES ($1, $2, $3 + $4)
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_at = excluded.until_at
              WHERE leases.until_at <= $3 OR leases.owner = excluded.owner
             RETURNING name",
        )
        .bind(name)
        .bind(owner)
        .bind(now)
        .bind(*ms)
        .fetch_optional(&mut *conn)
        .await?
        .map_or(0, |_| 1),
        SharedOp::ReleaseLease { name, owner } => {
            q("DELETE FROM leases WHERE name = $1 AND owner = $2")
                .bind(name)
                .bind(owner)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        }
        SharedOp::SetMark { name, at } => q("INSERT INTO marks (name, at) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET at = excluded.at")
        .bind(name)
        .bind(*at)
        .execute(&mut *conn)
        .await?
        .rows_affected(),
        SharedOp::ReservePace { key, limit } => reserve_pace(conn, *key, *limit, now).await?,
    };
    Ok(Ok(Out::Count(n)))
}

async fn register(
    conn: &mut Conn,
    name: &str,
    host: &str,
    pid: i64,
    stale_before: i64,
    take_over: bool,
    now: i64,
) -> Result<Result<Out, StoreError>, sqlx::Error> {
    // One statement: of two processes registering one name at once, the
    // second finds the first's fresh row and is refused.
    let won = q(
        "INSERT INTO instances (name, host, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (name) DO UPDATE
            SET host = excluded.host, pid = excluded.pid,
                started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at
          WHERE instances.heartbeat_at <= $5 OR $6 = 1
         RETURNING name",
    )
    .bind(name)
    .bind(host)
    .bind(pid)
    .bind(now)
    .bind(stale_before)
    .bind(i64::from(take_over))
    .fetch_optional(&mut *conn)
    .await?;
    if won.is_none() {
        let row = q("SELECT host, pid, heartbeat_at FROM instances WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
        let heartbeat: i64 = row.try_get(2)?;
        return Ok(Err(StoreError::InstanceLive(LiveInstance {
            name: name.to_owned(),
            host: row.try_get(0)?,
            pid: row.try_get(1)?,
            heartbeat_age_ms: now - heartbeat,
        })));
    }
    // Worker names are `{instance}/w{n}`; instance names hold no LIKE
    // wildcard but `_`, which is escaped.
    let pattern = format!("{}/%", name.replace('\\', "\\\\").replace('_', "\\_"));
    let taken = q("UPDATE jobs SET lease_until = $1
          WHERE state = 'running' AND lease_until > $1 AND lease_owner LIKE $2 ESCAPE '\\'")
    .bind(now)
    .bind(pattern)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(Ok(Out::Count(taken)))
}

/// The slot of one write: now, unless the `limit`-th latest reservation is
/// less than a window ago, then a window after it. Reservations come out in
/// order, so no window holds more than `limit`. The row of `pacing_keys` is
/// locked first, so two instances reserving for one key take turns.
async fn reserve_pace(conn: &mut Conn, key: i64, limit: i64, now: i64) -> Result<u64, sqlx::Error> {
    q("INSERT INTO pacing_keys (installation_id) VALUES ($1)
       ON CONFLICT (installation_id) DO UPDATE SET installation_id = excluded.installation_id")
    .bind(key)
    .execute(&mut *conn)
    .await?;
    q("DELETE FROM content_writes WHERE installation_id = $1 AND at <= $2")
        .bind(key)
        .bind(now - PACE_WINDOW_MS)
        .execute(&mut *conn)
        .await?;
    let kth: Option<i64> = q(
        "SELECT at FROM content_writes WHERE installation_id = $1 ORDER BY at DESC LIMIT 1 OFFSET $2",
    )
    .bind(key)
    .bind(limit - 1)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| r.try_get(0))
    .transpose()?;
    let slot = kth.map_or(now, |at| (at + PACE_WINDOW_MS).max(now));
    q("INSERT INTO content_writes (installation_id, at) VALUES ($1, $2)")
        .bind(key)
        .bind(slot)
        .execute(&mut *conn)
        .await?;
    Ok(u64::try_from(slot - now).unwrap_or(0))
}
