-- name: import job skipped count and notes
-- update_enabled=false: existing contacts are skipped (counted), not invalid lines; notes tell the
-- caller what the job left aside (columns beyond the canonical order of a header-less file).

ALTER TABLE import_jobs ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;

ALTER TABLE import_jobs ADD COLUMN notes TEXT;
