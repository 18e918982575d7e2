-- name: filters: dynamic segments and the indexes of common conditions
-- A dynamic segment keeps its filter (JSON, as core/filters.py checked it); a static one has none.
ALTER TABLE segments ADD COLUMN filter_json text;
-- Conditions on the fields assistants filter by most: text ones compare folded (case and accents,
-- storage/tree.py), an email by its domain, dates by range.
-- The same folding as SQLite's contacts_fold (storage/tree.py holds the tables; a test compares them).
CREATE FUNCTION contacts_fold(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN translate(lower($1), 'àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžơưǎǐǒǔǖǘǚǜǟǡǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳøđłħıŧƀɨ', 'aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyzzzouaiouuuuuaagkoojgnaaaeeiioorruusthaeooooyodlhitbi');
CREATE INDEX contacts_city_folded ON contacts (account_id, contacts_fold(city));
CREATE INDEX contacts_company_folded ON contacts (account_id, contacts_fold(company));
CREATE INDEX contacts_country_folded ON contacts (account_id, contacts_fold(country));
CREATE INDEX contacts_postal_code ON contacts (account_id, postal_code);
CREATE INDEX contacts_email_domain ON contacts (account_id, split_part(email_key, '@', 2));
CREATE INDEX contacts_created ON contacts (account_id, created_at);
-- Plan tokens (core/plans.py) are signed, not stored; the ones already carried out are, until they expire,
-- so that none is carried out twice.
CREATE TABLE used_plans (
    account_id bigint NOT NULL REFERENCES accounts(id),
    nonce text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, nonce)
);
