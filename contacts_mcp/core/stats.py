"""Statistics of the base, a list, or several lists; field statistics; the reachability chart.

The storage keeps, per group, how many contacts share each *profile* (opted-out channels, reasons,
addresses held, unconfirmed; see storage/sqlite/stats.py). Every figure here is a sum over those few rows,
so reading a million-member list's statistics costs the same as reading a ten-member one's. Several
lists at once also need their union (a contact in two lists counts once), which is counted from the
rows at read time.
"""

from __future__ import annotations

from collections import Counter

from ..storage.api import HAS_EMAIL, HAS_FIXED, HAS_MOBILE, REASON_SHIFT, UNCONFIRMED
from ..storage.api import All, Any_, Reader
from .chart import bar_chart_png
from .errors import InvalidInput, LimitExceeded, NotFound
from .fields import registry
from .filters import filters_of, member
from .models import Filter, ALL_CHANNELS_MASK, CHANNEL_BITS, CHANNELS, FieldStat, FieldStats, ListFigures, Reachable, Stats, StatsResult
from .optouts import REASON_BITS
from .scope import Scope

LISTS_MAX = 100
_ADDRESS = {"email": HAS_EMAIL, "sms": HAS_MOBILE, "voice": HAS_MOBILE | HAS_FIXED, "voicemail": HAS_MOBILE | HAS_FIXED}


def has_address(profile: int, channel: str) -> bool:
    return bool(profile & _ADDRESS[channel])


def reachable_on(profile: int, channel: str) -> bool:
    """The spec's definition (§7): an address for the channel, no opt-out of it, and for email, confirmed."""
    if not has_address(profile, channel) or profile & CHANNEL_BITS[channel]:
        return False
    return not (channel == "email" and profile & UNCONFIRMED)


def figures(profiles: Counter[int]) -> Stats:
    reach = dict.fromkeys(CHANNELS, 0)
    opted = dict.fromkeys(CHANNELS, 0)
    missing = dict.fromkeys(CHANNELS, 0)
    reasons = dict.fromkeys(REASON_BITS, 0)
    total = blacklisted = unconfirmed = 0
    for profile, n in profiles.items():
        if n == 0:
            continue
        total += n
        for channel in CHANNELS:
            if reachable_on(profile, channel):
                reach[channel] += n
            if profile & CHANNEL_BITS[channel]:
                opted[channel] += n
            if not has_address(profile, channel):
                missing[channel] += n
        for reason, bit in REASON_BITS.items():
            if profile >> REASON_SHIFT & bit:
                reasons[reason] += n
        if profile & ALL_CHANNELS_MASK:
            blacklisted += n
        if profile & UNCONFIRMED:
            unconfirmed += n
    return Stats(subscribers=total, reachable=Reachable(**reach), opted_out=opted, opted_out_by_reason=reasons,
                 blacklisted=blacklisted, unconfirmed=unconfirmed, missing_address=missing)


def group_figures(r: Reader, kind: str, ids: list[int]) -> dict[int, Stats]:
    """Each list's (or segment's) figures, from its maintained counts."""
    return {group_id: figures(profiles) for group_id, profiles in r.group_profiles(kind, ids).items()}


async def get_stats(scope: Scope, list_ids: list[int] | None, segment_ids: list[int] | None = None,
                    filter: Filter | None = None) -> StatsResult:  # noqa: A002
    if list_ids and segment_ids:
        raise InvalidInput("segment_ids", "give list_ids or segment_ids, not both; call twice for both")
    kind = "segment" if segment_ids else "list"
    ids = list(dict.fromkeys(segment_ids or list_ids or []))
    if len(ids) > LISTS_MAX:
        raise LimitExceeded(f"{kind}_ids", LISTS_MAX, len(ids))
    if filter is not None and len(ids) > 1:
        raise InvalidInput("filter", f"with a filter, give at most one of {kind}_ids (the filter applies within "
                                     f"it); for several, add {{\"field\": \"{kind}\", \"op\": \"in\", ...}} to the filter")
    compiler = await filters_of(scope) if filter is not None or segment_ids else None

    def unit(r: Reader) -> StatsResult:
        if not ids and filter is None:
            return StatsResult(stats=figures(r.group_profiles("base", [0])[0]))
        groups = {row["id"]: row for row in (r.segments_by_ids(ids) if kind == "segment" else r.lists_by_ids(ids))}
        missing = [i for i in ids if i not in groups]
        if missing:
            raise NotFound(f"{kind} id", missing, f"Find them with get_{kind}s.")
        # Dynamic segments (and any group within a filter) are counted from the rows, in one pass each.
        trees = {i: compiler.segment(r, groups[i]) for i in ids if groups[i].get("filter_json")} if compiler else {}
        if filter is not None:
            tree = compiler.compile(r, filter)
            if ids:
                tree = All((trees.get(ids[0]) or member(kind, ids[:1]), tree))
            return StatsResult(stats=figures(r.filter_profiles(tree)))
        static = [i for i in ids if i not in trees]
        each = {**group_figures(r, kind, static), **{i: figures(r.filter_profiles(t)) for i, t in trees.items()}}
        if len(ids) == 1:
            return StatsResult(stats=each[ids[0]])
        if trees:
            union = figures(r.filter_profiles(Any_(tuple(trees.get(i) or member(kind, [i]) for i in ids))))
        else:
            union = figures(r.union_profiles(kind, ids))
        return StatsResult(stats=union, lists=[ListFigures(list_id=i, name=groups[i]["name"], stats=each[i]) for i in ids],
                           total_subscribers=sum(s.subscribers for s in each.values()),
                           unique_subscribers=union.subscribers)

    return await scope.read(unit)


async def get_field_stats(scope: Scope, list_id: int | None) -> FieldStats:
    reg = await registry(scope)
    custom = [f.name for f in reg.custom]

    def unit(r: Reader) -> FieldStats:
        if list_id is not None and not r.existing_list_ids([list_id]):
            raise NotFound("list id", [list_id], "Find lists with get_lists.")
        total, rows = r.field_fill(custom, list_id)
        return FieldStats(contacts=total, fields=[
            FieldStat(field=name, set=n, share=round(100.0 * n / total, 2) if total else 0.0, max_length=longest or 0)
            for name, (n, longest) in rows.items()])

    return await scope.read(unit)


_CHART_SERIES = [("reachable", (46, 160, 67)), ("opted out", (214, 39, 40)), ("no address", (150, 150, 150))]


async def chart(scope: Scope, list_id: int | None) -> bytes:
    """A PNG bar chart of reachability per channel: reachable, opted out, without an address."""
    result = await get_stats(scope, [list_id] if list_id is not None else None)
    s = result.stats
    reach = s.reachable.model_dump()
    groups = [(label, [reach[ch], s.opted_out[ch], s.missing_address[ch]])
              for ch, label in (("sms", "SMS"), ("email", "Email"), ("voice", "Voice"), ("voicemail", "Voicemail"))]
    title = f"Reachability of {s.subscribers:,} contacts" + (f" in list {list_id}" if list_id is not None else "")
    return bar_chart_png(title, groups, _CHART_SERIES)
