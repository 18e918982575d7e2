"""An import batch in two lanes: the lines that are nobody yet, inserted together, and the others, one by one.

Nearly every line of a big import is a new contact. Those go in one set-based insert, as read; the unique
indexes say, while inserting, which lines' identities a contact holds already. The others go line by line,
in file order, through apply_batch (the path every contact write takes): a line whose identity (ext_id,
email key, mobile) appears more than once in the batch, whose address an opt-out blocks, or that the insert
left out. One such line costs its batch nothing but its own trip through the slow lane.

The outcome is that of applying every line in file order: a line of the fast lane shares no identity with
any other line of the batch and none with a contact, so no line before or after it could have matched,
merged with or conflicted with it; and lines of the slow lane meet only each other and the contacts, in order.
Each line's contact, should it create one, takes the id of its place among the batch's lines: ids follow
the file's order whichever lane a line takes.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from itertools import repeat

from ..storage.api import KEY_COLUMNS, Writer
from .errors import ContactsError
from .optouts import suppressions
from .upsert import BatchOptions, ItemResult, apply_batch, created_events

Item = tuple | ContactsError
# ItemResult("created", id) without the NamedTuple's Python-level __new__: 0.2 µs a line instead of 1.8.
_result = partial(tuple.__new__, ItemResult)


def apply_lines(w: Writer, items: list[Item], opts: BatchOptions, names: tuple[str, ...]) -> list[ItemResult]:
    """Import lines as read (tuples in `names` order, then the attributes) or the errors they were read as,
    applied in order; one result each."""
    if opts.repeats != "skip" or opts.optout or not names:
        return apply_batch(w, items, opts, wire_names=names)  # type: ignore[arg-type]
    positions = {name: i for i, name in enumerate(names)}
    lines = [item for item in items if item.__class__ is tuple]
    slots = w.reserve_contact_ids(len(lines))  # the k-th line's contact, if it makes one, is slots[k]
    slow = _not_simply_new(w, lines, positions)
    fast = sorted(set(range(len(lines))).difference(slow)) if slow else range(len(lines))
    refused = w.insert_wire_rows(names, [slots[k] for k in fast] if slow else slots,
                                 [lines[k] for k in fast] if slow else lines, source=opts.source, now=opts.now,
                                 last_import=opts.job_id, skip_taken=True)
    if refused:
        slow |= {slots.index(cid) for cid in refused}  # a few lines; a range's index() is arithmetic
    if opts.list_ids or opts.segment_ids or opts.event_key:
        inserted = [slots[k] for k in fast if slots[k] not in refused] if slow else list(slots)
        for kind, groups in (("list", opts.list_ids), ("segment", opts.segment_ids)):
            if groups and inserted:
                w.add_memberships([(cid, gid) for gid in groups for cid in inserted], opts.now, kind)
        created_events(w, opts, inserted)
    # One result a line, made in C ("created" with its slot), then the slow lane's put in their places.
    made = list(map(_result, zip(repeat("created"), slots, repeat(None), repeat(None))))
    if slow:
        order = sorted(slow)
        done = apply_batch(w, [lines[k] for k in order], opts, wire_names=names,  # type: ignore[misc]
                           slots=[slots[k] for k in order])
        for k, result in zip(order, done):
            made[k] = result
    if len(made) == len(items):
        return made
    line_result = iter(made).__next__
    return [line_result() if item.__class__ is tuple else ItemResult("failed", error=str(item), exception=item)
            for item in items]  # type: ignore[arg-type]


def _not_simply_new(w: Writer, lines: list[tuple], positions: dict[str, int]) -> set[int]:
    """The lines that must take the slow lane whatever the database holds: an identity repeated within the
    batch, or an address an opt-out blocks."""
    slow: set[int] = set()
    addresses: list[str] = []
    for col in KEY_COLUMNS:
        at = positions.get(col)
        if at is None:
            continue
        values = [line[at] for line in lines]
        given = [v for v in values if v]
        if len(set(given)) != len(given):
            seen = Counter(given)
            slow.update(k for k, v in enumerate(values) if v and seen[v] > 1)
        if col != "ext_id":
            addresses += given
    fixed_at = positions.get("fixed_phone")
    if fixed_at is not None:
        addresses += [v for line in lines if (v := line[fixed_at])]
    blocked, _ = suppressions(w, addresses)  # one cheap probe when the account has no address opt-out
    if blocked:
        held = [positions[c] for c in ("email_key", "mobile", "fixed_phone") if c in positions]
        slow.update(k for k, line in enumerate(lines) if any(line[at] in blocked for at in held))
    return slow
