//! The group-commit writer: one task owns the write connection and commits
//! whatever is waiting in one transaction (see the module docs of `store`).

use super::*;
use tracing::Instrument;

pub(super) struct PreparedJob {
    pub(super) kind: JobKind,
    pub(super) installation_id: Option<i64>,
    pub(super) payload: String,
    pub(super) max_attempts: i64,
}

pub(super) enum PreparedEnd {
    Done {
        result: String,
    },
    Failed {
        error: String,
    },
    /// `refund`: the claim's attempt is given back.
    Retry {
        after_ms: i64,
        error: String,
        refund: bool,
    },
}

pub(super) enum Op {
    Delivery {
        delivery: NewDelivery,
        jobs: Vec<PreparedJob>,
        /// Store the body itself (else only its size).
        keep_body: bool,
    },
    Claim {
        owner: String,
        lease_ms: i64,
    },
    /// Renew the lease, and replace the journal when given.
    Touch {
        job_id: i64,
        owner: String,
        journal: Option<String>,
    },
    Finish {
        job_id: i64,
        owner: String,
        end: PreparedEnd,
    },
    Audit(Vec<AuditEntry>),
    UpsertRun(CatalogRun),
    RepoEvent(RepoEvent),
    FormRequest(FormRequest),
    FormState {
        repo: String,
        issue: i64,
        state: FormState,
    },
    Request(RequestRecord),
    MadeRepo(MadeRepo),
    ExpireLeases,
    Shared(SharedOp),
    Prune(PruneOp),
    Shutdown,
}

pub(super) struct RawJob {
    pub(super) id: i64,
    pub(super) delivery_id: String,
    pub(super) kind: String,
    pub(super) installation_id: Option<i64>,
    pub(super) payload: String,
    pub(super) journal: Option<String>,
    pub(super) attempts: i64,
    pub(super) max_attempts: i64,
}

pub(super) enum Out {
    Delivery(DeliveryOutcome),
    Claim(Option<RawJob>),
    Count(u64),
    Pruned(Pruned),
    Unit,
}

pub(super) type Reply = oneshot::Sender<Result<Out, StoreError>>;

pub(super) struct Pending {
    pub(super) op: Op,
    pub(super) reply: Reply,
}

pub(super) async fn writer_task(
    mut conn: Conn,
    mut rx: mpsc::Receiver<Pending>,
    clock: SharedClock,
    max_batch: usize,
    stats: Arc<StatsCell>,
) {
    let mut buf = Vec::with_capacity(max_batch);
    let mut shutdowns: Vec<Reply> = Vec::new();
    loop {
        if rx.recv_many(&mut buf, max_batch).await == 0 {
            break; // every Store handle is gone
        }
        let mut ops = Vec::with_capacity(buf.len());
        let mut replies = Vec::with_capacity(buf.len());
        for p in buf.drain(..) {
            if matches!(p.op, Op::Shutdown) {
                shutdowns.push(p.reply);
            } else {
                ops.push(p.op);
                replies.push(p.reply);
            }
        }
        if !ops.is_empty() {
            run_batch(&mut conn, ops, replies, now_ms(&clock), &stats).await;
        }
        if !shutdowns.is_empty() {
            rx.close();
            while let Ok(p) = rx.try_recv() {
                if matches!(p.op, Op::Shutdown) {
                    shutdowns.push(p.reply);
                } else {
                    let _ = p.reply.send(Err(StoreError::Closed));
                }
            }
            break;
        }
    }
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the database connection failed");
    }
    for s in shutdowns {
        let _ = s.send(Ok(Out::Unit));
    }
}

