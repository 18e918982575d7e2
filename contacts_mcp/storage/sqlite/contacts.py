"""Contact rows: lookups by identity, filtered listings, inserts, updates, soft deletion, opt-out masks
(the opt-out records themselves are in optouts.py)."""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Iterable, Sequence
from itertools import repeat
from operator import add
from typing import Any

from ..rows import KEY_COLUMNS
from ..tree import Node, fold, fold_all
from .filters import FilterSql
from .session import CHUNK, GROUP_TABLES, chunks, like_pattern, marks

# Columns a caller's data may set; anything else is refused before it reaches SQL text.
DATA_COLUMNS = (
    "ext_id", "email", "email_key", "mobile", "fixed_phone", "fax", "civility", "first_name", "last_name",
    "address_1", "address_2", "postal_code", "city", "state", "country", "birth_date", "company",
    "reference", "attributes", "blocked_senders", "status",
)
INSERT_COLUMNS = DATA_COLUMNS + ("source", "created_at", "updated_at")
# Everything a batch may write back to an existing contact.
ROW_COLUMNS = DATA_COLUMNS + ("updated_at", "deleted_at", "optout_mask", "optout_reasons", "last_import")
_JSON_COLUMNS = ("attributes", "blocked_senders")


def _json(value: Any) -> str:
    if not value:  # most contacts: skip the encoder for the empty shapes
        return "[]" if isinstance(value, list) else "{}"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_INSERT_ORDER = ("id", *INSERT_COLUMNS, "deleted_at", "optout_mask", "optout_reasons", "last_import")
_INSERT_TEMPLATE = dict.fromkeys(_INSERT_ORDER)
_insert_values = operator.itemgetter(*_INSERT_ORDER)
_update_values = operator.itemgetter(*ROW_COLUMNS)


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for col in _JSON_COLUMNS:
        if col in row and isinstance(row[col], str):
            row[col] = json.loads(row[col])
    return row


_PLAIN = re.compile(r"[A-Za-z0-9:._+-]*")


def _plain(value: Any) -> bool:
    """A value that may be written into a statement as a literal: an integer, NULL, or a text of letters, digits
    and : . _ + - only (a timestamp, a job's source). Anything else is bound as a parameter, as always."""
    return value is None or value.__class__ is int or (value.__class__ is str and _PLAIN.fullmatch(value) is not None)


def _literal(value: Any) -> str:
    return "NULL" if value is None else str(value) if value.__class__ is int else f"'{value}'"


