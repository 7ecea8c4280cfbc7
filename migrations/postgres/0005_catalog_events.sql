ALTER TABLE catalog_runs ADD COLUMN last_push_at BIGINT;
ALTER TABLE catalog_runs ADD COLUMN request TEXT;
ALTER TABLE catalog_courses ADD COLUMN language TEXT;
CREATE INDEX catalog_runs_repo_nocase ON catalog_runs (repo COLLATE nocase);
