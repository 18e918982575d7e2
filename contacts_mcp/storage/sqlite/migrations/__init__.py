"""Schema migrations: numbered SQL files beside this module (NNN_name.sql), each applied once, in its own
transaction, and recorded in `migrations`. A file's first line names it (`-- name: …`); its statements
end with `;`, and `:now` stands for the time of applying. Data migrations are frozen SQL too: a step
never calls live code, so it means the same thing whenever a database catches up.

Every table carries `account_id`, and every unique key includes it: accounts are isolated by schema,
not only by queries. Timestamps are fixed-width UTC text (sortable). Opt-out channels are also kept as
a bit mask on the contact (email=1, sms=2, voice=4, voicemail=8), maintained in the same transaction
as the opt-out rows, so reachability filters need no join.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from importlib import resources

from ...tree import fold

OPTOUT_ADDRESSES_STEP = "opt-outs block every address their channel uses"


def _statements(text: str) -> list[str]:
    """The statements of a migration file, in order (SQLite's own judgement of where each ends)."""
    out: list[str] = []
    pending = ""
    for line in text.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip().rstrip(";"))
            pending = ""
    if pending.strip():
        raise ValueError(f"unterminated statement: {pending[:80]!r}")
    return out


def _load() -> list[tuple[int, str, list[str]]]:
    steps = []
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            text = entry.read_text(encoding="utf-8")
            name = text.splitlines()[0].removeprefix("-- name:").strip()
            steps.append((int(entry.name[:3]), name, _statements(text)))
    if [v for v, _, _ in steps] != list(range(1, len(steps) + 1)):
        raise RuntimeError("migration files must be numbered 001, 002, … without gaps")
    return steps


MIGRATIONS: list[tuple[int, str, list[str]]] = _load()
LATEST = MIGRATIONS[-1][0]


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply the steps not yet recorded, each in its own transaction. Returns the versions applied."""
    # Step 14 indexes contacts on this function of the server's: whoever migrates (and so writes) needs it.
    conn.create_function("contacts_fold", 1, fold, deterministic=True)
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
