-- Retention looks for finished jobs by age; nothing else reads jobs_updated
-- (the claim, the lease checks and the counts use jobs_queue_heads). As a
-- full index it took an entry for every queued job in the very commit that
-- answers the webhook, and moved it at each change of state. As a partial
-- index it holds finished jobs only: an entry is written once, when a job
-- ends. The condition is the one retention's statements name, word for
-- word, so SQLite's planner can see that the index covers them.
DROP INDEX IF EXISTS jobs_updated;
CREATE INDEX jobs_finished ON jobs (state, updated_at) WHERE state IN ('done', 'failed');
-- Deleting a finished job checks that no made repo names it (the query's
-- own NOT EXISTS, and the foreign key): without this index, a scan of
-- made_repos per job.
CREATE INDEX made_repos_job ON made_repos (job_id);
