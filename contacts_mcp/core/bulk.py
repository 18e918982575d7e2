"""Mass actions on every contact a filter matches (apply_to_contacts), each in two steps (core/plans.py):
opt out, soft-delete, add to or remove from a list, attach to or detach from a static segment.

A whole list or segment is a filter too ({"field": "list", "op": "eq", "value": 12}): emptying a list or
segment, or opting a list out, goes through here and its plan token, never through one careless call.
"""

from __future__ import annotations

from typing import Any, Literal

from ..storage.api import All, Not, Reader, Writer
from .errors import InvalidInput
from .filters import filters_of, member
from .lists import require_list
from .models import Filter, PlanResult
from .normalize import utc_now
from .optouts import block_rows, default_channels
from .plans import PAGE, two_step
from .scope import Scope
from .segments import require_static

Action = Literal["optout", "delete", "add_to_list", "remove_from_list", "attach_to_segment", "detach_from_segment"]
_WHAT = {"optout": "opt out", "delete": "soft-delete", "add_to_list": "add to list {list_id}",
         "remove_from_list": "remove from list {list_id}", "attach_to_segment": "attach to segment {segment_id}",
         "detach_from_segment": "detach from segment {segment_id}"}


def _check_target(r: Reader, action: str, list_id: int | None, segment_id: int | None) -> None:
    if action.endswith("_list"):
        if list_id is None:
            raise InvalidInput("list_id", f"is required for {action}")
        require_list(r, list_id)
    if action.endswith("_segment"):
        if segment_id is None:
            raise InvalidInput("segment_id", f"is required for {action}")
        require_static(r, segment_id)


async def apply(scope: Scope, action: Action, filter: Filter, *, plan_token: str | None,  # noqa: A002
                list_id: int | None = None, segment_id: int | None = None, reason: str | None = None,
                channels: list[str] | None = None, source: str = "api") -> PlanResult:
    if action == "optout" and reason is None:
        raise InvalidInput("reason", "is required for optout: unsubscribed, owner_blocked, hardbounce or complaint")
    chosen = list(dict.fromkeys(channels or (default_channels(reason) if reason else [])))
    args: dict[str, Any] = {"filter": filter.dump(), "list_id": list_id, "segment_id": segment_id,
                            "reason": reason, "channels": chosen, "source": source}
    compiler = await filters_of(scope)
    now = utc_now()

    def tree_of(r: Reader):  # the filter's contacts, after checking the action's target
        _check_target(r, action, list_id, segment_id)
        tree = compiler.compile(r, filter)
        if action == "add_to_list":  # contacts already in it change nothing: not counted as covered
            return All((tree, Not(member("list", [list_id]))))  # type: ignore[list-item]
        return tree

    def execute(w: Writer, ids: list[int]) -> int:
        if action == "delete":
            return w.set_deleted(ids, now, now)
        if action.endswith("_list") or action.endswith("_segment"):
            kind, gid = ("list", list_id) if action.endswith("_list") else ("segment", segment_id)
            join = action in ("add_to_list", "attach_to_segment")
            changed = w.join_group(kind, gid, ids, now) if join else w.leave_group(kind, gid, ids)  # type: ignore[arg-type]
            if changed and kind == "list":
                w.update_list(gid, {"updated_at": now})  # type: ignore[arg-type]
            return changed
        return sum(block_rows(w, w.contacts_by_ids(ids[start:start + PAGE]), chosen, reason, source, now)  # type: ignore[arg-type]
                   for start in range(0, len(ids), PAGE))

    what = _WHAT[action].format(list_id=list_id, segment_id=segment_id)
    return await two_step(scope, action, args, plan_token, what, tree_of, execute)
