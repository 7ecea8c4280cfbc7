-- Course requests made through the issue form: one per issue, with the
-- form's answers keyed by field id (JSON), the command they imply, and
-- where the request is. Commands typed in comments stay in `requests`.
CREATE TABLE form_requests (
    repo        TEXT    NOT NULL COLLATE NOCASE,
    issue       INTEGER NOT NULL,
    author      TEXT    NOT NULL,
    fields      TEXT    NOT NULL,
    command     TEXT,
    state       TEXT    NOT NULL,
    approved_by TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (repo, issue)
);
