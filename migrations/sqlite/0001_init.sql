-- orcoursetrion schema, version 1.
--
-- Conventions (kept portable so a PostgreSQL backend can follow):
--   * every time is an INTEGER of milliseconds since the Unix epoch, UTC
--     (`datetime(x / 1000, 'unixepoch')` reads it in the sqlite3 shell);
--   * JSON documents are TEXT; bodies are BLOBs exactly as received;
--   * states are lower-case words checked by CHECK constraints.

-- One row per webhook delivery GitHub sent us, keyed by X-GitHub-Delivery, so a
-- redelivery is recognised and never runs twice.
CREATE TABLE deliveries (
    id              TEXT    PRIMARY KEY NOT NULL,
    event           TEXT    NOT NULL,
    action          TEXT,
    installation_id INTEGER,
    received_at     INTEGER NOT NULL,
    body            BLOB    NOT NULL,
    -- Set when the (verified) body was not valid JSON: kept for diagnosis, no job made.
    parse_error     TEXT
);
CREATE INDEX deliveries_received_at ON deliveries (received_at);

-- The durable work queue. A job belongs to the delivery that implied it.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id     TEXT    NOT NULL REFERENCES deliveries (id),
    kind            TEXT    NOT NULL,
    installation_id INTEGER,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    next_run_at     INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    -- The lease length granted at claim time, so save_journal can renew it.
    lease_ms        INTEGER,
    -- The action executor's step journal: finished steps are never redone.
    journal         TEXT,
    last_error      TEXT,
    result          TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX jobs_state_next_run ON jobs (state, next_run_at);
CREATE INDEX jobs_delivery ON jobs (delivery_id);
CREATE INDEX jobs_installation_state ON jobs (installation_id, state);

-- Commands as requests (approval workflow): issue <-> command <-> state <-> approver.
-- state: pending | approved | running | done | failed | cancelled.
CREATE TABLE requests (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    repo        TEXT    NOT NULL,
    issue       INTEGER NOT NULL,
    comment_id  INTEGER NOT NULL,
    author      TEXT    NOT NULL,
    command     TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    approver    TEXT,
    job_id      INTEGER REFERENCES jobs (id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX requests_issue ON requests (repo, issue);
CREATE INDEX requests_state ON requests (state);

-- The course catalog (after Open edX's openedx_catalog): a course is an org plus
-- a course code and a title; a run is one term of it, with its repo.
CREATE TABLE catalog_courses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org         TEXT    NOT NULL,
    course_code TEXT    NOT NULL,
    title       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (org, course_code)
);

CREATE TABLE catalog_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id   INTEGER NOT NULL REFERENCES catalog_courses (id),
    term        TEXT    NOT NULL,
    course_key  TEXT    NOT NULL UNIQUE,
    repo        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('studio', 'xml')),
    state       TEXT    NOT NULL CHECK (state IN ('staging', 'released', 'retired')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (course_id, term)
);
CREATE INDEX catalog_runs_repo ON catalog_runs (repo);

-- Every write the bot made on GitHub (status NULL: no answer came).
CREATE TABLE audit (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id          INTEGER REFERENCES jobs (id),
    installation_id INTEGER,
    method          TEXT    NOT NULL,
    path            TEXT    NOT NULL,
    status          INTEGER,
    at              INTEGER NOT NULL
);
CREATE INDEX audit_job ON audit (job_id);
CREATE INDEX audit_at ON audit (at);
