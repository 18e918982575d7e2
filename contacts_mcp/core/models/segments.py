"""Segments: static (hand-picked members) or dynamic (a saved filter)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import Out


class Segment(Out):
    id: int
    name: str
    description: str | None = None
    size: int = Field(description="Members that are not deleted.")
    filter: dict[str, Any] | None = Field(None, description="A dynamic segment's filter; its members are the "
                                                             "contacts matching it now.")
    note: str | None = Field(None, description="Why a dynamic segment cannot be read now, and what to do.")
    created_at: str
    updated_at: str


class SegmentPage(Out):
    segments: list[Segment]
    next_cursor: str | None = None
    not_found: list[int] = Field(default_factory=list)


class SegmentsChange(Out):
    segment: Segment | None = None
    deleted: int | None = None
    not_found: list[int] = Field(default_factory=list)


class MembershipChange(Out):
    changed: int = Field(description="Memberships added or removed.")
    not_found: list[int | str] = Field(default_factory=list, description="Ids or ext_ids that match no contact.")
