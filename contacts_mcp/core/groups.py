"""Lists and segments as a batch of contacts sees them: named by name (B's groupNames /
groupNamesExclude) instead of by id, and the memberships a batch adds and removes.

A name is matched ignoring case against both lists and segments; it must name exactly one of them.
An unknown or ambiguous name fails only the contact that gave it, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..storage.api import Reader, Writer
from .errors import ContactsError, InvalidInput, NotFound
from .prepare import Prepared


def group_ids(r: Reader, names: list[str]) -> tuple[list[int], list[int]]:
    """(list ids, segment ids) these names name; an unknown or ambiguous name raises, naming it."""
    p = Prepared({})
    p.groups = list(dict.fromkeys(names))
    _resolve(p, _found(r, p.groups))
    return list(p.list_ids), list(p.segment_ids)


def _found(r: Reader, names: list[str]) -> dict[str, list[tuple[str, int]]]:
    found: dict[str, list[tuple[str, int]]] = {}
    for kind, group_id, name in r.groups_named(names):
        found.setdefault(name.casefold(), []).append((kind, group_id))
    return found


def resolve_group_names(r: Reader, items: list[Any]) -> list[Any]:
    """The items, with each Prepared's `groups` / `unlink_groups` added to its list and segment ids; an
    item naming an unknown or ambiguous group becomes its error."""
    named = [i for i in items if isinstance(i, Prepared) and (i.groups or i.unlink_groups)]
    if not named:
        return items
    found = _found(r, [n for p in named for n in (*p.groups, *p.unlink_groups)])
    out: list[Any] = []
    for item in items:
        if item in named:
            try:
                _resolve(item, found)
            except ContactsError as exc:
                item = exc
        out.append(item)
    return out


def _resolve(p: Prepared, found: dict[str, list[tuple[str, int]]]) -> None:
    unknown = [n for n in (*p.groups, *p.unlink_groups) if n.casefold() not in found]
    if unknown:
        raise NotFound("list or segment name", unknown, "Names are matched ignoring case; create it with "
                                                        "manage_lists or manage_segments, or give its id.")
    ambiguous = [f"'{n}' ({', '.join(f'{k} {i}' for k, i in found[n.casefold()])})"
                 for n in (*p.groups, *p.unlink_groups) if len(found[n.casefold()]) > 1]
    if ambiguous:
        raise InvalidInput("groups", f"names more than one list or segment: {'; '.join(ambiguous)}; give ids "
                                     "(list_ids, segment_ids) instead")
    for names, lists, segments in ((p.groups, "list_ids", "segment_ids"),
                                   (p.unlink_groups, "unlink_list_ids", "unlink_segment_ids")):
        for name in names:
            kind, group_id = found[name.casefold()][0]
            attr = lists if kind == "list" else segments
            setattr(p, attr, list(dict.fromkeys([*getattr(p, attr), group_id])))


@dataclass
class Memberships:
    """A batch's view of one kind of group (lists or segments): which exist, who is in which, and the
    memberships to add and remove when the batch is written."""

    known: set[int]
    members: set[tuple[int, int]]  # (contact id, group id)
    blocked: set[tuple[int, int]] = field(default_factory=set)  # unsubscribed from the list: never joined here
    adds: list[tuple[int, int]] = field(default_factory=list)
    removes: list[tuple[int, int]] = field(default_factory=list)

    def change(self, contact_id: int, joins: Sequence[int], leaves: Sequence[int]) -> bool:
        """Record what an item asks for; True if any membership changes."""
        touched = False
        for group_id in dict.fromkeys(joins):
            if (contact_id, group_id) not in self.members and (contact_id, group_id) not in self.blocked:
                self.members.add((contact_id, group_id))
                self.adds.append((contact_id, group_id))
                touched = True
        for group_id in leaves:
            if (contact_id, group_id) in self.members:
                self.members.discard((contact_id, group_id))
                self.removes.append((contact_id, group_id))
                touched = True
        return touched

    def flush(self, w: Writer, kind: str, now: str) -> None:
        if self.removes:
            w.remove_memberships(self.removes, kind)
        if self.adds:
            w.add_memberships(self.adds, now, kind)


def memberships(w: Writer, kind: str, contact_ids: list[int], group_ids: list[int]) -> Memberships:
    """Which of the groups exist, and which of the contacts are in them."""
    if not group_ids:
        return Memberships(set(), set())
    if kind == "segment":
        # Only static segments are joined or left by hand; a dynamic one's members are its filter's.
        return Memberships(w.static_segment_ids(group_ids), w.memberships_among(contact_ids, group_ids, kind))
    return Memberships(w.existing_list_ids(group_ids), w.memberships_among(contact_ids, group_ids, kind),
                        w.unsubscribed_among(contact_ids, group_ids) if contact_ids else set())