/// Copies committed WAL pages into the database file from a pool connection,
/// so that work (and its fsync of the main file) stays off the writer's commit
/// path: with SQLite's default auto-checkpoint, every few hundred deliveries one
/// unlucky commit would also pay for a checkpoint, which is what p99 sees.
/// PASSIVE never blocks the writer or readers. Stops with the store.
pub(super) async fn checkpoint_task(
    pool: SqlitePool,
    writer: mpsc::WeakSender<Pending>,
    stats: Arc<StatsCell>,
) {
    let mut seen = 0u64;
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if pool.is_closed() || writer.upgrade().is_none() {
            return;
        }
        let batches = stats.batches.load(Ordering::Relaxed);
        if batches == seen {
            continue;
        }
        seen = batches;
        stats.in_checkpoint.store(true, Ordering::Relaxed);
        stats.checkpoints.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let done = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await;
        stats.in_checkpoint.store(false, Ordering::Relaxed);
        stats
            .checkpoint_micros
            .fetch_add(micros(started.elapsed()), Ordering::Relaxed);
        if let Err(e) = done {
            tracing::debug!(error = %e, "background WAL checkpoint failed");
        }
    }
}

/// Runs one batch and answers every waiter. If the shared transaction fails,
/// each write is retried alone, so one bad write cannot fail its neighbours and
/// every waiter gets its own answer (never a silent drop).
pub(super) async fn run_batch(
    conn: &mut Conn,
    ops: Vec<Op>,
    replies: Vec<Reply>,
    now: i64,
    stats: &StatsCell,
) {
    let n = ops.len() as u64;
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats.ops.fetch_add(n, Ordering::Relaxed);
    stats.max_batch.fetch_max(n, Ordering::Relaxed);
    let started = std::time::Instant::now();
    let checkpoints_before = stats.checkpoints_seen();
    let result = exec_batch(conn, &ops, now)
        .instrument(tracing::info_span!(target: "orc_profile", "commit", writes = n))
        .await;
    let took = started.elapsed();
    stats
        .commit_micros
        .fetch_add(micros(took), Ordering::Relaxed);
    if took > SLOW_COMMIT {
        stats.slow_commits.fetch_add(1, Ordering::Relaxed);
        // A checkpoint overlapped if one was running at either end, or one
        // started or ended in between.
        if checkpoints_before.1 || stats.checkpoints_seen() != checkpoints_before {
            stats
                .slow_commits_in_checkpoint
                .fetch_add(1, Ordering::Relaxed);
        }
    }
    match result {
        Ok(outs) => {
            for (reply, out) in replies.into_iter().zip(outs) {
                let _ = reply.send(out);
            }
        }
        Err(e) => {
            stats.failed_batches.fetch_add(1, Ordering::Relaxed);
            if ops.len() == 1 {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e.into()));
                }
                return;
            }
            tracing::warn!(error = %e, writes = ops.len(), "group commit failed; retrying each write alone");
            for (op, reply) in ops.iter().zip(replies) {
                let out = match exec_batch(conn, std::slice::from_ref(op), now).await {
                    Ok(mut outs) => outs.pop().unwrap_or(Err(StoreError::WriterGone)),
                    Err(e) => Err(e.into()),
                };
                let _ = reply.send(out);
            }
        }
    }
}

/// One transaction: `Err` means it was rolled back and nothing of it stays.
pub(super) async fn exec_batch(
    conn: &mut Conn,
    ops: &[Op],
    now: i64,
) -> Result<Vec<Result<Out, StoreError>>, sqlx::Error> {
    if let Some(deliveries) = one_statement(ops) {
        return exec_one_statement(conn, &deliveries, now).await;
    }
    let backend = conn.backend();
    let fold = backend == Backend::Sqlite && ops.iter().all(|op| matches!(op, Op::Delivery { .. }));
    if !fold {
        q(backend.begin()).execute(&mut *conn).await?;
    }
    let result = match exec_ops(conn, ops, now, fold).await {
        Ok((outs, Committed::Yes)) => return Ok(outs),
        Ok((outs, Committed::No)) => match q("COMMIT").execute(&mut *conn).await {
            Ok(_) => return Ok(outs),
            Err(e) => e,
        },
        Err(e) => e,
    };
    // Some errors (I/O, full disk) roll back by themselves; then this fails
    // with "no transaction is active", which is fine.
    if let Err(e) = q("ROLLBACK").execute(&mut *conn).await {
        tracing::debug!(error = %e, "rollback after a failed batch");
    }
    Err(result)
}

