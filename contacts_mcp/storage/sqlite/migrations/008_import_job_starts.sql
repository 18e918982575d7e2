-- name: import job starts
-- How many times a job was started since it last applied a batch: a job that keeps killing the server
-- before it gets anywhere is failed instead of retried for ever.

ALTER TABLE import_jobs ADD COLUMN starts INTEGER NOT NULL DEFAULT 0;
