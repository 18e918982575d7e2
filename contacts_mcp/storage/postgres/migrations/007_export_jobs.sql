-- name: export jobs
-- Export jobs share the import jobs' table, and with it their states, queue, claims, crash recovery and
-- tools (get_jobs, cancel_job): `kind` tells them apart. An export's file is `file_path` (`bytes` long)
-- until `expires_at`, when it is deleted and `file_path` cleared.
ALTER TABLE import_jobs ADD COLUMN kind text NOT NULL DEFAULT 'import';
ALTER TABLE import_jobs ADD COLUMN expires_at timestamptz;
ALTER TABLE import_jobs ADD COLUMN bytes bigint;
CREATE INDEX import_jobs_expiry ON import_jobs (expires_at) WHERE expires_at IS NOT NULL AND file_path IS NOT NULL;
