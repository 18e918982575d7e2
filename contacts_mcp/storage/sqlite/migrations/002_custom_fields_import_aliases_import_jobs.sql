-- name: custom fields, import aliases, import jobs and their error reports

CREATE TABLE fields (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        type TEXT NOT NULL CHECK (type IN ('text', 'number', 'date', 'boolean', 'choice')),
        choices TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (account_id, name)
    );

CREATE TABLE field_aliases (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        field TEXT NOT NULL,
        alias TEXT NOT NULL,
        alias_key TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (account_id, alias_key)
    );

CREATE TABLE import_jobs (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
        source_kind TEXT NOT NULL,
        source_name TEXT,
        file_path TEXT,
        format TEXT,
        options TEXT NOT NULL DEFAULT '{}',
        list_id INTEGER REFERENCES lists(id) ON DELETE SET NULL,
        mapping TEXT,
        unknown_columns TEXT,
        total_lines INTEGER,
        checkpoint INTEGER NOT NULL DEFAULT 0,
        lines_read INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        invalid INTEGER NOT NULL DEFAULT 0,
        duplicates INTEGER NOT NULL DEFAULT 0,
        percent REAL NOT NULL DEFAULT 0,
        error TEXT,
        notify_url TEXT,
        notify_result TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
    );

CREATE INDEX import_jobs_account ON import_jobs (account_id, created_at);

CREATE INDEX import_jobs_status ON import_jobs (status);

CREATE INDEX import_jobs_list ON import_jobs (list_id);

CREATE TABLE import_errors (
        job_id TEXT NOT NULL REFERENCES import_jobs(id) ON DELETE CASCADE,
        line INTEGER NOT NULL,
        account_id INTEGER NOT NULL,
        data TEXT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (job_id, line)
    );

ALTER TABLE contacts ADD COLUMN last_import TEXT;

ALTER TABLE accounts ADD COLUMN aliases_seeded INTEGER NOT NULL DEFAULT 0;
