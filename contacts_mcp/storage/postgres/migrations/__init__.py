"""PostgreSQL schema migrations: numbered SQL files beside this module (NNN_name.sql, first line
`-- name: …`), each applied once, whole, in its own transaction, and recorded in `migrations`. Servers
starting together take turns (an advisory lock), so exactly one applies each step.

The numbering is this backend's own: 001 is the schema SQLite reached in thirteen steps.
"""

from __future__ import annotations

from importlib import resources

import psycopg

_LOCK = 0x636F6E74  # pg_advisory_lock key of the migrator ("cont")


def _load() -> list[tuple[int, str, str]]:
    steps = []
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            text = entry.read_text(encoding="utf-8")
            steps.append((int(entry.name[:3]), text.splitlines()[0].removeprefix("-- name:").strip(), text))
    if [v for v, _, _ in steps] != list(range(1, len(steps) + 1)):
        raise RuntimeError("migration files must be numbered 001, 002, … without gaps")
    return steps


MIGRATIONS = _load()
LATEST = MIGRATIONS[-1][0]


def migrate(conn: psycopg.Connection) -> list[int]:
    """Apply the steps not yet recorded (conn in autocommit mode). Returns the versions applied."""
    applied = []
    conn.execute("SELECT pg_advisory_lock(%s)", [_LOCK])
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS migrations (version integer PRIMARY KEY, name text NOT NULL, "
                     "applied_at timestamptz NOT NULL DEFAULT now())")
        done = {row[0] for row in conn.execute("SELECT version FROM migrations").fetchall()}
        for version, name, text in MIGRATIONS:
            if version in done:
                continue
            with conn.transaction():
                conn.execute(text.encode())  # bytes: run as written, no placeholders (several statements)
                conn.execute("INSERT INTO migrations (version, name) VALUES (%s, %s)", [version, name])
            applied.append(version)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", [_LOCK])
    return applied
