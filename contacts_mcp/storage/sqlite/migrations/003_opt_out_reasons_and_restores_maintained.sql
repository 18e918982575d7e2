-- name: opt-out reasons and restores, maintained statistics

ALTER TABLE contacts ADD COLUMN optout_reasons INTEGER NOT NULL DEFAULT 0;

UPDATE contacts SET optout_reasons =
     (CASE WHEN EXISTS (SELECT 1 FROM optouts o WHERE o.contact_id = contacts.id AND o.reason = 'unsubscribed')
           THEN 1 ELSE 0 END) +
     (CASE WHEN EXISTS (SELECT 1 FROM optouts o WHERE o.contact_id = contacts.id AND o.reason = 'owner_blocked')
           THEN 2 ELSE 0 END) +
     (CASE WHEN EXISTS (SELECT 1 FROM optouts o WHERE o.contact_id = contacts.id AND o.reason = 'hardbounce')
           THEN 4 ELSE 0 END) +
     (CASE WHEN EXISTS (SELECT 1 FROM optouts o WHERE o.contact_id = contacts.id AND o.reason = 'complaint')
           THEN 8 ELSE 0 END)
    WHERE optout_mask != 0;

ALTER TABLE optouts ADD COLUMN restored_at TEXT;

ALTER TABLE optouts ADD COLUMN restored_by TEXT;

ALTER TABLE optouts ADD COLUMN restore_reason TEXT;

CREATE INDEX optouts_created ON optouts (account_id, created_at);

CREATE TABLE group_counts (
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        kind TEXT NOT NULL,
        group_id INTEGER NOT NULL,
        profile INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (account_id, kind, group_id, profile)
    );

INSERT INTO group_counts (account_id, kind, group_id, profile, n)
    SELECT c.account_id, 'base', 0, (c.optout_mask | (c.optout_reasons << 4) | (CASE WHEN c.email_key IS NOT NULL THEN 256 ELSE 0 END) | (CASE WHEN c.mobile IS NOT NULL THEN 512 ELSE 0 END) | (CASE WHEN c.fixed_phone IS NOT NULL THEN 1024 ELSE 0 END) | (CASE WHEN c.status = 'unconfirmed' THEN 2048 ELSE 0 END)), COUNT(*) FROM contacts c WHERE c.deleted_at IS NULL
    GROUP BY 1, 4;

INSERT INTO group_counts (account_id, kind, group_id, profile, n)
    SELECT c.account_id, 'list', m.list_id, (c.optout_mask | (c.optout_reasons << 4) | (CASE WHEN c.email_key IS NOT NULL THEN 256 ELSE 0 END) | (CASE WHEN c.mobile IS NOT NULL THEN 512 ELSE 0 END) | (CASE WHEN c.fixed_phone IS NOT NULL THEN 1024 ELSE 0 END) | (CASE WHEN c.status = 'unconfirmed' THEN 2048 ELSE 0 END)), COUNT(*) FROM contacts c
    JOIN list_members m ON m.contact_id = c.id WHERE c.deleted_at IS NULL GROUP BY 1, 3, 4;