/// The deliveries of a batch that one INSERT can store whole: deliveries
/// only, none implying a job, distinct ids, at most [`ONE_STATEMENT`] of them.
/// This is most of ingress (comments without a command, events of other
/// repos), and one statement is atomic by itself: no BEGIN and no COMMIT,
/// so the batch costs one round trip to the database thread instead of three.
fn one_statement(ops: &[Op]) -> Option<Vec<(&NewDelivery, bool)>> {
    if ops.len() > ONE_STATEMENT {
        return None;
    }
    let mut seen = HashSet::with_capacity(ops.len());
    ops.iter()
        .map(|op| match op {
            Op::Delivery {
                delivery,
                jobs,
                keep_body,
            } if jobs.is_empty() && seen.insert(delivery.id.as_str()) => {
                Some((delivery, *keep_body))
            }
            _ => None,
        })
        .collect()
}

/// Stores what [`one_statement`] chose, in one autocommitted INSERT. A
/// delivery already stored is a redelivery: its failed jobs, if any, are
/// queued again, each in a statement of its own (it concerns that delivery
/// only, and it is idempotent).
async fn exec_one_statement(
    conn: &mut Conn,
    deliveries: &[(&NewDelivery, bool)],
    now: i64,
) -> Result<Vec<Result<Out, StoreError>>, sqlx::Error> {
    let inserted = insert_deliveries(conn, deliveries, now, Around::default()).await?;
    // From here the deliveries are committed. Should a requeue below fail,
    // run_batch retries each write alone, and those find their delivery
    // stored: a duplicate, which is true, and nothing is lost.
    let mut outs = Vec::with_capacity(deliveries.len());
    for (delivery, _) in deliveries {
        let outcome = if inserted.contains(delivery.id.as_str()) {
            DeliveryOutcome::Stored { jobs: 0 }
        } else {
            match requeue_failed(conn, &delivery.id, now).await? {
                0 => DeliveryOutcome::Duplicate,
                n => DeliveryOutcome::Requeued { jobs: n },
            }
        };
        outs.push(Ok(Out::Delivery(outcome)));
    }
    Ok(outs)
}

/// Whether [`exec_ops`] committed the transaction itself, in the trip of its
/// last statement.
enum Committed {
    Yes,
    No,
}

