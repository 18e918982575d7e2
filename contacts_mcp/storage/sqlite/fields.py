"""Custom fields and the import aliases of every field."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .session import Session


class FieldReads(Session):
    def custom_fields(self) -> list[dict[str, Any]]:
        rows = self._all("SELECT name, type, choices, created_at FROM fields WHERE account_id = ? ORDER BY id",
                         [self.account_id])
        for row in rows:
            row["choices"] = json.loads(row["choices"]) if row["choices"] else None
        return rows

    def aliases(self) -> list[dict[str, Any]]:
        return self._all("SELECT field, alias, alias_key FROM field_aliases WHERE account_id = ? ORDER BY id",
                         [self.account_id])

    def aliases_seeded(self) -> int:
        """How many alias seeds the account has received (core.fields.ALIAS_SEEDS)."""
        return int(self._value("SELECT aliases_seeded FROM accounts WHERE id = ?", [self.account_id]) or 0)


class FieldWrites(FieldReads):
    def insert_field(self, name: str, type_: str, choices: list[str] | None, now: str) -> None:
        self._run("INSERT INTO fields (account_id, name, type, choices, created_at) VALUES (?, ?, ?, ?, ?)",
                  [self.account_id, name, type_, json.dumps(choices) if choices is not None else None, now])

    def update_field(self, name: str, type_: str, choices: list[str] | None) -> None:
        self._run("UPDATE fields SET type = ?, choices = ? WHERE account_id = ? AND name = ?",
                  [type_, json.dumps(choices) if choices is not None else None, self.account_id, name])

    def delete_field(self, name: str) -> int:
        """Delete a custom field, its aliases and its values on every contact; returns contacts changed."""
        self._run("DELETE FROM fields WHERE account_id = ? AND name = ?", [self.account_id, name])
        self._run("DELETE FROM field_aliases WHERE account_id = ? AND field = ?", [self.account_id, name])
        return self._remove_attribute(name)

    def _remove_attribute(self, name: str) -> int:
        path = "$." + json.dumps(name)  # a quoted JSON path: the name is data, never SQL
        return self._run("UPDATE contacts SET attributes = json_remove(attributes, ?) "
                         "WHERE account_id = ? AND json_extract(attributes, ?) IS NOT NULL",
                         [path, self.account_id, path])

    def insert_aliases(self, rows: Iterable[tuple[str, str, str]], now: str) -> None:
        """(field, alias, alias_key) rows; a key already taken is skipped."""
        self._conn.executemany(
            "INSERT INTO field_aliases (account_id, field, alias, alias_key, created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (account_id, alias_key) DO NOTHING",
            [(self.account_id, f, a, k, now) for f, a, k in rows])

    def delete_alias(self, alias_key: str) -> int:
        return self._run("DELETE FROM field_aliases WHERE account_id = ? AND alias_key = ?",
                         [self.account_id, alias_key])

    def mark_aliases_seeded(self, version: int) -> None:
        self._run("UPDATE accounts SET aliases_seeded = ? WHERE id = ?", [version, self.account_id])
