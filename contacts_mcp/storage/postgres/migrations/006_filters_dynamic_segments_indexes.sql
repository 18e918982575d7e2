-- name: filters: dynamic segments and the indexes of common conditions
-- A dynamic segment keeps its filter (JSON, as core/filters.py checked it); a static one has none.
ALTER TABLE segments ADD COLUMN filter_json text;
-- Conditions on the fields assistants filter by most and that pick few contacts: city, company and postal
-- code, compared folded (case and accents, storage/tree.py). Each index slows every import: measured on
-- SQLite, 500,000 lines, 68,763 rows/s without any of these, 45,219 with these and an email-domain index
-- (that one alone 3.6 us a line: a hundred domains interleave), 54,948 without it. So no email domain
-- (a full scan answers within the filters' budget), nor country (a handful of values: a scan is as fast),
-- nor creation date (ids rise with it).
-- The same folding as SQLite's contacts_fold (storage/tree.py holds the tables; a test compares them).
-- Inlined into each query (no STRICT, so it can be): a pure-ASCII text only lower-cased, since translate()
-- scans its table for every character.
CREATE FUNCTION contacts_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN octet_length($1) = length($1) THEN lower($1) ELSE translate(lower($1), 'éèàçêâôîûëïüöäùÿáíóúñãõåìòýąćęłńśźżčěřšžůťďňőűşğıø', 'eeaceaoiueiuoauyaiounaoaioyacelnszzcerszutdnousgio') END;
CREATE INDEX contacts_city_folded ON contacts (account_id, contacts_fold(city));
CREATE INDEX contacts_company_folded ON contacts (account_id, contacts_fold(company));
CREATE INDEX contacts_postal_code_folded ON contacts (account_id, contacts_fold(postal_code));
-- Plan tokens (core/plans.py) are signed, not stored; the ones already carried out are, until they expire,
-- so that none is carried out twice.
CREATE TABLE used_plans (
    account_id bigint NOT NULL REFERENCES accounts(id),
    nonce text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, nonce)
);
