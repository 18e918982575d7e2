"""Lists and folders."""

from __future__ import annotations

from pydantic import Field

from ._base import Out
from .stats import Stats


class ListImport(Out):
    """The import that created a list."""

    job_id: str
    status: str
    lines: int | None = Field(None, description="Data lines of the source file.")
    invalid: int
    errors: str | None = Field(None, description="The error report resource.")


class ContactList(Out):
    """A list with the properties asked for."""

    id: int
    name: str | None = None
    description: str | None = None
    folder_id: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    stats: Stats | None = None
    import_: ListImport | None = Field(None, alias="import")


class ListPage(Out):
    lists: list[ContactList]
    next_cursor: str | None = None
    not_found: list[int] = Field(default_factory=list)
    note: str | None = None
    total: int | None = Field(None, description="All matches (with_total).")


class ListRef(Out):
    id: int
    name: str
    subscribers: int


class Folder(Out):
    """A folder: id, name, dates, list_count, and its first 20 lists (id, name, subscribers)."""

    id: int
    name: str
    created_at: str
    updated_at: str
    list_count: int
    lists: list[ListRef] = Field(default_factory=list, description="Up to 20 of the folder's lists; use "
                                 "get_lists with folder_id for all of them.")


class FolderPage(Out):
    folders: list[Folder]
    next_cursor: str | None = None
    not_found: list[int] = Field(default_factory=list)
    note: str | None = None


class ListsChange(Out):
    """What manage_lists did: the created or updated list, or how many lists were deleted."""

    list_: ContactList | None = Field(None, alias="list", description="The created or updated list.")
    deleted: int | None = Field(None, description="How many lists were deleted.")
    not_found: list[int] = Field(default_factory=list, description="Unknown list ids.")


class FoldersChange(Out):
    """What manage_folders did: the created or renamed folder, or what a delete removed."""

    folder: Folder | None = None
    deleted_folder_id: int | None = None
    deleted_lists: int | None = Field(None, description="Lists deleted with the folder (cascade).")
