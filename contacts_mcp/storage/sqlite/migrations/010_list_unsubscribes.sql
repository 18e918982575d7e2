-- name: list unsubscribes
-- A contact unsubscribed from one list (not from a channel): it left the list, and nothing adds it back
-- but an explicit, audited resubscribe, which keeps the row with who and why.

CREATE TABLE list_unsubscribes (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
        contact_id INTEGER NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        restored_at TEXT,
        restored_by TEXT,
        restore_reason TEXT
    );

CREATE UNIQUE INDEX list_unsubscribes_active ON list_unsubscribes (list_id, contact_id) WHERE restored_at IS NULL;

CREATE INDEX list_unsubscribes_contact ON list_unsubscribes (contact_id);
