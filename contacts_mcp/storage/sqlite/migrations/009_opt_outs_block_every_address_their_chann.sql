-- name: opt-outs block every address their channel uses
-- An opt-out blocks every address its channel uses (see storage/sqlite/optouts.py), not only the one it was
-- recorded under: the addresses of each record, backfilled so that an upgraded database protects as
-- a new one does. Each record keeps the address it had (with every channel it blocked, as before),
-- and an active record of a contact also blocks that contact's addresses for its channel: the email
-- (email), the mobile (sms, voice, voicemail) and the fixed phone (voice and voicemail only).

CREATE TABLE optout_addresses (
        optout_id INTEGER NOT NULL REFERENCES optouts(id),
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        address TEXT NOT NULL,
        mask INTEGER NOT NULL,
        PRIMARY KEY (optout_id, address)
    );

CREATE INDEX optout_addresses_address ON optout_addresses (account_id, address);

INSERT INTO optout_addresses (optout_id, account_id, address, mask)
    SELECT id, account_id, address, (CASE channel WHEN 'email' THEN 1 WHEN 'sms' THEN 2 WHEN 'voice' THEN 4 WHEN 'voicemail' THEN 8 ELSE 15 END) FROM optouts WHERE address IS NOT NULL;

INSERT INTO optout_addresses (optout_id, account_id, address, mask)
    SELECT o.id, o.account_id, c.email_key, (CASE channel WHEN 'email' THEN 1 WHEN 'sms' THEN 2 WHEN 'voice' THEN 4 WHEN 'voicemail' THEN 8 ELSE 15 END) & 15 FROM optouts o
    JOIN contacts c ON c.id = o.contact_id AND c.account_id = o.account_id
    WHERE o.restored_at IS NULL AND c.email_key IS NOT NULL AND o.channel IN ('email', 'all')
    ON CONFLICT (optout_id, address) DO UPDATE SET mask = mask | excluded.mask;

INSERT INTO optout_addresses (optout_id, account_id, address, mask)
    SELECT o.id, o.account_id, c.mobile, (CASE channel WHEN 'email' THEN 1 WHEN 'sms' THEN 2 WHEN 'voice' THEN 4 WHEN 'voicemail' THEN 8 ELSE 15 END) & 15 FROM optouts o
    JOIN contacts c ON c.id = o.contact_id AND c.account_id = o.account_id
    WHERE o.restored_at IS NULL AND c.mobile IS NOT NULL AND o.channel IN ('sms', 'voice', 'voicemail', 'all')
    ON CONFLICT (optout_id, address) DO UPDATE SET mask = mask | excluded.mask;

INSERT INTO optout_addresses (optout_id, account_id, address, mask)
    SELECT o.id, o.account_id, c.fixed_phone, (CASE channel WHEN 'email' THEN 1 WHEN 'sms' THEN 2 WHEN 'voice' THEN 4 WHEN 'voicemail' THEN 8 ELSE 15 END) & 12 FROM optouts o
    JOIN contacts c ON c.id = o.contact_id AND c.account_id = o.account_id
    WHERE o.restored_at IS NULL AND c.fixed_phone IS NOT NULL AND o.channel IN ('voice', 'voicemail', 'all')
    ON CONFLICT (optout_id, address) DO UPDATE SET mask = mask | excluded.mask;

UPDATE optouts SET address = (SELECT a.address FROM optout_addresses a WHERE a.optout_id = optouts.id
                                  ORDER BY a.rowid LIMIT 1)
    WHERE address IS NULL AND id IN (SELECT optout_id FROM optout_addresses);