/// Runs a batch's writes inside a transaction. With `fold` (SQLite, and a
/// batch of deliveries only) the transaction is not open yet: the first
/// INSERT opens it and, when jobs are inserted, the last commits it, each in
/// the same trip to the database thread (see [`Around`]).
async fn exec_ops(
    conn: &mut Conn,
    ops: &[Op],
    now: i64,
    fold: bool,
) -> Result<(Vec<Result<Out, StoreError>>, Committed), sqlx::Error> {
    let mut committed = Committed::No;
    let mut outs: Vec<Option<Result<Out, StoreError>>> = ops.iter().map(|_| None).collect();
    // Whether idle workers of other instances should look at the queue.
    let mut wake = ops
        .iter()
        .any(|op| matches!(op, Op::Finish { .. } | Op::ExpireLeases));

    // Deliveries first, in bulk. The first occurrence of an id in the batch is
    // the one that counts; a repeat inside the same batch is a duplicate of it.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut fresh: Vec<(usize, (&NewDelivery, bool), &[PreparedJob])> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if let Op::Delivery {
            delivery,
            jobs,
            keep_body,
        } = op
        {
            if seen.insert(delivery.id.as_str()) {
                fresh.push((i, (delivery, *keep_body), jobs));
            } else {
                outs[i] = Some(Ok(Out::Delivery(DeliveryOutcome::Duplicate)));
            }
        }
    }
    if !fresh.is_empty() {
        let deliveries: Vec<(&NewDelivery, bool)> = fresh.iter().map(|f| f.1).collect();
        let begin = Around {
            before: fold.then(|| conn.backend().begin()),
            after: None,
        };
        let inserted = insert_deliveries(conn, &deliveries, now, begin).await?;
        let mut new_jobs: Vec<(&str, &PreparedJob)> = Vec::new();
        for (i, (delivery, _), jobs) in fresh {
            let outcome = if inserted.contains(delivery.id.as_str()) {
                new_jobs.extend(jobs.iter().map(|j| (delivery.id.as_str(), j)));
                DeliveryOutcome::Stored { jobs: jobs.len() }
            } else {
                match requeue_failed(conn, &delivery.id, now).await? {
                    0 => DeliveryOutcome::Duplicate,
                    n => DeliveryOutcome::Requeued { jobs: n },
                }
            };
            outs[i] = Some(Ok(Out::Delivery(outcome)));
        }
        // A batch of deliveries only has nothing after its jobs on SQLite
        // (there, notify_workers sends nothing), so their INSERT can commit.
        let commit = fold && !new_jobs.is_empty();
        let end = Around {
            before: None,
            after: commit.then_some("COMMIT"),
        };
        insert_jobs(conn, &new_jobs, now, end).await?;
        if commit {
            committed = Committed::Yes;
        }
        wake |= !new_jobs.is_empty();
    }

    for (i, op) in ops.iter().enumerate() {
        let out = match op {
            Op::Delivery { .. } | Op::Shutdown => continue,
            Op::Claim { owner, lease_ms } => {
                Ok(Out::Claim(claim(conn, owner, *lease_ms, now).await?))
            }
            Op::Touch {
                job_id,
                owner,
                journal,
            } => touch(conn, *job_id, owner, journal.as_deref(), now).await?,
            Op::Finish { job_id, owner, end } => finish(conn, *job_id, owner, end, now).await?,
            Op::Audit(entries) => {
                insert_audit(conn, entries).await?;
                Ok(Out::Unit)
            }
            Op::UpsertRun(run) => {
                upsert_run(conn, run, now).await?;
                Ok(Out::Unit)
            }
            Op::RepoEvent(e) => Ok(Out::Count(apply_repo_event(conn, e, now).await?)),
            Op::FormRequest(r) => {
                upsert_form_request(conn, r, now).await?;
                Ok(Out::Unit)
            }
            Op::FormState { repo, issue, state } => Ok(Out::Count(
                set_form_state(conn, repo, *issue, *state, now).await?,
            )),
            Op::Request(r) => {
                upsert_request(conn, r, now).await?;
                Ok(Out::Unit)
            }
            Op::MadeRepo(m) => {
                insert_made_repo(conn, m, now).await?;
                Ok(Out::Unit)
            }
            Op::Shared(op) => exec_shared(conn, op, now).await?,
            Op::Prune(op) => Ok(Out::Pruned(prune(conn, op, now).await?)),
            Op::ExpireLeases => {
                let done = q(
                    "UPDATE jobs SET lease_until = $1 WHERE state = 'running' AND lease_until > $1",
                )
                .bind(now)
                .execute(&mut *conn)
                .await?;
                Ok(Out::Count(done.rows_affected()))
            }
        };
        outs[i] = Some(out);
    }
    if wake {
        notify_workers(conn).await?;
    }
    let outs = outs
        .into_iter()
        .map(|o| o.unwrap_or(Err(StoreError::WriterGone)))
        .collect();
    Ok((outs, committed))
}

impl StatsCell {
    /// Checkpoints started so far, and whether one is running now.
    fn checkpoints_seen(&self) -> (u64, bool) {
        (
            self.checkpoints.load(Ordering::Relaxed),
            self.in_checkpoint.load(Ordering::Relaxed),
        )
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
