//! The `deliveries` table: every verified webhook delivery, keyed by
//! `X-GitHub-Delivery` so that a redelivery is recognised.

use super::*;

impl Store {
    pub async fn delivery_count(&self) -> Result<i64, StoreError> {
        Ok(q("SELECT COUNT(*) FROM deliveries")
            .fetch_one(&self.inner.read)
            .await?
            .try_get(0)?)
    }
    /// One delivery, without its body.
    pub async fn delivery(&self, id: &str) -> Result<Option<DeliveryRow>, StoreError> {
        let row = q(
            "SELECT id, event, action, installation_id, received_at, parse_error,
                    CAST(length(body) AS BIGINT) AS body_len, COALESCE(size, 0) AS size
             FROM deliveries WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.inner.read)
        .await?;
        row.map(|r| {
            Ok(from_row!(&r => DeliveryRow {
                id, event, action, installation_id, received_at, parse_error, body_len, size
            }))
        })
        .transpose()
    }
    /// The body of a delivery exactly as received.
    pub async fn delivery_body(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = q("SELECT body FROM deliveries WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.inner.read)
            .await?;
        row.map(|r| r.try_get(0).map_err(StoreError::from))
            .transpose()
    }
}

/// Inserts new deliveries; returns the ids that were not already stored.
pub(super) async fn insert_deliveries(
    conn: &mut Conn,
    deliveries: &[(&NewDelivery, bool)],
    now: i64,
    around: Around,
) -> Result<HashSet<String>, sqlx::Error> {
    let mut inserted = HashSet::with_capacity(deliveries.len());
    let chunks = chunked(deliveries);
    for (i, chunk) in chunks.iter().enumerate() {
        let sql = values_sql(
            around.chunk(i, chunks.len()),
            "INSERT INTO deliveries (id, event, action, installation_id, received_at, body, parse_error, size) VALUES ",
            "(?,?,?,?,?,?,?,?)",
            chunk.len(),
            " ON CONFLICT (id) DO NOTHING RETURNING id",
        );
        let mut q = q(sql);
        for (d, keep) in *chunk {
            q = q
                .bind(d.id.as_str())
                .bind(d.event.as_str())
                .bind(d.action.as_deref())
                .bind(d.installation_id)
                .bind(now)
                .bind(if *keep { d.body.as_ref() } else { &[][..] })
                .bind(d.parse_error.as_deref())
                .bind(i64::try_from(d.body.len()).unwrap_or(i64::MAX));
        }
        for row in q.fetch_all(&mut *conn).await? {
            inserted.insert(row.try_get::<String, _>(0)?);
        }
    }
    Ok(inserted)
}

/// Queues the failed jobs of delivery `$1` again, at `$2`.
pub(super) fn requeue_sql() -> String {
    format!(
        "UPDATE jobs SET state = 'queued', attempts = 0, next_run_at = $2,
                lease_owner = NULL, lease_until = NULL, lease_ms = NULL, updated_at = $2
          WHERE id IN ({JOBS_OF_DELIVERY} AND j.state = 'failed')"
    )
}

/// A redelivery of a delivery whose jobs failed: queue them again with fresh
/// attempts, keeping the journal so finished steps are skipped.
pub(super) async fn requeue_failed(
    conn: &mut Conn,
    delivery_id: &str,
    now: i64,
) -> Result<usize, sqlx::Error> {
    let done = q(requeue_sql())
        .bind(delivery_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
}
