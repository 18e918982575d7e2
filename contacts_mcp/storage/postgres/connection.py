"""A psycopg 3 connection that speaks what the shared queries expect.

The queries of storage/sqlite/ are written in the SQL both databases speak, with `?` placeholders, and
read rows by index, by name and as dicts (sqlite3.Row). `Connection` wraps a psycopg connection so the
same query code runs here: it rewrites placeholders (and the few SQLite spellings listed in
`_SPELLINGS`) once per statement text, and returns rows that behave like sqlite3.Row. Values come back
in the shapes storage/rows.py names: a timestamptz as the ISO string core wrote ('…T…Z'), a jsonb as its
JSON text (decoded where SQLite's text is), a whole numeric (SUM of bigints) as an int.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg.adapt import Loader

# SQLite spellings in the shared queries and their PostgreSQL equivalents (exact text, applied in order).
_SPELLINGS = (
    ("a.address IS NOT o.address", "a.address IS DISTINCT FROM o.address"),
    ("a.rowid", "a.seq"),
    ("SELECT MAX((SELECT", "SELECT GREATEST((SELECT"),
    (" temp.", " pg_temp."),
)


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """`?` placeholders to psycopg's `%s` (a literal % doubled first). The shared queries never put a `?`
    inside a string literal; a JSON path such as '$.x' is bound as a parameter."""
    for sqlite, postgres in _SPELLINGS:
        sql = sql.replace(sqlite, postgres)
    return sql.replace("%", "%%").replace("?", "%s")


class Row(tuple):
    """A result row read by index, by column name, or turned into a dict (like sqlite3.Row)."""

    __slots__ = ()
    _index: dict[str, int] = {}

    def keys(self) -> list[str]:
        return list(self._index)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)


@functools.lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_index": {n: i for i, n in enumerate(names)}})


def _rows(cursor: psycopg.Cursor[Any]) -> Any:
    """psycopg's row factory: the Row class of the result's columns (built with the row's values)."""
    return None if cursor.description is None else _row_class(tuple(c.name for c in cursor.description))


class _IsoTime(Loader):
    """timestamptz text ('2026-01-01 10:00:00.5+00', the session is in UTC) as '2026-01-01T10:00:00.500000Z'."""

    def load(self, data: Any) -> str:
        text = bytes(data).decode()
        day, clock = text[:10], text[11:19]
        rest = text[19:]
        micros = rest[1:rest.index("+")] if rest.startswith(".") else ""
        return f"{day}T{clock}.{micros.ljust(6, '0')}Z"


class _JsonText(Loader):
    def load(self, data: Any) -> str:
        return bytes(data).decode()


class _Number(Loader):
    """numeric: SUM over bigint columns is numeric in PostgreSQL; a whole one is an int, as in SQLite."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return float(text) if "." in text or "e" in text.lower() or text == "NaN" else int(text)


def configure(conn: psycopg.Connection[Any]) -> None:
    """Loaders and row shape for a new connection (a pool's `configure` hook)."""
    conn.adapters.register_loader("timestamptz", _IsoTime)
    conn.adapters.register_loader("jsonb", _JsonText)
    conn.adapters.register_loader("json", _JsonText)
    conn.adapters.register_loader("numeric", _Number)
    conn.row_factory = _rows


class Cursor:
    """What the shared queries use of a sqlite3 cursor: iteration, fetchall, fetchone, rowcount."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor) if self._cursor.description is not None else iter(())

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description is not None else []

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description is not None else None

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


class Connection:
    """A psycopg connection with sqlite3's calling conventions (see the module docstring)."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        # Parameters always given, even none: psycopg undoubles translate()'s %% only when it formats a query.
        return Cursor(self.raw.execute(translate(sql), params if params is not None else ()))

    def executemany(self, sql: str, rows: Any) -> Cursor:
        cursor = self.raw.cursor()
        cursor.executemany(translate(sql), list(rows))
        return Cursor(cursor)

    def copy(self, sql: str) -> Any:
        """COPY … FROM STDIN (bulk loads): psycopg's Copy object, to write rows to."""
        return self.raw.cursor().copy(sql)
