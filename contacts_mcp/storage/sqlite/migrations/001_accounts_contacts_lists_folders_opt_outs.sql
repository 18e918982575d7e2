-- name: accounts, contacts, lists, folders, opt-outs

CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );

INSERT INTO accounts (id, name, created_at) VALUES (1, 'local', :now);

CREATE TABLE contacts (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        ext_id TEXT,
        email TEXT,
        email_key TEXT,
        mobile TEXT,
        fixed_phone TEXT,
        fax TEXT,
        civility TEXT,
        first_name TEXT,
        last_name TEXT,
        address_1 TEXT,
        address_2 TEXT,
        postal_code TEXT,
        city TEXT,
        state TEXT,
        country TEXT,
        birth_date TEXT,
        company TEXT,
        reference TEXT,
        attributes TEXT NOT NULL DEFAULT '{}',
        blocked_senders TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL DEFAULT 'confirmed' CHECK (status IN ('confirmed', 'unconfirmed')),
        optout_mask INTEGER NOT NULL DEFAULT 0,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        deleted_at TEXT
    );

CREATE UNIQUE INDEX contacts_ext_id ON contacts (account_id, ext_id) WHERE ext_id IS NOT NULL;

CREATE UNIQUE INDEX contacts_email_key ON contacts (account_id, email_key) WHERE email_key IS NOT NULL;

CREATE UNIQUE INDEX contacts_mobile ON contacts (account_id, mobile) WHERE mobile IS NOT NULL;

CREATE INDEX contacts_account ON contacts (account_id, id);

CREATE INDEX contacts_updated ON contacts (account_id, updated_at);

CREATE TABLE folders (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (account_id, name)
    );

CREATE TABLE lists (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        description TEXT,
        folder_id INTEGER REFERENCES folders(id),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );

CREATE INDEX lists_account ON lists (account_id, id);

CREATE INDEX lists_folder ON lists (account_id, folder_id, id);

CREATE TABLE list_members (
        list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
        contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        added_at TEXT NOT NULL,
        PRIMARY KEY (list_id, contact_id)
    );

CREATE INDEX list_members_contact ON list_members (contact_id, list_id);

CREATE TABLE optouts (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        contact_id INTEGER,
        address TEXT,
        channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'voice', 'voicemail', 'all')),
        reason TEXT NOT NULL
            CHECK (reason IN ('unsubscribed', 'owner_blocked', 'hardbounce', 'complaint')),
        source TEXT NOT NULL,
        created_at TEXT NOT NULL
    );

CREATE INDEX optouts_contact ON optouts (account_id, contact_id);

CREATE INDEX optouts_address ON optouts (account_id, address);
