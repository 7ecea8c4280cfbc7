CREATE TABLE made_repos (
    full_name  TEXT    COLLATE nocase PRIMARY KEY,
    course_key TEXT    NOT NULL,
    job_id     BIGINT  REFERENCES jobs (id),
    created_at BIGINT  NOT NULL
);
ALTER TABLE requests ADD COLUMN status_comment BIGINT;
