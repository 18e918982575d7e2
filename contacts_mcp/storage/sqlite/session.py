"""The base of every query class: one connection and the one account the session is bound to.

Every query method filters on `self.account_id`; ids of another account therefore behave exactly
like ids that do not exist.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

# The groups contacts are members of: kind -> (table, membership table, its group column).
GROUP_TABLES = {"list": ("lists", "list_members", "list_id"), "segment": ("segments", "segment_members", "segment_id")}

# SQLite allows 32,766 bound parameters; stay far below so one statement never hits the limit.
CHUNK = 900


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def marks(n: int) -> str:
    return ", ".join("?" * n)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with the caller's % and _ taken literally."""
    return "%" + re.sub(r"([%_\\])", r"\\\1", text) + "%"


class Session:
    """Runs on the connection's own thread (see store.py): plain synchronous sqlite3 calls."""

    def __init__(self, conn: sqlite3.Connection, account_id: int) -> None:
        self._conn = conn
        self.account_id = account_id
        self.defer_checkpoint = False  # set by a unit that writes a lot at once (see store.py)

    # What differs between the backends inside otherwise shared queries: PostgreSQL's session overrides these.
    # A new event's data: its key (the email, else the mobile) and its SMS number.
    CONTACT_EVENT_DATA = ("json_patch(json_object('key', COALESCE(email, mobile)), "
                          "CASE WHEN mobile IS NULL THEN '{}' ELSE json_object('sms', mobile) END)")

    # What an insert raises when a unique index refuses a row (an identity already taken).
    TAKEN: type[Exception] = sqlite3.IntegrityError

    # Columns stored folded beside themselves (<column>_folded, migration 016), written with the row: filters
    # compare and index those. PostgreSQL indexes its own contacts_fold() of the column instead (C, no column).
    FOLDED_COLUMNS: tuple[str, ...] = ("city", "company", "postal_code")

    # The SQL function that lower-cases any letter (a search term with letters beyond ASCII; see store.py).
    FOLD_ANY = "fold_any"

    def _new_ids(self, table: str, n: int) -> Sequence[int]:
        """`n` ids for rows this unit inserts into `table` (events, optouts), above every id used so far. Here
        the ones above the highest, which no other unit can take meanwhile: there is one writer."""
        first = self._value(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
        return range(first, first + n)

    # An email's domain (filters' email_domain).
    EMAIL_DOMAIN = "substr(c.email_key, instr(c.email_key, '@') + 1)"

    @staticmethod
    def _attribute(name: str, kind: str = "text") -> tuple[str, list[Any]]:
        """SQL for a custom field's value in `c.attributes` (NULL when absent) as `kind` (number, boolean: NULL
        when the stored value is not one; else as stored), with the parameters it binds: the name is data,
        never SQL."""
        path = "$." + json.dumps(name)
        if kind in ("number", "boolean"):
            types = "'integer', 'real'" if kind == "number" else "'true', 'false'"
            return (f"(CASE WHEN json_type(c.attributes, ?) IN ({types}) THEN json_extract(c.attributes, ?) END)",
                    [path, path])
        return "json_extract(c.attributes, ?)", [path]

    def _bulk_insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """New rows, all of them new (no conflict expected: a conflict fails the unit). Table and column names
        come from code, never callers."""
        self._conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks(len(columns))})", rows)

    def _insert_untaken(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> set[int]:
        """New rows, but those a unique index refuses (a value another row holds) are left out: returns their
        ids (the column "id", rows in increasing id order). Only uniqueness is forgiven; any other constraint
        still fails the unit."""
        done = self._conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks(len(columns))}) "
                                      "ON CONFLICT DO NOTHING", rows).rowcount
        return self._refused(table, list(map(itemgetter(list(columns).index("id")), rows)), done)

    def _refused(self, table: str, ids: Sequence[int], done: int) -> set[int]:
        """Which of the `ids` (increasing) an insert that put in `done` rows of them left out."""
        if done == len(ids):  # nearly every batch: nothing refused, no query
            return set()
        cursor = self._conn.cursor()
        cursor.row_factory = None  # plain tuples, read in C
        found = cursor.execute(f"SELECT id FROM {table} WHERE id BETWEEN ? AND ?", (ids[0], ids[-1]))
        return set(ids).difference(chain.from_iterable(found))

    def _all(self, sql: str, params: Sequence[Any] | dict = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self._conn.execute(sql, params)]

    # fetchall, never a bare fetchone: a statement left half-read keeps the transaction from committing.
    def _one(self, sql: str, params: Sequence[Any] | dict = ()) -> dict[str, Any] | None:
        rows = self._conn.execute(sql, params).fetchall()
        return dict(rows[0]) if rows else None

    def _value(self, sql: str, params: Sequence[Any] | dict = ()) -> Any:
        rows = self._conn.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

    def _run(self, sql: str, params: Sequence[Any] | dict = ()) -> int:
        """Execute a write; returns the number of rows changed."""
        return self._conn.execute(sql, params).rowcount

    def _in(self, values: Sequence[Any], sql_type: str) -> Iterator[tuple[str, list[Any]]]:
        """A condition on a column, "IN (?, …)", with its parameters, for each slice of `values` that one
        statement may bind (`sql_type`, e.g. 'bigint' or 'text', is what PostgreSQL's override casts to)."""
        for part in chunks(values):
            yield f"IN ({marks(len(part))})", list(part)

    def _rows_by_ids(self, table: str, ids: Sequence[int]) -> list[dict[str, Any]]:
        """This account's rows of `table` with these ids (table names come from code, never callers)."""
        rows: list[dict[str, Any]] = []
        for cond, params in self._in(list(dict.fromkeys(ids)), "bigint"):
            rows += self._all(f"SELECT * FROM {table} WHERE account_id = ? AND id {cond}", [self.account_id, *params])
        return rows

    def _ids_in(self, table: str, ids: Sequence[int]) -> set[int]:
        """Which of `ids` exist in `table` for this account (table names come from code, never callers)."""
        found: set[int] = set()
        for cond, params in self._in(list(dict.fromkeys(ids)), "bigint"):
            found.update(r[0] for r in self._conn.execute(
                f"SELECT id FROM {table} WHERE account_id = ? AND id {cond}", [self.account_id, *params]))
        return found
