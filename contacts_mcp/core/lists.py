"""Lists (named groups of contacts), their members, and folders (containers of lists)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from .errors import Conflict, InvalidInput, LimitExceeded, NotFound
from .models import (
    ChangeCount, ContactList, Folder, FolderPage, FoldersChange, ListImport, ListPage, ListRef, ListsChange,
)
from .normalize import clean_text, utc_now
from .pagination import by_ids, decode_cursor, page, start
from .references import refuse_if_named
from ..storage.api import Reader, Writer
from .optouts import channels_mask
from .scope import SMALL_WRITE, Scope
from .stats import group_figures

T = TypeVar("T")
ListProperty = Literal["DEFAULT", "id", "name", "description", "folder_id", "created_at", "updated_at", "stats",
                       "import"]
DEFAULT_PROPERTIES = ("id", "name", "description")
MEMBERS_MAX = 3000
IDS_MAX = 100
FOLDER_LISTS_SHOWN = 20


def _name(value: str | None, field: str = "name") -> str:
    name = clean_text(field, value)
    if name is None:
        raise InvalidInput(field, "is required and cannot be empty")
    return name


def _check_folder(r: Reader, folder_id: int | None) -> None:
    if folder_id is not None and not r.existing_folder_ids([folder_id]):
        raise NotFound("folder id", [folder_id], "Find folder ids with get_folders, or create one with manage_folders.")


def require_list(r: Reader, list_id: int) -> None:
    if not r.existing_list_ids([list_id]):
        raise NotFound("list id", [list_id], "Find list ids with get_lists.")


def _render(r: Reader, rows: list[dict[str, Any]], properties: set[str]) -> list[ContactList]:
    stats = group_figures(r, "list", [row["id"] for row in rows]) if "stats" in properties else {}
    imports = r.jobs_of_lists([row["id"] for row in rows]) if "import" in properties else {}
    out = []
    for row in rows:
        values = {k: row[k] for k in ("id", "name", "description", "folder_id", "created_at", "updated_at")
                  if k in properties or k == "id"}
        if "stats" in properties:
            values["stats"] = stats[row["id"]]
        if (job := imports.get(row["id"])) is not None:
            values["import_"] = ListImport(job_id=job["id"], status=job["status"], lines=job["total_lines"],
                                           invalid=job["invalid"],
                                           errors=f"contacts://imports/{job['id']}/errors" if job["invalid"] else None)
        out.append(ContactList(**values))
    return out


def _properties(requested: list[str] | None) -> set[str]:
    props = set(requested or ["DEFAULT"])
    if "DEFAULT" in props:
        props |= set(DEFAULT_PROPERTIES)
    return props


ALL_PROPERTIES = {"id", "name", "description", "folder_id", "created_at", "updated_at", "stats", "import"}


async def _read_by_ids(scope: Scope, kind: str, ids: list[int], fetch: Callable[[Reader], list[dict[str, Any]]],
                       render: Callable[[Reader, list[dict[str, Any]]], list[T]]) -> tuple[list[T], str | None, list[int]]:
    """Records read by id, in id order, fitted to the result budget; plus the ids that do not exist."""
    if len(ids) > IDS_MAX:
        raise LimitExceeded(f"{kind} ids per call", IDS_MAX, len(ids))

    def unit(r: Reader) -> tuple[list[T], set[int]]:
        rows = sorted(fetch(r), key=lambda row: row["id"])
        return render(r, rows), {row["id"] for row in rows}

    items, found = await scope.read(unit)
    kept, note = by_ids(items, key=lambda x: x.id)
    return kept, note, [i for i in dict.fromkeys(ids) if i not in found]


def _one_list(r: Reader, list_id: int) -> ListsChange:
    return ListsChange(list_=_render(r, r.lists_by_ids([list_id]), ALL_PROPERTIES)[0])


async def create_list(scope: Scope, name: str | None, description: str | None, folder_id: int | None) -> ListsChange:
    name = _name(name)
    description = clean_text("description", description, 1000)
    now = utc_now()

    def unit(w: Writer) -> ListsChange:
        _check_folder(w, folder_id)
        return _one_list(w, w.insert_list(name=name, description=description, folder_id=folder_id, now=now))

    return await scope.write(unit, small=True)


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
    values["updated_at"] = utc_now()

    def unit(w: Writer) -> ListsChange:
        require_list(w, list_id)
        _check_folder(w, values.get("folder_id"))
        w.update_list(list_id, values)
        return _one_list(w, list_id)

    return await scope.write(unit, small=True)


MERGE_MAX = 50


async def merge_lists(scope: Scope, list_ids: list[int], name: str | None, description: str | None,
                      folder_id: int | None, exclude_optout: list[str]) -> ListsChange:
    """A new list holding the members of two or more lists once each, optionally without the contacts
    opted out of some channels. Nothing is created unless every list id exists."""
    sources = list(dict.fromkeys(list_ids))
    if not 2 <= len(sources) <= MERGE_MAX:
        raise LimitExceeded("distinct list ids to merge", f"2 to {MERGE_MAX}", len(sources))
    name = _name(name)
    description = clean_text("description", description, 1000)
    mask = channels_mask(exclude_optout)
    now = utc_now()

    def unit(w: Writer) -> ListsChange:
        known = w.existing_list_ids(sources)
        if missing := [i for i in sources if i not in known]:
            raise NotFound("list id", missing, "Nothing was created. Find list ids with get_lists.")
        _check_folder(w, folder_id)
        new_id = w.insert_list(name=name, description=description, folder_id=folder_id, now=now)
        w.merge_members(new_id, sources, mask, now)
        return _one_list(w, new_id)

    return await scope.write(unit)


async def delete_lists(scope: Scope, list_ids: list[int]) -> ListsChange:
    """Delete lists (their contacts stay); unknown ids are reported back."""
    if not 1 <= len(list_ids) <= IDS_MAX:
        raise LimitExceeded("list ids per call", f"1 to {IDS_MAX}", len(list_ids))

    def unit(w: Writer) -> ListsChange:
        known = w.existing_list_ids(list_ids)
        refuse_if_named(w, "list", known)
        deleted = w.delete_lists(sorted(known))
        return ListsChange(deleted=deleted, not_found=[i for i in dict.fromkeys(list_ids) if i not in known])

    return await scope.write(unit)


async def get_lists(scope: Scope, *, ids: list[int] | None, folder_id: int | None, properties: list[str] | None,
                    limit: int, cursor: str | None, sort: str = "asc", offset: int = 0,
                    with_total: bool = False) -> ListPage:
    props = _properties(properties)
    if ids:
        lists, note, not_found = await _read_by_ids(scope, "list", ids, lambda r: r.lists_by_ids(ids),
                                                    lambda r, rows: _render(r, rows, props))
        return ListPage(lists=lists, note=note, not_found=not_found)
    query = {"folder_id": folder_id, "properties": sorted(props), "sort": sort}
    after = start(cursor, offset, query)

    def unit(r: Reader) -> tuple[list[ContactList], int | None]:
        _check_folder(r, folder_id)
        rows = r.list_lists(folder_id=folder_id, after_id=after, limit=limit + 1, descending=sort == "desc",
                            offset=offset)
        return _render(r, rows, props), r.count_lists(folder_id) if with_total else None

    rows, total = await scope.read(unit)
    kept, next_cursor = page(rows, limit=limit, key=lambda x: x.id, query=query)
    return ListPage(lists=kept, next_cursor=next_cursor, total=total)


MemberAction = Literal["add", "remove", "unsubscribe", "resubscribe"]


async def change_members(scope: Scope, list_id: int, contact_ids: list[int] | None, action: MemberAction, *,
                         reason: str | None = None) -> ChangeCount:
    """Add contacts to a list, remove them, unsubscribe them from it (they leave and stay out: adds and
    imports skip them) or resubscribe them (audited: the reason is kept); returns how many changed. Every
    member at once is a mass action (core/bulk.py, in two steps)."""
    if not contact_ids or len(contact_ids) > MEMBERS_MAX:
        raise LimitExceeded("contact_ids", f"1 to {MEMBERS_MAX}", len(contact_ids or []),
                            "To remove every member, use apply_to_contacts (action remove_from_list, filter "
                            f"{{\"field\": \"list\", \"op\": \"eq\", \"value\": {list_id}}})." if not contact_ids else "")
    why = clean_text("reason", reason, 500)
    if action == "resubscribe" and (why is None or len(why) < 3):
        raise InvalidInput("reason", "state why the contacts may be on this list again (e.g. 'asked by phone on "
                                     "2026-11-20'); it is kept with the resubscription")
    ids_given = contact_ids or []
    now = utc_now()

    def unit(w: Writer) -> ChangeCount:
        require_list(w, list_id)
        kept_out: list[int] = []
        known = w.existing_contact_ids(ids_given)
        ids = sorted(known)
        if action == "add":
            kept_out = sorted(c for c, _ in w.unsubscribed_among(ids, [list_id]))
            changed = w.add_members(list_id, ids, now)
        elif action == "remove":
            changed = w.remove_members(list_id, ids)
        elif action == "unsubscribe":
            changed = w.unsubscribe_members(list_id, ids, why or "api", now)
        else:
            changed = w.resubscribe_members(list_id, ids, by="assistant", reason=why or "", now=now)
        if changed:
            w.update_list(list_id, {"updated_at": now})
        return ChangeCount(changed=changed, not_found=[i for i in dict.fromkeys(ids_given) if i not in known],
                           unsubscribed=kept_out)

    return await scope.write(unit, small=len(ids_given) <= SMALL_WRITE)


# ---------------------------------------------------------------- folders


def _folder_name_free(r: Reader, name: str, folder_id: int | None = None) -> None:
    holder = r.folder_by_name(name)
    if holder is not None and holder["id"] != folder_id:
        raise Conflict(f"a folder named {name!r} already exists (id {holder['id']}); choose another name "
                       "or use that folder.")


def _render_folders(r: Reader, rows: list[dict[str, Any]]) -> list[Folder]:
    ids = [row["id"] for row in rows]
    counts = r.folder_list_counts(ids)
    first = r.first_lists_of_folders(ids, FOLDER_LISTS_SHOWN)
    subscribers = r.subscriber_counts([x["id"] for x in first])
    out = []
    for row in rows:
        refs = [ListRef(id=x["id"], name=x["name"], subscribers=subscribers.get(x["id"], 0))
                for x in first if x["folder_id"] == row["id"]]
        out.append(Folder(id=row["id"], name=row["name"], created_at=row["created_at"], updated_at=row["updated_at"],
                          list_count=counts.get(row["id"], 0), lists=refs))
    return out


def _one_folder(r: Reader, folder_id: int) -> FoldersChange:
    return FoldersChange(folder=_render_folders(r, r.folders_by_ids([folder_id]))[0])


async def create_folder(scope: Scope, name: str | None) -> FoldersChange:
    name = _name(name)
    now = utc_now()

    def unit(w: Writer) -> FoldersChange:
        _folder_name_free(w, name)
        return _one_folder(w, w.insert_folder(name, now))

    return await scope.write(unit, small=True)


async def rename_folder(scope: Scope, folder_id: int, name: str | None) -> FoldersChange:
    name = _name(name)
    now = utc_now()

    def unit(w: Writer) -> FoldersChange:
        _check_folder(w, folder_id)
        _folder_name_free(w, name, folder_id)
        w.rename_folder(folder_id, name, now)
        return _one_folder(w, folder_id)

    return await scope.write(unit, small=True)


async def delete_folder(scope: Scope, folder_id: int, cascade: bool) -> FoldersChange:
    """Delete a folder; one that holds lists is refused unless cascade deletes them too."""

    def unit(w: Writer) -> FoldersChange:
        _check_folder(w, folder_id)
        held = w.folder_list_counts([folder_id])[folder_id]
        if held and not cascade:
            raise Conflict(f"folder {folder_id} holds {held} list(s); move them out with manage_lists "
                           "(action update, folder_id 0), or pass cascade=true to delete them with the folder.")
        if held:
            refuse_if_named(w, "list", [r["id"] for r in w.list_lists(folder_id=folder_id, after_id=None, limit=held)])
        return FoldersChange(deleted_folder_id=folder_id, deleted_lists=w.delete_folder(folder_id))

    return await scope.write(unit)


async def get_folders(scope: Scope, *, ids: list[int] | None, limit: int, cursor: str | None) -> FolderPage:
    if ids:
        folders, note, not_found = await _read_by_ids(scope, "folder", ids, lambda r: r.folders_by_ids(ids),
                                                      _render_folders)
        return FolderPage(folders=folders, note=note, not_found=not_found)
    after = decode_cursor(cursor, {"folders": True})

    def unit(r: Reader) -> list[Folder]:
        return _render_folders(r, r.list_folders(after_id=after, limit=limit + 1))

    kept, next_cursor = page(await scope.read(unit), limit=limit, key=lambda x: x.id, query={"folders": True})
    return FolderPage(folders=kept, next_cursor=next_cursor)
