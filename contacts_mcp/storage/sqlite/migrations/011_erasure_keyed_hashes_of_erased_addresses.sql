-- name: erasure: keyed hashes of erased addresses, audit
-- Erasure (right to be forgotten): a contact's data is deleted for good, but its opt-outs must keep
-- blocking its addresses. They are kept as keyed hashes (HMAC-SHA256 with this server's secret,
-- made here once, never shown) instead of in clear; see core/erase.py. Each erasure leaves an audit
-- row with no personal data: who, when, why, how many, which ids (and the highest, so that no id
-- is ever handed out again).

CREATE TABLE server_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created_at TEXT NOT NULL
    );

INSERT INTO server_secrets (name, value, created_at) VALUES ('address_hmac', lower(hex(randomblob(32))), :now);

CREATE TABLE erasures (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        erased_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        erased INTEGER NOT NULL,
        contact_ids TEXT NOT NULL,
        max_contact_id INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );

CREATE INDEX erasures_account ON erasures (account_id, id);
