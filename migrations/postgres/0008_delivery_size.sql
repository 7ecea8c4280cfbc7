-- The size of each delivery as received. Bodies are kept only when asked
-- (ORC_KEEP_BODIES) or when they did not parse; the size is always known.
ALTER TABLE deliveries ADD COLUMN size BIGINT;
-- The first queued job of each installation, found with one probe per
-- installation however deep its queue (see store::jobs::queue_heads).
CREATE INDEX jobs_queue_heads ON jobs (state, installation_id, next_run_at, id);
