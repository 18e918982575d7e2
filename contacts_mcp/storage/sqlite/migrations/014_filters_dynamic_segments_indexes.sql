-- name: filters: dynamic segments and the indexes of common conditions
-- A dynamic segment keeps its filter (JSON, as core/filters.py checked it); a static one has none.
ALTER TABLE segments ADD COLUMN filter_json TEXT;
-- Conditions on the fields assistants filter by most and that pick few contacts: city, company and postal
-- code, compared folded (case and accents, storage/tree.py). Each index slows every import: measured on
-- SQLite, 500,000 lines, 68,763 rows/s without any of these, 45,219 with these and an email-domain index
-- (that one alone 3.6 us a line: a hundred domains interleave), 54,948 without it. So no email domain
-- (a full scan answers within the filters' budget), nor country (a handful of values: a scan is as fast),
-- nor creation date (ids rise with it).
-- contacts_fold() is the server's own SQL function (storage/sqlite/store.py): a connection that writes
-- contacts must have it.
CREATE INDEX contacts_city_folded ON contacts (account_id, contacts_fold(city));
CREATE INDEX contacts_company_folded ON contacts (account_id, contacts_fold(company));
CREATE INDEX contacts_postal_code_folded ON contacts (account_id, contacts_fold(postal_code));
-- Plan tokens (core/plans.py) are signed, not stored; the ones already carried out are, until they expire,
-- so that none is carried out twice.
CREATE TABLE used_plans (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    nonce TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (account_id, nonce)
) WITHOUT ROWID;
