"""Lists (named groups of contacts), their members, and folders (containers of lists)."""

from __future__ import annotations

from typing import Any, Literal

from .errors import Conflict, InvalidInput, LimitExceeded, NotFound
from .models import (
    ChangeCount, ContactList, Folder, FolderPage, FoldersChange, ListPage, ListRef, ListsChange, ListStats,
)
from .normalize import clean_text, utc_now
from .pagination import by_ids, decode_cursor, page
from .scope import Scope

ListProperty = Literal["DEFAULT", "id", "name", "description", "folder_id", "created_at", "updated_at", "stats"]
DEFAULT_PROPERTIES = ("id", "name", "description")
MEMBERS_MAX = 3000
IDS_MAX = 100
FOLDER_LISTS_SHOWN = 20


def _name(value: str | None, field: str = "name") -> str:
    name = clean_text(field, value)
    if name is None:
        raise InvalidInput(field, "is required and cannot be empty")
    return name


async def _check_folder(r: Any, folder_id: int | None) -> None:
    if folder_id is not None and not await r.existing_folder_ids([folder_id]):
        raise NotFound("folder id", [folder_id], "Find folder ids with get_folders, or create one with manage_folders.")


async def _require_list(r: Any, list_id: int) -> None:
    if not await r.existing_list_ids([list_id]):
        raise NotFound("list id", [list_id], "Find list ids with get_lists.")


async def _render(r: Any, rows: list[dict[str, Any]], properties: set[str]) -> list[ContactList]:
    counts = await r.subscriber_counts([row["id"] for row in rows]) if "stats" in properties else {}
    out = []
    for row in rows:
        values = {k: row[k] for k in ("id", "name", "description", "folder_id", "created_at", "updated_at")
                  if k in properties or k == "id"}
        if "stats" in properties:
            values["stats"] = ListStats(subscribers=counts.get(row["id"], 0))
        out.append(ContactList(**values))
    return out


def _properties(requested: list[str] | None) -> set[str]:
    props = set(requested or ["DEFAULT"])
    if "DEFAULT" in props:
        props |= set(DEFAULT_PROPERTIES)
    return props


ALL_PROPERTIES = {"id", "name", "description", "folder_id", "created_at", "updated_at", "stats"}


async def create_list(scope: Scope, name: str | None, description: str | None, folder_id: int | None) -> ListsChange:
    name = _name(name)
    description = clean_text("description", description, 1000)
    async with scope.write() as w:
        await _check_folder(w, folder_id)
        list_id = await w.insert_list(name=name, description=description, folder_id=folder_id, now=utc_now())
        return ListsChange(list_=(await _render(w, await w.lists_by_ids([list_id]), ALL_PROPERTIES))[0])


async def update_list(scope: Scope, list_id: int, *, name: str | None, description: str | None,
                      folder_id: int | None, sent: set[str]) -> ListsChange:
    values: dict[str, Any] = {}
    if "name" in sent:
        values["name"] = _name(name)
    if "description" in sent:
        values["description"] = clean_text("description", description, 1000)
    if "folder_id" in sent:
        values["folder_id"] = folder_id  # None takes the list out of its folder
    if not values:
        raise InvalidInput("update", "nothing to change: give name, description or folder_id")
    async with scope.write() as w:
        await _require_list(w, list_id)
        await _check_folder(w, values.get("folder_id"))
        values["updated_at"] = utc_now()
        await w.update_list(list_id, values)
        return ListsChange(list_=(await _render(w, await w.lists_by_ids([list_id]), ALL_PROPERTIES))[0])


async def delete_lists(scope: Scope, list_ids: list[int]) -> ListsChange:
    """Delete lists (their contacts stay); unknown ids are reported back."""
    if not 1 <= len(list_ids) <= IDS_MAX:
        raise LimitExceeded("list ids per call", f"1 to {IDS_MAX}", len(list_ids))
    async with scope.write() as w:
        known = await w.existing_list_ids(list_ids)
        deleted = await w.delete_lists(sorted(known))
    return ListsChange(deleted=deleted, not_found=[i for i in dict.fromkeys(list_ids) if i not in known])


async def get_lists(scope: Scope, *, ids: list[int] | None, folder_id: int | None, properties: list[str] | None,
                    limit: int, cursor: str | None) -> ListPage:
    props = _properties(properties)
    async with scope.read() as r:
        if ids:
            if len(ids) > IDS_MAX:
                raise LimitExceeded("list ids per call", IDS_MAX, len(ids))
            rows = sorted(await r.lists_by_ids(ids), key=lambda row: row["id"])
            found = {row["id"] for row in rows}
            lists, note = by_ids(await _render(r, rows, props), key=lambda x: x.id)
            return ListPage(lists=lists, note=note, not_found=[i for i in dict.fromkeys(ids) if i not in found])
        query = {"folder_id": folder_id, "properties": sorted(props)}
        after = decode_cursor(cursor, query)
        await _check_folder(r, folder_id)
        rows = await r.list_lists(folder_id=folder_id, after_id=after, limit=limit + 1)
        lists = await _render(r, rows, props)
    kept, next_cursor = page(lists, limit=limit, key=lambda x: x.id, query=query)
    return ListPage(lists=kept, next_cursor=next_cursor)


