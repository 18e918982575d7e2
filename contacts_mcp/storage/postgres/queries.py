"""The repositories on PostgreSQL: the shared queries (storage/sqlite/'s mixins, in the SQL both databases
speak, run through connection.Connection) with PostgreSQL's own spelling where the two differ.

Ids come from the identity sequences: never reused, whichever process inserts, and rising, so a unit
that holds its account's write lock (store.py) gets ids above every id its account has.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
import psycopg.rows

from .connection import translate
from ..sqlite.contacts import ContactReads, ContactWrites
from ..sqlite.erase import EraseReads, EraseWrites
from ..sqlite.events import EventReads, EventWrites
from ..sqlite.fields import FieldReads, FieldWrites
from ..sqlite.exports import ExportReads
from ..sqlite.filters import PlanWrites
from ..sqlite.imports import ImportReads, ImportWrites
from ..sqlite.lists import ListReads, ListWrites
from ..sqlite.optouts import OptoutReads, OptoutRow, OptoutWrites
from ..sqlite.segments import SegmentReads, SegmentWrites
from ..sqlite.session import GROUP_TABLES, Session, marks
from ..sqlite.stats import StatsReads, StatsWrites


T = TypeVar("T")
SMALL_INSERT = 32  # fewer new rows than this are inserted by one INSERT, more by COPY


class PostgresSession(Session):
    TAKEN = psycopg.errors.UniqueViolation
    FOLDED_COLUMNS = ()  # its indexes are on contacts_fold(column), a SQL function (migration 006)
    FOLD_ANY = "lower"  # folds every letter, unless the database's LC_CTYPE is C (then ASCII only, as SQLite's)
    CONTACT_EVENT_DATA = ("jsonb_build_object('key', COALESCE(email, mobile)) || CASE WHEN mobile IS NULL "
                          "THEN '{}'::jsonb ELSE jsonb_build_object('sms', mobile) END")

    def _new_ids(self, table: str, n: int) -> Sequence[int]:
        if n <= 0:
            return []
        rows = self._conn.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                  f"FROM generate_series(1, ?) ORDER BY 1", [n]).fetchall()  # rising: see _touch_new_range
        return [r[0] for r in rows]

    EMAIL_DOMAIN = "split_part(c.email_key, '@', 2)"

    def _account_term(self, node: Any = None) -> str:
        return "c.account_id = ?"  # the planner's statistics choose between the indexes and a scan

    FIRST_CODE = "ascii"  # in a UTF-8 database, the first character's code point
    BYTES = ' COLLATE "C"'

    def _group_ids(self, members: str, column: str) -> str:
        return f"(SELECT string_agg(m.{column}::text, ',') FROM {members} m WHERE m.contact_id = c.id)"

    native_csv = True  # COPY … TO STDOUT (FORMAT csv): the server's own process formats every row

    def _group_join(self, kind: str) -> str:
        # Every member's names aggregated once and joined: measured on a million contacts, 2.2 s a column, where
        # a subquery a contact took 4 s.
        groups, members, column = GROUP_TABLES[kind]
        static = " AND g.filter_json IS NULL" if kind == "segment" else ""
        escaped = "replace(replace(g.name, '\\', '\\\\'), '|', '\\|')"
        alias = f"{kind}_names"
        # COLLATE "C": code-point order whatever the database's collation (Python's sorted() elsewhere).
        return (f"LEFT JOIN (SELECT m.contact_id, string_agg({escaped}, '|' ORDER BY g.name COLLATE \"C\") AS names "
                f"FROM {members} m JOIN {groups} g ON g.id = m.{column}{static} WHERE g.account_id = ? "
                f"GROUP BY m.contact_id) {alias} ON {alias}.contact_id = c.id")

    def _time_text(self, expr: str) -> str:
        return f"to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

    def export_csv(self, node: Any, columns: Sequence[Any], *, deleted: str, delimiter: str) -> Iterator[bytes]:
        sql, params = self._export_select(node, columns, deleted, text=True, names=True)
        with self._conn.raw.cursor().copy(translate(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, DELIMITER ?)"),
                                          [*params, delimiter]) as copy:
            for data in copy:
                yield bytes(data)

    def _stream(self, sql: str, params: Sequence[Any], size: int) -> Iterator[list[tuple]]:
        # A server-side cursor: the rows come `size` at a time, never all of them in this process at once.
        with self._conn.raw.cursor(name="export", row_factory=psycopg.rows.tuple_row) as cursor:
            cursor.execute(translate(sql), list(params))
            while batch := cursor.fetchmany(size):
                yield batch

    @staticmethod
    def _attribute(name: str, kind: str = "text") -> tuple[str, list[Any]]:
        if kind in ("number", "boolean"):
            sql_type = "numeric" if kind == "number" else "boolean"
            return (f"(CASE WHEN jsonb_typeof(c.attributes -> ?) = '{kind}' THEN (c.attributes ->> ?)::{sql_type} END)",
                    [name, name])
        return "(c.attributes ->> ?)", [name]

    def _bulk_insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        # COPY: an import's new contacts stream in as one statement, not one INSERT a row. No staging table
        # and ON CONFLICT merge: a speculative ON CONFLICT insertion probes each unique index twice (measured:
        # ~24 µs a line against ~19 for the COPY), so _insert_untaken tries the COPY first. A few rows (a
        # create_contact's one) go as one INSERT: COPY's start and end cost ~0.4 ms more than they save.
        rows = iter(rows)
        first = list(itertools.islice(rows, SMALL_INSERT))
        if len(first) < SMALL_INSERT:
            if first:
                values = ", ".join([f"({marks(len(columns))})"] * len(first))
                self._conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}",
                                   [v for row in first for v in row])
            return
        with self._conn.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in itertools.chain(first, rows):
                copy.write_row(row)

    def _unless_refused(self, run: Callable[[], T]) -> T | None:
        """run() in a savepoint: its value, or None with nothing of it kept if a unique index refused a row."""
        self._run("SAVEPOINT new_rows")
        try:
            value = run()
        except self.TAKEN:
            self._run("ROLLBACK TO new_rows")
            value = None
        self._run("RELEASE new_rows")
        return value

    def _insert_untaken(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> set[int]:
        # The COPY, in a savepoint (a batch of new contacts only: one probe of each unique index a line). Only when
        # a unique index refuses a line: the rows COPYed into a temporary table of the same columns (no index, no
        # WAL), the ones whose identity a contact holds found by index probes, and the others moved by one
        # INSERT … SELECT (set-based; an ON CONFLICT insertion instead probed every index twice: 43 µs a line).
        if self._unless_refused(lambda: self._bulk_insert(table, columns, rows) or True):
            return set()
        names = ", ".join(columns)
        staging = f"new_{table}"
        self._run(f"CREATE TEMP TABLE IF NOT EXISTS {staging} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        self._run(f"TRUNCATE {staging}")  # a second batch in one transaction
        with self._conn.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        taken = " OR ".join(f"EXISTS (SELECT 1 FROM {table} c WHERE c.account_id = s.account_id AND c.{k} = s.{k})"
                            for k in ("ext_id", "email_key", "mobile") if k in columns)
        move = f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging} s WHERE NOT ({taken or 'false'}) ORDER BY id"
        inserted = self._unless_refused(lambda: {r[0] for r in self._conn.execute(f"{move} RETURNING id")})
        if inserted is None:  # another process took one of these identities meanwhile
            inserted = {r[0] for r in self._conn.execute(f"{move} ON CONFLICT DO NOTHING RETURNING id")}
        at = list(columns).index("id")
        return {row[at] for row in rows} - inserted

    # Lookups by a list of values: one array parameter (= ANY), so one statement shape and a short plan
    # whatever the number of values, where SQLite's IN (?, ?, …) would make one per length. The array goes as
    # its text form: psycopg adapts a list element by element in Python, ~10x slower for an import's batch.
    def _in(self, values: Sequence[Any], sql_type: str) -> Iterator[tuple[str, list[Any]]]:
        if values:
            yield f"= ANY(?::{sql_type}[])", [_array(values)]


def _unnest(rows: Iterable[Sequence[Any]], columns: str) -> tuple[str, list[str]]:
    """Rows as a table in one statement: `unnest(?::type[], …) AS t(name, …)` over their columns side by side,
    `columns` naming each ("id bigint, mask int"); with the arrays it binds, in that order."""
    named = [c.split() for c in columns.split(",")]
    arrays = [_array(column) for column in zip(*rows)]
    return (f"unnest({', '.join(f'?::{t}[]' for _, t in named)}) AS t({', '.join(n for n, _ in named)})",
            arrays)


def _array(values: Iterable[Any]) -> str:
    """An array literal of these numbers, strings or Nones, each string double-quoted (backslash and quote
    escaped): any text is safe."""
    return "{" + ",".join("NULL" if v is None else str(v) if isinstance(v, int | float)
                          else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


class PostgresWrites(PostgresSession):
    """Write queries whose SQLite spelling differs; first in the Writer's bases, so they win."""

    def _insert_lines(self, *args: Any) -> None:
        # SQLite's rows made in C do not serve COPY, which takes whole rows: insert_wire_rows builds them.
        return None

    def _remove_attribute(self, name: str) -> int:
        return self._run("UPDATE contacts SET attributes = attributes - ? WHERE account_id = ? "
                         "AND attributes ->> ? IS NOT NULL", [name, self.account_id, name])

    def add_memberships(self, pairs: Sequence[tuple[int, int]], now: str, kind: str = "list") -> None:
        # One statement for the whole batch (two arrays, unnested side by side), not one INSERT a pair.
        _, table, column = GROUP_TABLES[kind]
        self._touch(cid for cid, _ in pairs)
        if pairs:
            pairs_table, arrays = _unnest(pairs, "c bigint, g bigint")
            self._run(f"INSERT INTO {table} ({column}, contact_id, account_id, added_at) SELECT g, c, ?, ? "
                      f"FROM {pairs_table} ON CONFLICT ({column}, contact_id) DO NOTHING",
                      [self.account_id, now, *arrays])

    def insert_optouts(self, rows: Sequence[OptoutRow], now: str) -> None:
        # The shared method's rules in three statements whatever the number of records (it runs one a record:
        # 2.9 s for 10,000 here). A repeat within the batch is skipped as there: the first of each key stays.
        if not rows:
            return
        ids = self._new_ids("optouts", len(rows))
        records = [(i, cid, addrs[0][0] if addrs else None, ch, reason, src)
                   for i, (cid, addrs, ch, reason, src) in zip(ids, rows)]
        for by_contact in (True, False):
            part = [r for r in records if (r[1] is not None) == by_contact]
            key, same = ("t.cid", "o.contact_id = t.cid") if by_contact else \
                ("t.addr", "o.contact_id IS NULL AND o.address = t.addr")
            if part:
                records_table, arrays = _unnest(part, "id bigint, cid bigint, addr text, ch text, reason text, src text")
                self._run(
                    "INSERT INTO optouts (id, account_id, contact_id, address, channel, reason, source, created_at) "
                    f"SELECT DISTINCT ON ({key}, t.ch, t.reason) t.id, ?, t.cid, t.addr, t.ch, t.reason, t.src, "
                    f"?::timestamptz FROM {records_table} WHERE NOT EXISTS (SELECT 1 FROM optouts o WHERE "
                    f"o.account_id = ? AND {same} AND o.channel = t.ch AND o.reason = t.reason AND o.restored_at IS NULL) "
                    f"ORDER BY {key}, t.ch, t.reason, t.id",
                    [self.account_id, now, *arrays, self.account_id])
        held = [(i, address, mask) for i, (_, addrs, *_) in zip(ids, rows) for address, mask in addrs]
        held = [(*row, n) for n, row in enumerate(held)]  # n: the order given, kept by the insert
        if held:  # the addresses of the records inserted (a repeat's went with it), in the order given
            held_table, arrays = _unnest(held, "id bigint, addr text, mask int, n int")
            self._run("INSERT INTO optout_addresses (optout_id, account_id, address, mask) SELECT t.id, ?, t.addr, "
                      f"t.mask FROM {held_table} WHERE EXISTS (SELECT 1 FROM optouts o WHERE o.id = t.id) ORDER BY t.n",
                      [self.account_id, *arrays])

    def set_optout_bits(self, rows: Sequence[tuple[int, int, int]], now: str) -> None:
        # One UPDATE for the batch (arrays unnested side by side), not one a contact; the last state given
        # for a contact wins, as in the shared method's statement-by-statement order.
        last = {cid: (mask, reasons) for cid, mask, reasons in rows}
        self._touch(last)
        if last:
            states, arrays = _unnest([(cid, *state) for cid, state in last.items()], "id bigint, mask int, reasons int")
            self._run("UPDATE contacts c SET optout_mask = t.mask, optout_reasons = t.reasons, updated_at = "
                      f"?::timestamptz FROM {states} WHERE c.account_id = ? AND c.id = t.id",
                      [now, *arrays, self.account_id])

    def merge_members(self, list_id: int, sources: Sequence[int], exclude_mask: int, now: str) -> int:
        # A merge gathers, hashes and sorts up to millions of members: in memory for this transaction, not
        # spilled to temporary files (the default 4 MB spilled a 1,000,000-member sort).
        self._run("SET LOCAL work_mem = '64MB'")
        return super().merge_members(list_id, sources, exclude_mask, now)

    def reserve_contact_ids(self, n: int) -> Sequence[int]:
        # One block from the sequence (migration 005), not a nextval an id: contiguous, so an import's new
        # contacts are counted by id range (StatsWrites._touch_new_range) like SQLite's.
        if n <= 0:
            return range(0)
        first = self._value("SELECT reserve_contact_ids(?)", [n])
        return range(first, first + n)

    @contextmanager
    def secure_delete(self) -> Iterator[None]:
        """Nothing to switch on: a deleted or overwritten row version stays in the table's pages until
        VACUUM (autovacuum, soon after) reclaims it, and VACUUM cannot run inside the transaction. The
        README's operating section says so; an operator wanting it at once runs VACUUM on contacts."""
        yield


class Reader(PostgresSession, ContactReads, OptoutReads, ListReads, FieldReads, ImportReads, SegmentReads,
             EventReads, StatsReads, EraseReads, ExportReads):
    """Read queries, bound to one account."""


class Writer(PostgresWrites, ContactWrites, OptoutWrites, ListWrites, FieldWrites, ImportWrites, SegmentWrites,
             EventWrites, EraseWrites, StatsWrites, PlanWrites, Reader):
    """Read and write queries inside one write transaction, bound to one account."""
