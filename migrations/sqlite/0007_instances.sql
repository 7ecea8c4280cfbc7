-- Several instances on one database.
--
-- Each running instance names itself here and renews its heartbeat; a
-- second instance under a name whose heartbeat is fresh refuses to start.
CREATE TABLE instances (
    name         TEXT     PRIMARY KEY NOT NULL,
    -- Where it runs: a restart on the same host may take the name over at
    -- once when that process is gone.
    host         TEXT     NOT NULL,
    pid          INTEGER  NOT NULL,
    started_at   INTEGER  NOT NULL,
    heartbeat_at INTEGER  NOT NULL
);
-- Named leases for work only one instance may do at a time (the redelivery
-- sweep): the owner and when its hold ends.
CREATE TABLE leases (
    name      TEXT     PRIMARY KEY NOT NULL,
    owner     TEXT     NOT NULL,
    until_at  INTEGER  NOT NULL
);
-- Named instants that outlive a restart (the start of the last good sweep).
CREATE TABLE marks (
    name  TEXT     PRIMARY KEY NOT NULL,
    at    INTEGER  NOT NULL
);
-- Content-creating GitHub writes per installation (0: the App itself), for
-- pacing under GitHub's per-minute budget across instances and restarts.
-- A row of pacing_keys is what a reservation locks, so that two instances
-- reserving for one installation take turns.
CREATE TABLE pacing_keys (
    installation_id INTEGER PRIMARY KEY NOT NULL
);
CREATE TABLE content_writes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    installation_id INTEGER NOT NULL,
    at              INTEGER NOT NULL
);
CREATE INDEX content_writes_key_at ON content_writes (installation_id, at);
-- When each GitHub call started and ended (at: when it was recorded).
ALTER TABLE audit ADD COLUMN started_at INTEGER;
ALTER TABLE audit ADD COLUMN ended_at INTEGER;
-- Retention: when a delivery's body was dropped (its id stays, for dedupe).
ALTER TABLE deliveries ADD COLUMN pruned_at INTEGER;
CREATE INDEX jobs_updated ON jobs (state, updated_at);
