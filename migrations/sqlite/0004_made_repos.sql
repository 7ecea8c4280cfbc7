-- The repos this App created, with the course run each was made for. A
-- command sent again after a partial failure adopts such a repo and finishes
-- it; a repo that is not listed here (made by hand) is never adopted.
CREATE TABLE made_repos (
    full_name  TEXT    PRIMARY KEY COLLATE NOCASE,
    course_key TEXT    NOT NULL,
    job_id     INTEGER REFERENCES jobs (id),
    created_at INTEGER NOT NULL
);
-- The status comment that answered a request, so that an edit that removes
-- or replaces the command can say so in that comment.
ALTER TABLE requests ADD COLUMN status_comment INTEGER;
