-- A job finds its delivery by (received_at, id) instead of by id alone.
--
-- Delivery ids are random, so an index that starts with one puts each new
-- entry on a page of its own: jobs_delivery cost about 12 of the 44 WAL
-- pages a group commit of seven deliveries wrote. An index that starts with
-- the delivery's time is appended to at its end, where one page takes the
-- whole commit. The foreign key moves to the pair, so that SQLite can still
-- check it (and delete an old delivery) through an index.
--
-- SQLite cannot change a table's constraints in place: jobs is rebuilt, in
-- the order SQLite documents, with foreign keys off for this migration only
-- (store::migrate does that, and runs foreign_key_check before the commit).

CREATE UNIQUE INDEX deliveries_received ON deliveries (received_at, id);
DROP INDEX deliveries_received_at;

CREATE TABLE jobs_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id     TEXT    NOT NULL,
    -- The received_at of the delivery: with delivery_id, its key.
    delivery_at     INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    installation_id INTEGER,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    next_run_at     INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    lease_ms        INTEGER,
    journal         TEXT,
    last_error      TEXT,
    result          TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    FOREIGN KEY (delivery_at, delivery_id) REFERENCES deliveries (received_at, id)
);

INSERT INTO jobs_new (id, delivery_id, delivery_at, kind, installation_id, payload, state,
                      attempts, max_attempts, next_run_at, lease_owner, lease_until, lease_ms,
                      journal, last_error, result, created_at, updated_at)
SELECT j.id, j.delivery_id, d.received_at, j.kind, j.installation_id, j.payload, j.state,
       j.attempts, j.max_attempts, j.next_run_at, j.lease_owner, j.lease_until, j.lease_ms,
       j.journal, j.last_error, j.result, j.created_at, j.updated_at
  FROM jobs j JOIN deliveries d ON d.id = j.delivery_id;

-- AUTOINCREMENT never hands out an id twice, even one whose row is gone:
-- carry the counter over, not just the largest id left.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'jobs_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'jobs_new');
UPDATE sqlite_sequence
   SET seq = max(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), 0))
 WHERE name = 'jobs_new';

DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;

CREATE INDEX jobs_delivery ON jobs (delivery_at, delivery_id);
CREATE INDEX jobs_updated ON jobs (state, updated_at);
CREATE INDEX jobs_queue_heads ON jobs (state, installation_id, next_run_at, id);
