CREATE TABLE form_requests (
    repo        TEXT    COLLATE nocase NOT NULL,
    issue       BIGINT  NOT NULL,
    author      TEXT    NOT NULL,
    fields      TEXT    NOT NULL,
    command     TEXT,
    state       TEXT    NOT NULL,
    approved_by TEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (repo, issue)
);
