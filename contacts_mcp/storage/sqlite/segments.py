"""Segments: static ones and their members; dynamic ones, whose members are their filter's (`filter_json`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .session import Session


class SegmentReads(Session):
    def segments_by_ids(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        return self._rows_by_ids("segments", ids)

    def segment_by_name(self, name: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM segments WHERE account_id = ? AND name = ?", [self.account_id, name])

    def list_segments(self, *, after_id: int | None, limit: int) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM segments WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?",
                         [self.account_id, after_id or 0, limit])

    def existing_segment_ids(self, ids: Sequence[int]) -> set[int]:
        return self._ids_in("segments", ids)

    def dynamic_segments(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM segments WHERE account_id = ? AND filter_json IS NOT NULL ORDER BY id",
                         [self.account_id])

    def static_segment_ids(self, ids: Sequence[int]) -> set[int]:
        """Which of `ids` are this account's static segments (a dynamic one's members follow its filter)."""
        return {r["id"] for r in self._rows_by_ids("segments", ids) if not r["filter_json"]}

    def segment_sizes(self, ids: Sequence[int]) -> dict[int, int]:
        """Members that are not deleted, per segment (from the maintained statistics)."""
        return self.group_sizes("segment", ids)


class SegmentWrites(SegmentReads):
    # Mixed into the Writer with StatsWrites, whose _touch each change calls first (maintained statistics).
    def insert_segment(self, name: str, description: str | None, now: str, filter_json: str | None = None) -> int:
        return self._value("INSERT INTO segments (account_id, name, description, created_at, updated_at, filter_json) "
                           "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                           [self.account_id, name, description, now, now, filter_json])

    def update_segment(self, segment_id: int, name: str | None, description: str | None, now: str,
                       filter_json: str | None = None) -> None:
        self._run("UPDATE segments SET name = COALESCE(?, name), description = COALESCE(?, description), "
                  "filter_json = COALESCE(?, filter_json), updated_at = ? WHERE account_id = ? AND id = ?",
                  [name, description, filter_json, now, self.account_id, segment_id])

    def delete_segments(self, ids: Sequence[int]) -> int:
        return self.delete_groups("segment", ids)

    def attach(self, segment_id: int, contact_ids: Sequence[int], now: str) -> int:
        return self.join_group("segment", segment_id, contact_ids, now)

    def detach(self, segment_id: int, contact_ids: Sequence[int] | None) -> int:
        """Remove these contacts from the segment; None empties it."""
        return self.leave_group("segment", segment_id, contact_ids)
