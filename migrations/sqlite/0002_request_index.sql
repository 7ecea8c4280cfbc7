-- One row per command of a job: the command's position in its comment makes
-- a retried or redelivered job update its row instead of adding another.
ALTER TABLE requests ADD COLUMN command_index INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX requests_job_command ON requests (job_id, command_index);
