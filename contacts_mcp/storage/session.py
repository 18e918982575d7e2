"""The base of every query class: one connection and the one account the session is bound to.

Every query method filters on `self.account_id`; ids of another account therefore behave exactly
like ids that do not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

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
    def __init__(self, conn: aiosqlite.Connection, account_id: int) -> None:
        self._conn = conn
        self.account_id = account_id

    async def _all(self, sql: str, params: Sequence[Any] | dict = ()) -> list[dict[str, Any]]:
        async with self._conn.execute(sql, params) as cur:
            return [dict(row) for row in await cur.fetchall()]

    async def _one(self, sql: str, params: Sequence[Any] | dict = ()) -> dict[str, Any] | None:
        async with self._conn.execute(sql, params) as cur:
            row = await cur.fetchone()
        return dict(row) if row is not None else None

    async def _value(self, sql: str, params: Sequence[Any] | dict = ()) -> Any:
        async with self._conn.execute(sql, params) as cur:
            row = await cur.fetchone()
        return row[0] if row is not None else None

    async def _run(self, sql: str, params: Sequence[Any] | dict = ()) -> int:
        """Execute a write; returns the number of rows changed."""
        async with self._conn.execute(sql, params) as cur:
            return cur.rowcount

    async def _ids_in(self, table: str, ids: Sequence[int]) -> set[int]:
        """Which of `ids` exist in `table` for this account (table names come from code, never callers)."""
        found: set[int] = set()
        for part in chunks(list(dict.fromkeys(ids))):
            rows = await self._all(f"SELECT id FROM {table} WHERE account_id = ? AND id IN ({marks(len(part))})",
                                   [self.account_id, *part])
            found.update(r["id"] for r in rows)
        return found
