"""List tools: manage_lists, get_lists, update_list_members."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from ..core import lists as core
from ..core.errors import InvalidInput
from ..core.models import ChangeCount, ChannelOrAll, ListPage, ListsChange
from .common import Cursor, Offset, Toolbox, WithTotal, scope_of, tool


def register(box: Toolbox) -> None:
    @tool(box, read_only=False, destructive=True)
    async def manage_lists(
        ctx: Context,
        action: Annotated[Literal["create", "update", "delete"], Field(description="What to do.")],
        list_id: Annotated[int | None, Field(description="update: the list to change.")] = None,
        list_ids: Annotated[list[int] | None, Field(description="delete: the lists to delete (1 to 100).")] = None,
        name: Annotated[str | None, Field(description="create (required) / update: the list's name.")] = None,
        description: Annotated[str | None, Field(description="create / update: free text; '' clears it.")] = None,
        folder_id: Annotated[int | None, Field(description="create / update: the folder to put the list in; "
                                                           "0 takes it out of its folder.")] = None,
    ) -> ListsChange:
        """Create a list, update its name, description or folder, or delete lists by id (contacts are kept;
        unknown ids come back in not_found)."""
        scope = scope_of(ctx)
        if action == "create":
            return await core.create_list(scope, name, description, folder_id or None)
        if action == "update":
            if list_id is None:
                raise InvalidInput("list_id", "is required for action 'update'")
            sent = {k for k, v in (("name", name), ("description", description), ("folder_id", folder_id))
                    if v is not None}
            return await core.update_list(scope, list_id, name=name, description=description,
                                          folder_id=folder_id or None, sent=sent)
        if not list_ids:
            raise InvalidInput("list_ids", "is required for action 'delete' (1 to 100 list ids)")
        return await core.delete_lists(scope, list_ids)

    @tool(box, read_only=False)
    async def merge_lists(
        ctx: Context,
        list_ids: Annotated[list[int], Field(min_length=2, max_length=50, description="The lists to merge.")],
        name: Annotated[str, Field(description="The new list's name.")],
        description: Annotated[str | None, Field(description="The new list's description.")] = None,
        folder_id: Annotated[int | None, Field(description="The new list's folder.")] = None,
        exclude_optout_channel: Annotated[ChannelOrAll | None, Field(
            description="Leave out contacts opted out of this channel ('all': of any).")] = None,
    ) -> ListsChange:
        """Create a new list with every member of the lists once (deleted contacts left out); returns it with
        its stats. If any list id is unknown nothing is created and all bad ids are named."""
        return await core.merge_lists(scope_of(ctx), list_ids, name, description, folder_id,
                                      [exclude_optout_channel] if exclude_optout_channel else [])

    @tool(box, read_only=True, idempotent=True)
    async def get_lists(
        ctx: Context,
        list_ids: Annotated[list[int] | None, Field(description="Read these lists (at most 100).")] = None,
        folder_id: Annotated[int | None, Field(description="Only the lists of this folder.")] = None,
        properties: Annotated[list[core.ListProperty] | None, Field(
            description="Properties to return; DEFAULT is id, name, description. stats adds subscriber "
                        "counts.")] = None,
        limit: Annotated[int, Field(description="Page size.", ge=1, le=100)] = 50,
        cursor: Cursor = None,
        sort: Annotated[Literal["asc", "desc"], Field(description="By creation.")] = "asc",
        offset: Offset = 0,
        with_total: WithTotal = False,
    ) -> ListPage:
        """Read lists by ids, or page through all lists (or a folder's) in creation order. Unknown ids are
        returned in not_found."""
        return await core.get_lists(scope_of(ctx), ids=list_ids, folder_id=folder_id, properties=properties,
                                    limit=limit, cursor=cursor, sort=sort, offset=offset, with_total=with_total)

    @tool(box, read_only=False, destructive=True, idempotent=True)
    async def update_list_members(
        ctx: Context,
        list_id: Annotated[int, Field(description="The list.")],
        action: Annotated[core.MemberAction, Field(description="add, remove, unsubscribe (leaves and stays out: "
                                                                "adds and imports skip it), resubscribe (needs "
                                                                "reason).")],
        contact_ids: Annotated[list[int] | None, Field(description="Contact ids (1 to 3,000).")] = None,
        reason: Annotated[str | None, Field(max_length=500, description="Why (kept for audit).")] = None,
    ) -> ChangeCount:
        """Change a list's members. Returns how many changed (already in, or not in, count as unchanged), the
        unknown ids, and those not added because they unsubscribed from the list. Every member or a filter's
        contacts: apply_to_contacts."""
        return await core.change_members(scope_of(ctx), list_id, contact_ids, action, reason=reason)
