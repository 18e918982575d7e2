"""Folder tools: manage_folders, get_folders."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from ..core import lists as core
from ..core.errors import InvalidInput
from ..core.models import FolderPage, FoldersChange
from .common import Cursor, Toolbox, scope_of, tool


def register(box: Toolbox) -> None:
    @tool(box, read_only=False, destructive=True)
    async def manage_folders(
        ctx: Context,
        action: Annotated[Literal["create", "rename", "delete"], Field(description="What to do.")],
        folder_id: Annotated[int | None, Field(description="rename / delete: the folder.")] = None,
        name: Annotated[str | None, Field(description="create / rename: the folder's name (unique).")] = None,
        cascade: Annotated[bool, Field(description="delete: also delete the lists in the folder. Without it, "
                                                   "a folder holding lists is refused.")] = False,
    ) -> FoldersChange:
        """Create a folder (a container of lists), rename one, or delete one. Returns the folder, or for
        delete how many records went (the folder plus any lists deleted with cascade)."""
        scope = scope_of(ctx)
        if action == "create":
            return await core.create_folder(scope, name)
        if folder_id is None:
            raise InvalidInput("folder_id", f"is required for action '{action}'")
        if action == "rename":
            return await core.rename_folder(scope, folder_id, name)
        return await core.delete_folder(scope, folder_id, cascade)

    @tool(box, read_only=True, idempotent=True)
    async def get_folders(
        ctx: Context,
        folder_ids: Annotated[list[int] | None, Field(description="Read these folders (at most 100).")] = None,
        limit: Annotated[int, Field(description="Page size.", ge=1, le=100)] = 50,
        cursor: Cursor = None,
    ) -> FolderPage:
        """Read folders by ids, or page through all of them: each with its number of lists and the first
        20 lists it holds (with subscriber counts)."""
        return await core.get_folders(scope_of(ctx), ids=folder_ids, limit=limit, cursor=cursor)
