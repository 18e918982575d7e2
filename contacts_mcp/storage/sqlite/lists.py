"""Lists, their members, and the folders that hold them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .session import CHUNK, Session, chunks, marks
from .stats import PROFILE_SQL

LIST_COLUMNS = ("name", "description", "folder_id", "updated_at")


class ListReads(Session):
    def existing_list_ids(self, ids: Sequence[int]) -> set[int]:
        return self._ids_in("lists", ids)

    def lists_by_ids(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        return self._rows_by_ids("lists", ids)

    def list_lists(self, *, folder_id: int | None, after_id: int | None, limit: int, descending: bool = False,
                   offset: int = 0) -> list[dict[str, Any]]:
        """Lists in creation (id) order, after `after_id` or `offset` rows."""
        where, params = ["account_id = ?"], [self.account_id]
        if folder_id is not None:
            where.append("folder_id = ?")
            params.append(folder_id)
        if after_id is not None:
            where.append("id < ?" if descending else "id > ?")
            params.append(after_id)
        return self._all(f"SELECT * FROM lists WHERE {' AND '.join(where)} ORDER BY id {'DESC' if descending else ''} "
                         f"LIMIT ? OFFSET ?", [*params, limit, offset])

    def count_lists(self, folder_id: int | None) -> int:
        if folder_id is None:
            return self._value("SELECT COUNT(*) FROM lists WHERE account_id = ?", [self.account_id])
        return self._value("SELECT COUNT(*) FROM lists WHERE account_id = ? AND folder_id = ?",
                           [self.account_id, folder_id])

    def subscriber_counts(self, list_ids: Sequence[int]) -> dict[int, int]:
        """Members that are not deleted, per list (from the maintained statistics)."""
        return self.group_sizes("list", list_ids)

    def existing_folder_ids(self, ids: Sequence[int]) -> set[int]:
        return self._ids_in("folders", ids)

    def folder_by_name(self, name: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM folders WHERE account_id = ? AND name = ?", [self.account_id, name])

    def folders_by_ids(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        return self._rows_by_ids("folders", ids)

    def list_folders(self, *, after_id: int | None, limit: int) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM folders WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?",
                               [self.account_id, after_id or 0, limit])

    def folder_list_counts(self, folder_ids: Sequence[int]) -> dict[int, int]:
        out = {i: 0 for i in folder_ids}
        for part in chunks(list(folder_ids)):
            rows = self._all(
                f"SELECT folder_id, COUNT(*) AS n FROM lists WHERE account_id = ? "
                f"AND folder_id IN ({marks(len(part))}) GROUP BY folder_id", [self.account_id, *part])
            out.update({r["folder_id"]: r["n"] for r in rows})
        return out

    def first_lists_of_folders(self, folder_ids: Sequence[int], per_folder: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for folder_id in folder_ids:
            rows += self._all(
                "SELECT id, name, folder_id FROM lists WHERE account_id = ? AND folder_id = ? ORDER BY id LIMIT ?",
                [self.account_id, folder_id, per_folder])
        return rows


    def groups_named(self, names: Sequence[str]) -> list[tuple[str, int, str]]:
        """(kind, id, name) of the lists and segments whose name is one of these, ignoring case. Compared in
        Python: SQLite's lower() folds ASCII letters only ("Événements" would stay unfound)."""
        folded = {n.casefold() for n in names}
        out: list[tuple[str, int, str]] = []
        for kind, table in (("list", "lists"), ("segment", "segments")):
            out += [(kind, r[0], r[1]) for r in self._conn.execute(
                f"SELECT id, name FROM {table} WHERE account_id = ? ORDER BY id", [self.account_id]).fetchall()
                if r[1].casefold() in folded]
        return out

    def member_ids(self, list_id: int) -> list[int]:
        return [r[0] for r in self._conn.execute(
            "SELECT contact_id FROM list_members WHERE account_id = ? AND list_id = ? ORDER BY contact_id",
            [self.account_id, list_id]).fetchall()]

    def list_unsubscribes(self, contact_ids: Sequence[int]) -> dict[int, list[int]]:
        """{contact id: lists it is unsubscribed from} (active unsubscribes only)."""
        out: dict[int, list[int]] = {}
        for part in chunks(list(contact_ids)):
            for r in self._all(f"SELECT contact_id, list_id FROM list_unsubscribes WHERE account_id = ? AND "
                               f"restored_at IS NULL AND contact_id IN ({marks(len(part))}) ORDER BY list_id",
                               [self.account_id, *part]):
                out.setdefault(r["contact_id"], []).append(r["list_id"])
        return out

    def unsubscribed_among(self, contact_ids: Sequence[int], list_ids: Sequence[int]) -> set[tuple[int, int]]:
        """(contact id, list id) pairs among these that are unsubscribed: no add may join them."""
        found: set[tuple[int, int]] = set()
        for lists in chunks(list(dict.fromkeys(list_ids)), CHUNK // 2):
            for part in chunks(list(contact_ids), CHUNK // 2):
                found.update((r[0], r[1]) for r in self._conn.execute(
                    f"SELECT contact_id, list_id FROM list_unsubscribes WHERE restored_at IS NULL AND list_id IN "
                    f"({marks(len(lists))}) AND contact_id IN ({marks(len(part))})", [*lists, *part]).fetchall())
        return found


class ListWrites(ListReads):
    # Mixed into the Writer with StatsWrites, whose _touch each change calls first (maintained statistics).
    def insert_list(self, *, name: str, description: str | None, folder_id: int | None, now: str) -> int:
        return self._value(
                "INSERT INTO lists (account_id, name, description, folder_id, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                [self.account_id, name, description, folder_id, now, now])

    def update_list(self, list_id: int, values: dict[str, Any]) -> None:
        if set(values) - set(LIST_COLUMNS):
            raise ValueError(f"unknown columns: {set(values) - set(LIST_COLUMNS)}")
        sets = ", ".join(f"{c} = ?" for c in values)
        self._run(f"UPDATE lists SET {sets} WHERE account_id = ? AND id = ?",
                        [*values.values(), self.account_id, list_id])

    def delete_lists(self, ids: Sequence[int]) -> int:
        return self.delete_groups("list", ids)

    def add_members(self, list_id: int, contact_ids: Sequence[int], now: str) -> int:
        """Add contacts (already checked to be this account's) to a list; returns how many were new."""
        return self.join_group("list", list_id, contact_ids, now)

    def remove_members(self, list_id: int, contact_ids: Sequence[int] | None) -> int:
        """Remove contacts from a list (None: every member); returns how many left."""
        return self.leave_group("list", list_id, contact_ids)

    def unsubscribe_members(self, list_id: int, contact_ids: Sequence[int], source: str, now: str) -> int:
        """Unsubscribe contacts from a list: they leave it and stay out. Returns how many were not yet."""
        self.leave_group("list", list_id, contact_ids)
        return sum(self._run(
            f"INSERT INTO list_unsubscribes (account_id, list_id, contact_id, source, created_at) "
            f"SELECT account_id, ?, id, ?, ? FROM contacts WHERE account_id = ? AND id IN ({marks(len(part))}) "
            f"ON CONFLICT (list_id, contact_id) WHERE restored_at IS NULL DO NOTHING",
            [list_id, source, now, self.account_id, *part]) for part in chunks(list(dict.fromkeys(contact_ids))))

    def resubscribe_members(self, list_id: int, contact_ids: Sequence[int], *, by: str, reason: str,
                            now: str) -> int:
        """Lift unsubscribes (kept, with who and why) and add the contacts back; returns how many were lifted."""
        lifted = sum(self._run(
            f"UPDATE list_unsubscribes SET restored_at = ?, restored_by = ?, restore_reason = ? "
            f"WHERE account_id = ? AND list_id = ? AND restored_at IS NULL AND contact_id IN ({marks(len(part))})",
            [now, by, reason, self.account_id, list_id, *part]) for part in chunks(list(dict.fromkeys(contact_ids))))
        self.join_group("list", list_id, contact_ids, now)
        return lifted

    def merge_members(self, list_id: int, sources: Sequence[int], exclude_mask: int, now: str) -> int:
        """Fill a new list with the members of `sources`, each once, leaving out contacts opted out of any
        channel in `exclude_mask`, and count its statistics from the same pass: the members and their
        profiles are gathered once in a temporary table (nothing else has touched a list created in this
        transaction, so these counts are exact)."""
        exclude = "" if not exclude_mask else "AND c.optout_mask & ? = 0"
        self.defer_checkpoint = True
        self._run("DROP TABLE IF EXISTS temp.merging")
        self._run(
            f"CREATE TEMP TABLE merging AS SELECT c.id AS id, {PROFILE_SQL} AS profile FROM contacts c "
            f"WHERE c.account_id = ? AND c.deleted_at IS NULL {exclude} AND c.id IN "
            f"(SELECT contact_id FROM list_members WHERE list_id IN ({marks(len(sources))}))",
            [self.account_id, *([exclude_mask] if exclude_mask else []), *sources])
        try:
            added = self._run("INSERT INTO list_members (list_id, contact_id, account_id, added_at) "
                              "SELECT ?, id, ?, ? FROM temp.merging ORDER BY id", [list_id, self.account_id, now])
            self.add_group_counts("list", list_id, self._conn.execute(
                "SELECT profile, COUNT(*) FROM temp.merging GROUP BY profile").fetchall())
        finally:
            self._run("DROP TABLE temp.merging")
        return added

    def insert_folder(self, name: str, now: str) -> int:
        return self._value(
                "INSERT INTO folders (account_id, name, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id",
                [self.account_id, name, now, now])

    def rename_folder(self, folder_id: int, name: str, now: str) -> None:
        self._run("UPDATE folders SET name = ?, updated_at = ? WHERE account_id = ? AND id = ?",
                        [name, now, self.account_id, folder_id])

    def delete_folder(self, folder_id: int) -> int:
        """Delete a folder and the lists it holds; returns how many lists went with it."""
        lists = self.delete_groups("list", [r["id"] for r in self._all(
            "SELECT id FROM lists WHERE account_id = ? AND folder_id = ?", [self.account_id, folder_id])])
        self._run("DELETE FROM folders WHERE account_id = ? AND id = ?", [self.account_id, folder_id])
        return lists
