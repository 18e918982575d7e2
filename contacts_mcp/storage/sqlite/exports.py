"""What an export reads: the contacts a filter selects, column by column, streamed in batches.

One statement reads everything, in id order, on the caller's snapshot (Store.stream): the contact's values,
its custom fields, its lists and static segments, and its opt-out reason per channel. For a spreadsheet
(`text`), text a person typed that would run as a formula comes back neutralised (storage/columns.py), in
SQL: measured on a million contacts, 1.1 s there against 3 s for the same test in Python.

A backend whose database writes CSV itself (PostgreSQL's COPY, `native_csv`) hands CSV over whole: then
the database also names the groups and formats the times, so Python only copies bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..columns import CHANNEL_BITS, REASON_BITS, TYPED, VALUES, ExportColumn
from ..tree import Node
from .filters import FilterSql
from .session import GROUP_TABLES

# First characters that make a spreadsheet read a cell as a formula: = + - @ tab CR (OWASP), and the apostrophe.
_FORMULA = "61, 43, 45, 64, 9, 13"
_APOSTROPHE = 39
# Deleted contacts: left out (no), written too (also), or the only ones written (only).
_DELETED = {"no": " AND c.deleted_at IS NULL", "also": "", "only": " AND c.deleted_at IS NOT NULL"}
_TIMES = ("created_at", "updated_at", "deleted_at")


class ExportReads(FilterSql):
    FIRST_CODE = "unicode"  # the code point of a text's first character (PostgreSQL: ascii)
    BYTES = ""  # the collation comparing texts by code point (SQLite's default; PostgreSQL: COLLATE "C")
    native_csv = False  # whether export_csv is there (the database writes CSV itself)

    def _group_ids(self, members: str, column: str) -> str:
        return f"(SELECT group_concat(m.{column}) FROM {members} m WHERE m.contact_id = c.id)"

    def _group_join(self, kind: str) -> str:
        """The join that brings each contact's groups as one text, `<kind>_names.names` (names in code-point
        order, a | or \\ escaped by a backslash, joined by |), binding the account id: only backends with
        native_csv need it."""
        raise NotImplementedError

    def _time_text(self, expr: str) -> str:
        return expr  # SQLite keeps times as core wrote them

    def _stream(self, sql: str, params: Sequence[Any], size: int) -> Iterator[list[tuple]]:
        cursor = self._conn.cursor()
        cursor.row_factory = None  # plain tuples: a million of them
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(size):
            yield batch

    def _neutral(self, expr: str) -> str:
        """`expr` with one more leading apostrophe when it starts like a formula, after any apostrophes
        (so that the importer, removing one, gets back exactly what was stored: core/exports/cells.py)."""
        first = f"{self.FIRST_CODE}({expr})"
        # Each such first character sorts before 'A': one comparison settles most texts (names, emails).
        return (f"(CASE WHEN {expr} < 'A'{self.BYTES} AND ({first} IN ({_FORMULA}) OR ({first} = {_APOSTROPHE} AND "
                f"{self.FIRST_CODE}(ltrim({expr}, '''')) IN ({_FORMULA}))) THEN '''' || {expr} ELSE {expr} END)")

    def _export_column(self, col: ExportColumn, text: bool, names: bool = False) -> tuple[str, list[Any]]:
        """SQL for one column and its parameters; `names`: groups by name, times as ISO text (native CSV)."""
        if col.column is not None:
            if col.column not in VALUES:
                raise ValueError(f"not an exportable column: {col.column}")
            expr = f"c.{col.column}"
            if names and col.column in _TIMES:
                return self._time_text(expr), []
            return (self._neutral(expr) if text and col.column in TYPED else expr), []
        if col.attribute is not None:
            expr, params = self._attribute(col.attribute, "text" if names and col.kind == "number" else col.kind)
            if text and col.kind == "boolean":
                return f"(CASE WHEN {expr} THEN 'true' WHEN NOT {expr} THEN 'false' END)", params * 2
            if text and col.kind not in ("number", "boolean"):
                guarded = self._neutral(expr)
                return guarded, params * guarded.count(expr)  # each use of the expression binds its name
            return expr, params
        if col.group is not None:
            if names:
                return self._neutral(f"{col.group}_names.names"), []
            _, members, column = GROUP_TABLES[col.group]
            return self._group_ids(members, column), []
        bit = CHANNEL_BITS[col.channel or ""]
        channels = f"('{col.channel}', 'all')"  # from CHANNEL_BITS' keys, never a caller's text
        # The contact's own active record names the reason; an opt-out of one of its addresses (recorded
        # without the contact) leaves only the reasons' bits.
        by_bits = " ".join(f"WHEN (c.optout_reasons & {b}) <> 0 THEN '{r}'" for r, b in REASON_BITS.items())
        return (f"(CASE WHEN (c.optout_mask & {bit}) <> 0 THEN COALESCE((SELECT o.reason FROM optouts o "
                f"WHERE o.account_id = c.account_id AND o.contact_id = c.id AND o.restored_at IS NULL "
                f"AND o.channel IN {channels} ORDER BY o.id LIMIT 1), CASE {by_bits} ELSE 'unsubscribed' END) END)"), []

    def _export_where(self, node: Node | None, deleted: str) -> tuple[str, list[Any]]:
        sql, params = self._where(node) if node is not None else ("1 = 1", [])
        state = _DELETED[deleted]
        return f"{self._account_term(node)}{state} AND {sql}", [self.account_id, *params]

    def _export_select(self, node: Node | None, columns: Sequence[ExportColumn], deleted: str, text: bool,
                       names: bool = False) -> tuple[str, list[Any]]:
        parts = [self._export_column(col, text, names) for col in columns]
        joins = [self._group_join(kind) for kind in dict.fromkeys(c.group for c in columns if c.group)] if names else []
        where, wparams = self._export_where(node, deleted)
        return (f"SELECT {', '.join(expr for expr, _ in parts)} FROM contacts c {' '.join(joins)} WHERE {where} "
                "ORDER BY c.id", [*(p for _, ps in parts for p in ps), *[self.account_id] * len(joins), *wparams])

    def export_count(self, node: Node | None, *, deleted: str) -> int:
        """How many contacts the export will write (on the same snapshot as export_rows)."""
        where, params = self._export_where(node, deleted)
        return int(self._value(f"SELECT COUNT(*) FROM contacts c WHERE {where}", params))

    def export_rows(self, node: Node | None, columns: Sequence[ExportColumn], *, deleted: str, text: bool,
                    batch: int = 5000) -> Iterator[list[tuple]]:
        """The selected contacts (deleted ones: `deleted` no, also or only), one tuple of `columns` each, in id
        order. `text`: as a spreadsheet shows them (see storage/_repositories.py)."""
        return self._stream(*self._export_select(node, columns, deleted, text), batch)

    def export_csv(self, node: Node | None, columns: Sequence[ExportColumn], *, deleted: str,
                   delimiter: str) -> Iterator[bytes]:
        raise NotImplementedError("this database writes no CSV itself (native_csv is false)")