class ContactReads(FilterSql):
    def contacts_by_ids(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        return [_decode(r) for r in self._rows_by_ids("contacts", ids)]

    def existing_contact_ids(self, ids: Sequence[int]) -> set[int]:
        """Which of `ids` are this account's contacts (deleted ones included)."""
        return self._ids_in("contacts", ids)

    def contacts_by_key(self, column: str, values: Sequence[str]) -> list[dict[str, Any]]:
        """Contacts whose ext_id, email_key or mobile is one of `values` (deleted ones included)."""
        if column not in KEY_COLUMNS:
            raise ValueError(f"not a key column: {column}")
        rows: list[dict[str, Any]] = []
        for cond, params in self._in(list(values), "text"):
            rows += self._all(f"SELECT * FROM contacts WHERE account_id = ? AND {column} {cond}",
                              [self.account_id, *params])
        return [_decode(r) for r in rows]

    def list_contacts(self, *, descending: bool, after_id: int | None, limit: int, offset: int = 0,
                      **filters: Any) -> list[dict[str, Any]]:
        """A page of contacts matching the filters (see _filtered), in id order, after `after_id` or
        `offset` rows (an offset is read through: slower for deep pages)."""
        source, where, params = self._filtered(**filters)
        key = "m.contact_id" if filters.get("list_id") is not None else "c.id"
        if after_id is not None:
            where.append(f"{key} < ?" if descending else f"{key} > ?")
            params.append(after_id)
        order = "DESC" if descending else "ASC"
        rows = self._all(f"SELECT c.* FROM {source} WHERE {' AND '.join(where)} ORDER BY {key} {order} "
                         f"LIMIT ? OFFSET ?", [*params, limit, offset])
        return [_decode(r) for r in rows]

    def count_contacts(self, **filters: Any) -> int:
        source, where, params = self._filtered(**filters)
        return self._value(f"SELECT COUNT(*) FROM {source} WHERE {' AND '.join(where)}", params)

    def _filtered(self, *, list_id: int | None, segment_id: int | None, created_since: str | None,
                  modified_since: str | None, search: Sequence[str], deleted: str,
                  where_tree: Node | None = None) -> tuple[str, list[str], list[Any]]:
        where = [self._account_term(where_tree) if where_tree is not None else "c.account_id = ?"]
        params: list[Any] = [self.account_id]
        if where_tree is not None:
            sql, values = self._where(where_tree)
            where.append(sql)
            params += values
        source = "contacts c"
        if list_id is not None:
            # Driven by the membership key (list_id, contact_id): pages come straight off that index,
            # ~40x faster than `c.id IN (subquery)` on a 200k-contact base.
            source = "list_members m JOIN contacts c ON c.id = m.contact_id"
            where.append("m.list_id = ?")
            params.append(list_id)
        if segment_id is not None:
            where.append("c.id IN (SELECT contact_id FROM segment_members WHERE segment_id = ?)")
            params.append(segment_id)
        if created_since:
            where.append("c.created_at >= ?")
            params.append(created_since)
        if modified_since:
            where.append("c.updated_at >= ?")
            params.append(modified_since)
        if deleted == "exclude":
            where.append("c.deleted_at IS NULL")
        elif deleted == "only":
            where.append("c.deleted_at IS NOT NULL")
        if search:
            ors = []
            for term in search:
                pattern = like_pattern(term.lower())
                # Names lower-cased as Python does the term: SQLite's lower() folds ASCII letters only.
                low = "lower" if term.isascii() else self.FOLD_ANY
                ors.append(f"c.email_key LIKE ? ESCAPE '\\' OR c.mobile LIKE ? ESCAPE '\\' "
                           f"OR c.fixed_phone LIKE ? ESCAPE '\\' OR {low}(c.first_name) LIKE ? ESCAPE '\\' "
                           f"OR {low}(c.last_name) LIKE ? ESCAPE '\\' OR {low}(c.company) LIKE ? ESCAPE '\\' "
                           f"OR c.ext_id = ?")
                params += [pattern] * 6 + [term]
            where.append("(" + " OR ".join(ors) + ")")
        return source, where, params

    def memberships(self, contact_ids: Sequence[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for part in chunks(list(contact_ids)):
            rows = self._all(
                f"SELECT contact_id, list_id FROM list_members WHERE account_id = ? "
                f"AND contact_id IN ({marks(len(part))}) ORDER BY list_id", [self.account_id, *part])
            for r in rows:
                out.setdefault(r["contact_id"], []).append(r["list_id"])
        return out

    def memberships_among(self, contact_ids: Sequence[int], group_ids: Sequence[int],
                          kind: str) -> set[tuple[int, int]]:
        """(contact id, group id) pairs that exist among the given contacts and lists (or segments)."""
        found: set[tuple[int, int]] = set()
        if not contact_ids or not group_ids:
            return found
        _, table, column = GROUP_TABLES[kind]
        half = CHUNK // 2  # two lists of placeholders in one statement: together within one chunk's bound
        for groups in chunks(list(dict.fromkeys(group_ids)), half):
            for part in chunks(list(contact_ids), half):
                found.update((r[0], r[1]) for r in self._conn.execute(
                    f"SELECT contact_id, {column} FROM {table} WHERE {column} IN ({marks(len(groups))}) "
                    f"AND contact_id IN ({marks(len(part))})", [*groups, *part]).fetchall())
        return found

class ContactWrites(ContactReads):
    # Mixed into the Writer with StatsWrites, whose _touch each change calls first (maintained statistics).
    def reserve_contact_ids(self, n: int) -> Sequence[int]:
        """`n` ids for contacts this unit may create, none used before (not even by an erased contact) and
        none another unit will hand out. Here: the ids above the highest ever used, which no other unit
        can take meanwhile since there is one writer; a backend with concurrent writers takes them from a
        sequence. Ids a unit does not use may be left unused."""
        first = self._value("SELECT MAX((SELECT COALESCE(MAX(id), 0) FROM contacts), "
                            "(SELECT COALESCE(MAX(max_contact_id), 0) FROM erasures)) + 1")
        return range(first, first + n)

    def insert_contacts(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert whole rows with their pre-allocated ids (above any existing one)."""
        self._touch_new(row["id"] for row in rows)
        account = self.account_id
        folds = self.FOLDED_COLUMNS

        def values(row: dict[str, Any]) -> tuple:
            full = {**_INSERT_TEMPLATE, **row}  # missing columns are NULL; one C-level merge and lookup
            full["attributes"] = _json(full["attributes"])
            full["blocked_senders"] = _json(full["blocked_senders"])
            return (account, *_insert_values(full), *[fold(full[c]) for c in folds])

        self._bulk_insert("contacts", ("account_id", *_INSERT_ORDER, *[f"{c}_folded" for c in folds]),
                          [values(row) for row in rows])

    def insert_wire_rows(self, names: Sequence[str], ids: Sequence[int], lines: Sequence[tuple], *, source: str,
                         now: str, last_import: str | None, optouts: Sequence[tuple[int, int]] | None = None,
                         skip_taken: bool = False) -> set[int]:
        """New contacts from import lines as read (values in `names` order, then the attributes), with their ids
        in increasing order, and their (optout_mask, optout_reasons) if not 0. `skip_taken`: a line whose
        identity a contact holds already is left out, and its id is in the set returned (the unique indexes
        answer while inserting, without a lookup first); without it, such a line fails the unit."""
        if set(names) - set(DATA_COLUMNS):
            raise ValueError(f"unknown columns: {set(names) - set(DATA_COLUMNS)}")
        if not ids:
            return set()
        refused = None if optouts else self._insert_lines(names, ids, lines, source, now, last_import, skip_taken)
        if refused is None:
            folded, cols_folded = self._folded_columns(names, lines)
            cols = ("account_id", "id", *names, "attributes", "source", "created_at", "updated_at", "last_import",
                    "optout_mask", "optout_reasons", *folded)
            head, tail = (self.account_id,), (source, now, now, last_import)
            values = [(*head, cid, *line[:-1], _json(line[-1]), *tail, *bit, *texts)
                      for cid, line, bit, texts in zip(ids, lines, optouts or repeat((0, 0)), cols_folded)]
            if skip_taken:
                refused = self._insert_untaken("contacts", cols, values)
            else:
                self._bulk_insert("contacts", cols, values)
                refused = set()
        self._touch_new_range(ids[0], ids[-1])  # ids handed out in increasing order
        return refused

    def _insert_lines(self, names: Sequence[str], ids: Sequence[int], lines: Sequence[tuple], source: str, now: str,
                      last_import: str | None, skip_taken: bool) -> set[int] | None:
        """insert_wire_rows' common case, every row made in C: lines without custom fields (their attributes
        None), a row's constants written into the statement (values the server makes, never a caller's: checked),
        texts folded a column at a time. None when that does not apply: the caller builds each row instead."""
        constants = (self.account_id, source, now, now, last_import, 0, 0)
        if any(line[-1] is not None for line in lines) or not all(map(_plain, constants)):
            return None
        folded, cols_folded = self._folded_columns(names, lines)
        columns = ("id", *names, "attributes", *folded, "account_id", "source", "created_at", "updated_at",
                   "last_import", "optout_mask", "optout_reasons")
        values = ["?"] * (1 + len(names)) + ["COALESCE(?, '{}')"] + ["?"] * len(folded) + list(map(_literal, constants))
        rows = map(add, map(add, zip(ids), lines), cols_folded)  # (id, values…, None, folded…)
        sql = f"INSERT INTO contacts ({', '.join(columns)}) VALUES ({', '.join(values)})"
        if not skip_taken:
            self._conn.executemany(sql, rows)
            return set()
        return self._refused("contacts", ids, self._conn.executemany(f"{sql} ON CONFLICT DO NOTHING", rows).rowcount)

    def _folded_columns(self, names: Sequence[str], lines: Sequence[tuple]) -> tuple[list[str], Iterable[tuple]]:
        """The folded columns (FOLDED_COLUMNS) of those the lines hold, and each line's folded values, folded a
        column at a time (fold_all: each distinct text once, in C)."""
        at = [i for i, name in enumerate(names) if name in self.FOLDED_COLUMNS]
        if not at:
            return [], repeat(())
        return [f"{names[i]}_folded" for i in at], zip(*[fold_all([line[i] for line in lines]) for i in at])

    def update_contacts(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write back whole rows (every mutable column) by id."""
        self._touch(row["id"] for row in rows)
        folds = self.FOLDED_COLUMNS
        sets = ", ".join(f"{c} = ?" for c in (*ROW_COLUMNS, *[f"{c}_folded" for c in folds]))
        account = self.account_id

        def values(row: dict[str, Any]) -> tuple:
            full = {**row, "attributes": _json(row["attributes"]), "blocked_senders": _json(row["blocked_senders"])}
            return (*_update_values(full), *[fold(row.get(c)) for c in folds], account, row["id"])

        self._conn.executemany(f"UPDATE contacts SET {sets} WHERE account_id = ? AND id = ?",
                               [values(row) for row in rows])

    def release_keys(self, ids: Sequence[int], columns: Sequence[str]) -> None:
        """Clear identity columns of rows about to take new values, so that identities moving between
        contacts within one batch never collide on the unique indexes mid-way."""
        self._touch(ids)
        for col in columns:
            if col not in KEY_COLUMNS:
                raise ValueError(f"not a key column: {col}")
            self._conn.executemany(f"UPDATE contacts SET {col} = NULL WHERE account_id = ? AND id = ?",
                                   [(self.account_id, i) for i in ids])

    def add_memberships(self, pairs: Sequence[tuple[int, int]], now: str, kind: str = "list") -> None:
        """(contact id, list or segment id) pairs; existing ones are left alone."""
        _, table, column = GROUP_TABLES[kind]
        self._touch(cid for cid, _ in pairs)
        self._conn.executemany(
            f"INSERT INTO {table} ({column}, contact_id, account_id, added_at) VALUES (?, ?, ?, ?) "
            f"ON CONFLICT ({column}, contact_id) DO NOTHING", [(gid, cid, self.account_id, now) for cid, gid in pairs])

    def remove_memberships(self, pairs: Sequence[tuple[int, int]], kind: str = "list") -> None:
        _, table, column = GROUP_TABLES[kind]
        self._touch(cid for cid, _ in pairs)
        self._conn.executemany(f"DELETE FROM {table} WHERE account_id = ? AND {column} = ? AND contact_id = ?",
                               [(self.account_id, gid, cid) for cid, gid in pairs])

    def set_optout_bits(self, rows: Sequence[tuple[int, int, int]], now: str) -> None:
        """(contact id, optout_mask, optout_reasons) for each contact whose opt-outs changed."""
        self._touch(cid for cid, _, _ in rows)
        self._conn.executemany(
            "UPDATE contacts SET optout_mask = ?, optout_reasons = ?, updated_at = ? WHERE account_id = ? AND id = ?",
            [(mask, reasons, now, self.account_id, cid) for cid, mask, reasons in rows])

    def set_deleted(self, ids: Sequence[int], deleted_at: str | None, now: str) -> int:
        """Soft-delete (deleted_at set) or restore (None) the given contacts; returns how many changed."""
        self._touch(ids)
        changed = 0
        state = "deleted_at IS NULL" if deleted_at else "deleted_at IS NOT NULL"
        for part in chunks(list(ids)):
            changed += self._run(
                f"UPDATE contacts SET deleted_at = ?, updated_at = ? WHERE account_id = ? AND {state} "
                f"AND id IN ({marks(len(part))})", [deleted_at, now, self.account_id, *part])
        return changed

