ALTER TABLE requests ADD COLUMN command_index BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX requests_job_command ON requests (job_id, command_index);
