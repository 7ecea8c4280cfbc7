-- The gitreload mode's tasks: one row per queued import or update. A row is
-- written before the push is answered, so a restart finds every accepted push.
CREATE TABLE imports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_name   TEXT    NOT NULL,
    owner       TEXT,
    -- The origin URL with any credentials removed (for /queue and /imports);
    -- the import reads the real one from the checkout when it runs.
    repo_url    TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    git_ref     TEXT    NOT NULL,
    sha         TEXT,
    state       TEXT    NOT NULL,
    exit_code   INTEGER,
    output      TEXT    NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    pushes      INTEGER NOT NULL DEFAULT 1,
    -- Commits this task stands in for (a coalesced push's earlier `after`s),
    -- space-separated, so their commit statuses can be resolved too.
    replaced    TEXT    NOT NULL DEFAULT '',
    queued_at   INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER
);
CREATE INDEX imports_open ON imports (state, repo_name);
