-- name: API tokens

CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
        secret_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT
    );

CREATE INDEX api_tokens_account ON api_tokens (account_id);
