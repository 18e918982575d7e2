"""What dynamic segments' filters name: a list, segment or custom field one of them names is not deleted
from under it (its filter would fail when read, and on SQLite a new list or segment may take a deleted one's
id, which the filter would then silently mean)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..storage.api import Reader
from .errors import Conflict


def _named(node: Any, kind: str) -> set[Any]:
    """The ids (kind 'list' or 'segment') or field names (kind 'field') a saved filter names."""
    found: set[Any] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if not isinstance(n, dict):
            continue
        stack += [*(n.get("all") or []), *(n.get("any") or []), n.get("not")]
        if kind == "field":
            found.add(n.get("field"))
        elif n.get("field") == kind:
            value = n.get("value")
            found.update(value if isinstance(value, list) else [value])
    return found


def refuse_if_named(r: Reader, kind: str, doomed: Iterable[Any], also_deleted: Iterable[int] = ()) -> None:
    """Raise Conflict, naming the segments, if a dynamic segment (other than `also_deleted` ones) names any of
    `doomed` (list ids, segment ids or field names) in its filter."""
    doomed, spared = set(doomed), set(also_deleted)
    users = {row["id"]: sorted(map(str, _named(json.loads(row["filter_json"]), kind) & doomed))
             for row in r.dynamic_segments() if row["id"] not in spared}
    users = {sid: names for sid, names in users.items() if names}
    if users:
        shown = "; ".join(f"segment {sid} names {kind} {', '.join(names)}" for sid, names in sorted(users.items())[:10])
        raise Conflict(f"dynamic segments' filters name what would be deleted ({shown}); change their filter "
                       "(manage_segments update) or delete those segments first")
