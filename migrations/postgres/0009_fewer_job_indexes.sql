-- Every job-bearing commit writes each index of jobs. These two serve no
-- query any more: the claim, the lease checks and next_due_in all use
-- jobs_queue_heads (state, installation_id, next_run_at, id), and the
-- rest use jobs_updated (state, updated_at) or jobs_delivery.
DROP INDEX IF EXISTS jobs_state_next_run;
DROP INDEX IF EXISTS jobs_installation_state;
