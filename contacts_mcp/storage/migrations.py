"""Schema migrations: numbered steps, each applied once and recorded in `migrations`.

Every table carries `account_id`, and every unique key includes it: accounts are isolated by schema,
not only by queries. Timestamps are fixed-width UTC text (sortable). Opt-out channels are also kept as
a bit mask on the contact (email=1, sms=2, voice=4, voicemail=8), maintained in the same transaction
as the opt-out rows, so reachability filters need no join.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlite3

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "accounts, contacts, lists, folders, opt-outs", [
        """CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        )""",
        "INSERT INTO accounts (id, name, created_at) VALUES (1, 'local', :now)",
        """CREATE TABLE contacts (
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
        )""",
        "CREATE UNIQUE INDEX contacts_ext_id ON contacts (account_id, ext_id)",
        "CREATE UNIQUE INDEX contacts_email_key ON contacts (account_id, email_key)",
        "CREATE UNIQUE INDEX contacts_mobile ON contacts (account_id, mobile)",
        "CREATE INDEX contacts_account ON contacts (account_id, id)",
        "CREATE INDEX contacts_updated ON contacts (account_id, updated_at)",
        """CREATE TABLE folders (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (account_id, name)
        )""",
        """CREATE TABLE lists (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            name TEXT NOT NULL,
            description TEXT,
            folder_id INTEGER REFERENCES folders(id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX lists_account ON lists (account_id, id)",
        "CREATE INDEX lists_folder ON lists (account_id, folder_id, id)",
        """CREATE TABLE list_members (
            list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            added_at TEXT NOT NULL,
            PRIMARY KEY (list_id, contact_id)
        )""",
        "CREATE INDEX list_members_contact ON list_members (contact_id, list_id)",
        # An opt-out names the contact and, so that it outlives the contact, the normalised address
        # it was given for (email key or E.164 number). No foreign key on contact_id: opt-outs are
        # kept when a contact is purged.
        """CREATE TABLE optouts (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            contact_id INTEGER,
            address TEXT,
            channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'voice', 'voicemail', 'all')),
            reason TEXT NOT NULL
                CHECK (reason IN ('unsubscribed', 'owner_blocked', 'hardbounce', 'complaint')),
            source TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX optouts_contact ON optouts (account_id, contact_id)",
        "CREATE INDEX optouts_address ON optouts (account_id, address)",
    ]),
]

LATEST = MIGRATIONS[-1][0]


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply the steps not yet recorded, each in its own transaction. Returns the versions applied."""
    conn.execute("CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                 "applied_at TEXT NOT NULL)")
    done = {row[0] for row in conn.execute("SELECT version FROM migrations")}
    applied = []
    for version, name, statements in MIGRATIONS:
        if version in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated between our read and our lock.
            if conn.execute("SELECT 1 FROM migrations WHERE version = ?", (version,)).fetchall():
                conn.execute("ROLLBACK")
                continue
            now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            for sql in statements:
                conn.execute(sql, {"now": now} if ":now" in sql else ())
            conn.execute("INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)", (version, name, now))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied
