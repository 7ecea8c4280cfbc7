-- What repo events tell the catalog: when a run's repo was last pushed to;
-- and where a run came from: the request (`owner/repo#issue`) that made it.
ALTER TABLE catalog_runs ADD COLUMN last_push_at INTEGER;
ALTER TABLE catalog_runs ADD COLUMN request TEXT;
-- A course's language (an Open edX catalog course has one).
ALTER TABLE catalog_courses ADD COLUMN language TEXT;
CREATE INDEX catalog_runs_repo_nocase ON catalog_runs (repo COLLATE NOCASE);
