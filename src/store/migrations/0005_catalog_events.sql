-- What repo events tell the catalog: when a run's repo was last pushed to.
ALTER TABLE catalog_runs ADD COLUMN last_push_at INTEGER;
CREATE INDEX catalog_runs_repo_nocase ON catalog_runs (repo COLLATE NOCASE);
