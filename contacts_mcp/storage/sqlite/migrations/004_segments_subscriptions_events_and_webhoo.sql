-- name: segments, subscriptions, events and webhooks

CREATE TABLE segments (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        description TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (account_id, name)
    );

CREATE TABLE segment_members (
        segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
        contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        added_at TEXT NOT NULL,
        PRIMARY KEY (segment_id, contact_id)
    );

CREATE INDEX segment_members_contact ON segment_members (contact_id, segment_id);

CREATE TABLE confirmations (
        token_hash TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        form_type TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
    );

CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        type TEXT NOT NULL,
        contact_id INTEGER,
        email TEXT,
        data TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );

CREATE INDEX events_account ON events (account_id, id);

CREATE INDEX events_contact ON events (account_id, contact_id, id);

CREATE TABLE webhooks (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        url TEXT NOT NULL,
        event_types TEXT NOT NULL,
        created_at TEXT NOT NULL
    );

CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_status INTEGER,
        last_error TEXT,
        next_attempt_at TEXT NOT NULL,
        delivered_at TEXT
    );

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
