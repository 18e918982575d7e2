-- name: filters: dynamic segments and the indexes of common conditions
-- A dynamic segment keeps its filter (JSON, as core/filters.py checked it); a static one has none.
ALTER TABLE segments ADD COLUMN filter_json TEXT;
-- Conditions on the fields assistants filter by most: text ones compare folded (case and accents,
-- storage/tree.py), an email by its domain, dates by range.
-- contacts_fold() is the server's own SQL function (storage/sqlite/store.py): a connection that writes
-- contacts must have it.
CREATE INDEX contacts_city_folded ON contacts (account_id, contacts_fold(city));
CREATE INDEX contacts_company_folded ON contacts (account_id, contacts_fold(company));
CREATE INDEX contacts_country_folded ON contacts (account_id, contacts_fold(country));
CREATE INDEX contacts_postal_code ON contacts (account_id, postal_code);
CREATE INDEX contacts_email_domain ON contacts (account_id, substr(email_key, instr(email_key, '@') + 1));
CREATE INDEX contacts_created ON contacts (account_id, created_at);
-- Plan tokens (core/plans.py) are signed, not stored; the ones already carried out are, until they expire,
-- so that none is carried out twice.
CREATE TABLE used_plans (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    nonce TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (account_id, nonce)
) WITHOUT ROWID;