async def change_members(scope: Scope, list_id: int, contact_ids: list[int],
                         action: Literal["add", "remove"]) -> ChangeCount:
    """Add contacts to a list or remove them; returns how many memberships changed."""
    if not 1 <= len(contact_ids) <= MEMBERS_MAX:
        raise LimitExceeded("contact ids per call", f"1 to {MEMBERS_MAX}", len(contact_ids))
    now = utc_now()
    async with scope.write() as w:
        await _require_list(w, list_id)
        known = {row["id"] for row in await w.contacts_by_ids(contact_ids)}
        ids = sorted(known)
        changed = await (w.add_members(list_id, ids, now) if action == "add" else w.remove_members(list_id, ids))
        if changed:
            await w.update_list(list_id, {"updated_at": now})
    return ChangeCount(changed=changed, not_found=[i for i in dict.fromkeys(contact_ids) if i not in known])


# ---------------------------------------------------------------- folders


async def _folder_name_free(r: Any, name: str, folder_id: int | None = None) -> None:
    holder = await r.folder_by_name(name)
    if holder is not None and holder["id"] != folder_id:
        raise Conflict(f"a folder named {name!r} already exists (id {holder['id']}); choose another name "
                       "or use that folder.")


async def _render_folders(r: Any, rows: list[dict[str, Any]]) -> list[Folder]:
    ids = [row["id"] for row in rows]
    counts = await r.folder_list_counts(ids)
    first = await r.first_lists_of_folders(ids, FOLDER_LISTS_SHOWN)
    subscribers = await r.subscriber_counts([x["id"] for x in first])
    out = []
    for row in rows:
        refs = [ListRef(id=x["id"], name=x["name"], subscribers=subscribers.get(x["id"], 0))
                for x in first if x["folder_id"] == row["id"]]
        out.append(Folder(id=row["id"], name=row["name"], created_at=row["created_at"], updated_at=row["updated_at"],
                          list_count=counts.get(row["id"], 0), lists=refs))
    return out


async def create_folder(scope: Scope, name: str | None) -> FoldersChange:
    name = _name(name)
    async with scope.write() as w:
        await _folder_name_free(w, name)
        folder_id = await w.insert_folder(name, utc_now())
        return FoldersChange(folder=(await _render_folders(w, await w.folders_by_ids([folder_id])))[0])


async def rename_folder(scope: Scope, folder_id: int, name: str | None) -> FoldersChange:
    name = _name(name)
    async with scope.write() as w:
        await _check_folder(w, folder_id)
        await _folder_name_free(w, name, folder_id)
        await w.rename_folder(folder_id, name, utc_now())
        return FoldersChange(folder=(await _render_folders(w, await w.folders_by_ids([folder_id])))[0])


async def delete_folder(scope: Scope, folder_id: int, cascade: bool) -> FoldersChange:
    """Delete a folder; one that holds lists is refused unless cascade deletes them too."""
    async with scope.write() as w:
        await _check_folder(w, folder_id)
        held = (await w.folder_list_counts([folder_id]))[folder_id]
        if held and not cascade:
            raise Conflict(f"folder {folder_id} holds {held} list(s); move them out with manage_lists "
                           "(action update, folder_id null), or pass cascade=true to delete them with the folder.")
        lists_deleted = await w.delete_folder(folder_id)
    return FoldersChange(deleted_folder_id=folder_id, deleted_lists=lists_deleted)


async def get_folders(scope: Scope, *, ids: list[int] | None, limit: int, cursor: str | None) -> FolderPage:
    async with scope.read() as r:
        if ids:
            if len(ids) > IDS_MAX:
                raise LimitExceeded("folder ids per call", IDS_MAX, len(ids))
            rows = sorted(await r.folders_by_ids(ids), key=lambda row: row["id"])
            found = {row["id"] for row in rows}
            folders, note = by_ids(await _render_folders(r, rows), key=lambda x: x.id)
            return FolderPage(folders=folders, note=note, not_found=[i for i in dict.fromkeys(ids) if i not in found])
        after = decode_cursor(cursor, {"folders": True})
        rows = await r.list_folders(after_id=after, limit=limit + 1)
        folders = await _render_folders(r, rows)
    kept, next_cursor = page(folders, limit=limit, key=lambda x: x.id, query={"folders": True})
    return FolderPage(folders=kept, next_cursor=next_cursor)
