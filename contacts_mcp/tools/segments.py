"""Segment tools: manage_segments, get_segments, attach_to_segment, detach_from_segment."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from ..core import segments as core
from ..core.models import MembershipChange, SegmentPage, SegmentsChange
from ..core.models import Filter
from .common import Cursor, Toolbox, scope_of, tool

_IDS = Annotated[list[int] | None, Field(description="Contact ids (max 500).")]
_EXT = Annotated[list[str] | None, Field(description="Or your ext_ids (max 500), not both.")]
_SEGMENT = Annotated[int, Field(description="The segment.")]


def register(box: Toolbox) -> None:
    @tool(box, read_only=False, destructive=True)
    async def manage_segments(
        ctx: Context,
        action: Annotated[Literal["create", "update", "delete"], Field(description="What to do.")],
        segment_id: Annotated[int | None, Field(description="update: the segment.")] = None,
        segment_ids: Annotated[list[int] | None, Field(description="delete: segments (max 100).")] = None,
        name: Annotated[str | None, Field(description="create / update: unique name.")] = None,
        description: Annotated[str | None, Field(description="create / update.")] = None,
        filter: Annotated[Filter | None, Field(description="create: a dynamic segment (members: whoever matches, "  # noqa: A002
                                                           "when read); update: its new filter.")] = None,
    ) -> SegmentsChange:
        """Segments: static (hand-picked contacts, attach_to_segment) or dynamic (a saved filter). Deleting
        keeps the contacts."""
        return await core.manage(scope_of(ctx), action, segment_id=segment_id, segment_ids=segment_ids, name=name,
                                 description=description, filter=filter)

    @tool(box, read_only=True, idempotent=True)
    async def get_segments(
        ctx: Context,
        segment_ids: Annotated[list[int] | None, Field(description="These segments (max 100); else all, paged.")] = None,
        limit: Annotated[int, Field(ge=1, le=100, description="Page size.")] = 50,
        cursor: Cursor = None,
    ) -> SegmentPage:
        """Read segments by ids, or page through all; each with its size."""
        return await core.get_segments(scope_of(ctx), ids=segment_ids, limit=limit, cursor=cursor)

    @tool(box, read_only=False, idempotent=True)
    async def attach_to_segment(ctx: Context, segment_id: _SEGMENT, contact_ids: _IDS = None,
                                ext_ids: _EXT = None) -> MembershipChange:
        """Attach contacts by id or ext_id; unknown ones come back in not_found."""
        return await core.change(scope_of(ctx), "attach", segment_id, contact_ids=contact_ids, ext_ids=ext_ids)

    @tool(box, read_only=False, destructive=True, idempotent=True)
    async def detach_from_segment(ctx: Context, segment_id: _SEGMENT, contact_ids: _IDS = None,
                                  ext_ids: _EXT = None) -> MembershipChange:
        """Detach contacts by id or ext_id (every one, or a filter's: apply_to_contacts)."""
        return await core.change(scope_of(ctx), "detach", segment_id, contact_ids=contact_ids, ext_ids=ext_ids)
