"""The filter language: an assistant's JSON tree checked, typed and turned into storage's tree (storage/tree.py).

A node is {"all": [...]}, {"any": [...]}, {"not": {...}} or a condition {"field", "op", "value"}. A condition
names a built-in field, a custom field, or a predicate (PREDICATES). Every error names the node
("filter.all[1].op") and what it accepts. doc() is the language's one description (the contacts://filters
resource).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..storage.api import All, Any_, Cond, Node, Not, Reader
from .errors import InvalidInput, NotFound
from .fields import Registry, coerce, registry
from .models import BUILTINS, CHANNEL_BITS, CHANNELS, Filter
from .normalize import normalize_date, normalize_ext_id, normalize_phone, parse_ts
from .optouts import REASON_BITS, REASONS
from .scope import Scope

DEPTH_MAX = 8
NODES_MAX = 200
VALUES_MAX = 1000
VALUES_TOTAL_MAX = 5000  # over every 'in' of a filter (and the segments it names): SQL binds them all
_TEXT_OPS = ("eq", "ne", "in", "contains", "starts_with", "gt", "gte", "lt", "lte", "between", "is_set", "is_empty")
_ORDERED_OPS = ("eq", "ne", "in", "gt", "gte", "lt", "lte", "between", "is_set", "is_empty")
_CHOICE_OPS = ("eq", "ne", "in")
PREDICATES = {
    "list": "member of list(s): eq/ne/in list ids",
    "segment": "member of segment(s), static or dynamic: eq/ne/in segment ids",
    "reachable": "reachable on a channel (address, no opt-out, email confirmed): eq/ne/in email, sms, voice, voicemail",
    "opted_out": "opted out of a channel: eq/ne/in email, sms, voice, voicemail, any",
    "optout_reason": f"has an opt-out for a reason: eq/ne/in {', '.join(REASONS)}",
    "status": "eq/ne/in confirmed, unconfirmed",
}
# Built-ins beyond the contact's fields: (column, kind, operators).
_SYSTEM = {
    "email_domain": ("email_domain", "exact", _TEXT_OPS),
    "source": ("source", "text", _TEXT_OPS),
    "created_at": ("created_at", "timestamp", ("gt", "gte", "lt", "lte", "between")),
    "updated_at": ("updated_at", "timestamp", ("gt", "gte", "lt", "lte", "between")),
}


def doc() -> str:
    return (
        "Filters select contacts for get_contacts, get_stats, apply_to_contacts and dynamic segments.\n"
        'A node is {"all": [nodes]} (every one), {"any": [nodes]} (at least one), {"not": node}, or a condition '
        '{"field": F, "op": OP, "value": V}.\n'
        "Operators: eq, ne, in (value: a list), contains, starts_with, gt, gte, lt, lte, between (value: [low, high], "
        "inclusive), is_set, is_empty (no value).\n"
        "Text compares ignoring case and accents; ext_id, phones (any format) and email_domain exactly; numbers "
        "and dates as such (dates YYYY-MM-DD, times ISO 8601). A condition on an empty field is false (so ne and "
        "not include it).\n"
        f"Built-in fields: ext_id, {', '.join(BUILTINS)}, email_domain, source (text); created_at, updated_at "
        "(gt, gte, lt, lte, between).\n"
        "Custom fields (text, number, date, boolean, choice): see get_fields.\n"
        "Predicates: " + "; ".join(f"{k}: {v}" for k, v in PREDICATES.items()) + ".\n"
        f"Limits: depth {DEPTH_MAX}, {NODES_MAX} nodes, {VALUES_MAX} values per 'in'.\n"
        'Example: everyone in Paris reachable by SMS, not in list 12: {"all": [{"field": "city", "op": "eq", '
        '"value": "Paris"}, {"field": "reachable", "op": "eq", "value": "sms"}, {"field": "list", "op": "ne", '
        '"value": 12}]}')


class _Compiler:
    def __init__(self, reg: Registry, r: Reader, region: str) -> None:
        self.reg, self.r, self.region = reg, r, region
        self.nodes = 0
        self.values = 0
        self.segments_seen: list[int] = []  # dynamic segments being expanded (a cycle is refused)

    def node(self, f: Filter, where: str, depth: int = 1) -> Node:
        self.nodes += 1
        if depth > DEPTH_MAX or self.nodes > NODES_MAX:
            raise InvalidInput(where, f"the filter is too big: at most depth {DEPTH_MAX} and {NODES_MAX} nodes")
        forms = [k for k in ("all", "any", "not_", "field") if getattr(f, k) is not None]
        if len(forms) != 1 or (forms[0] != "field" and (f.op is not None or f.value is not None)):
            raise InvalidInput(where, 'a node is exactly one of {"all": [...]}, {"any": [...]}, {"not": {...}} or '
                                      '{"field", "op", "value"}')
        if f.all is not None or f.any is not None:
            key = "all" if f.all is not None else "any"
            parts = tuple(self.node(p, f"{where}.{key}[{i}]", depth + 1) for i, p in enumerate(getattr(f, key)))
            return All(parts) if key == "all" else Any_(parts)
        if f.not_ is not None:
            return Not(self.node(f.not_, f"{where}.not", depth + 1))
        if f.op is None:
            raise InvalidInput(f"{where}.op", "is required: eq, ne, in, contains, starts_with, gt, gte, lt, lte, "
                                              "between, is_set or is_empty")
        return self.condition(f.field or "", f.op, f.value, where, depth)

    def condition(self, name: str, op: str, value: Any, where: str, depth: int) -> Node:
        if name in PREDICATES:
            if op not in _CHOICE_OPS:
                raise InvalidInput(f"{where}.op", f"{name} takes eq, ne or in (received {op})")
            values = self._values(op, value, where)
            made = self._predicate(name, values, where, depth)
            return Not(made) if op == "ne" else made
        column, attribute, kind, ops, normal = self._field(name, where)
        if op not in ops:
            raise InvalidInput(f"{where}.op", f"field {name} takes {', '.join(ops)} (received {op})")
        if op in ("is_set", "is_empty"):
            if value is not None:
                raise InvalidInput(f"{where}.value", f"{op} takes no value")
            cond = Cond("is_set", "exact" if kind == "text" else kind, column, attribute)
            return Not(cond) if op == "is_empty" else cond
        values = self._values(op, value, where)
        if op in ("contains", "starts_with"):
            kind, normal = "text", _text  # a part of a value: compared folded, whatever the field holds
        typed = tuple(normal(v, f"{where}.value") for v in values)
        cond = Cond("eq" if op == "ne" else op, kind, column, attribute, values=typed)  # type: ignore[arg-type]
        return Not(cond) if op == "ne" else cond

    def _values(self, op: str, value: Any, where: str) -> list[Any]:
        if op == "in":
            if not isinstance(value, list) or not 1 <= len(value) <= VALUES_MAX:
                raise InvalidInput(f"{where}.value", f"in takes a list of 1 to {VALUES_MAX} values")
            self.values += len(value)
            if self.values > VALUES_TOTAL_MAX:
                raise InvalidInput(f"{where}.value", f"the filter's 'in' lists hold more than {VALUES_TOTAL_MAX} "
                                                     "values in all; use fewer, or a list or segment")
            return value
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise InvalidInput(f"{where}.value", "between takes [low, high] (both included)")
            return value
        if value is None or isinstance(value, list | dict):
            raise InvalidInput(f"{where}.value", f"{op} takes one value (a string, number or boolean)")
        return [value]

    def _field(self, name: str, where: str) -> tuple[str | None, str | None, str, tuple[str, ...], Callable]:
        """(column, attribute, kind, operators, normaliser of a value) of a field."""
        if name in _SYSTEM:
            column, kind, ops = _SYSTEM[name]
            normal = _timestamp if kind == "timestamp" else (_lower if name == "email_domain" else _text)
            return column, None, kind, ops, normal
        f = self.reg.fields.get(name)
        if f is None:
            known = ", ".join(["ext_id", *BUILTINS, *_SYSTEM, *PREDICATES])
            custom = ", ".join(c.name for c in self.reg.custom) or "none"
            raise InvalidInput(f"{where}.field", f"unknown field {name[:64]!r}; built-in: {known}; custom: {custom}")
        if f.builtin:
            kind = BUILTINS.get(name, "id")
            if kind == "email":
                return "email_key", None, "text", _TEXT_OPS, _text
            if kind == "phone":
                return name, None, "exact", _TEXT_OPS, lambda v, w: _phone(v, w, self.region)
            if kind == "date":
                return name, None, "exact", _ORDERED_OPS, _date
            if kind == "id":
                return name, None, "exact", _TEXT_OPS, lambda v, w: normalize_ext_id(v) or _text(v, w)
            return name, None, "text", _TEXT_OPS, _text
        # A value of a number, boolean or date field is read as the field reads one (fields.coerce).
        typed = lambda v, w: _given(coerce(f, v, w), w)  # noqa: E731
        if f.type == "number":
            return None, name, "number", _ORDERED_OPS, typed
        if f.type == "boolean":
            return None, name, "boolean", ("eq", "ne", "is_set", "is_empty"), typed
        if f.type == "date":
            return None, name, "exact", _ORDERED_OPS, typed
        return None, name, "text", _TEXT_OPS, _text

    def _predicate(self, name: str, values: list[Any], where: str, depth: int) -> Node:
        if name in ("list", "segment"):
            ids = [_int(v, f"{where}.value") for v in values]
            return self._groups(name, ids, where, depth)
        if name == "status":
            return Cond("in", "exact", "status", values=tuple(_one_of(v, ("confirmed", "unconfirmed"), where)
                                                               for v in values))
        if name == "optout_reason":
            bits = sum(REASON_BITS[_one_of(v, REASONS, where)] for v in dict.fromkeys(values))
            return Cond("any_bit", "bits", "optout_reasons", values=(bits,))
        if name == "opted_out":
            bits = 0
            for v in values:
                ch = _one_of(v, (*CHANNELS, "any"), where)
                bits |= sum(CHANNEL_BITS.values()) if ch == "any" else CHANNEL_BITS[ch]
            return Cond("any_bit", "bits", "optout_mask", values=(bits,))
        parts = tuple(reachable(_one_of(v, CHANNELS, where)) for v in dict.fromkeys(values))
        return parts[0] if len(parts) == 1 else Any_(parts)

    def _groups(self, kind: str, ids: list[int], where: str, depth: int) -> Node:
        rows = {r["id"]: r for r in (self.r.lists_by_ids(ids) if kind == "list" else self.r.segments_by_ids(ids))}
        missing = [i for i in dict.fromkeys(ids) if i not in rows]
        if missing:
            raise NotFound(f"{kind} id (at {where}.value)", missing, f"Find them with get_{kind}s.")
        static = [i for i in dict.fromkeys(ids) if not rows[i].get("filter_json")]
        parts: list[Node] = [member(kind, static)] if static else []
        for i in dict.fromkeys(ids):
            if rows[i].get("filter_json"):
                parts.append(self.dynamic(i, rows[i]["filter_json"], where, depth))
        return parts[0] if len(parts) == 1 else Any_(tuple(parts))

    def dynamic(self, segment_id: int, text: str, where: str, depth: int = 0) -> Node:
        """A dynamic segment's members: its filter, checked again against today's fields (at the depth of the
        node naming it: segments naming segments count towards DEPTH_MAX)."""
        if segment_id in self.segments_seen:
            raise InvalidInput(where, f"dynamic segment {segment_id} refers to itself through its filter; change "
                                      "one of the segments' filters")
        self.segments_seen.append(segment_id)
        try:
            return self.node(Filter.model_validate(json.loads(text)), f"segment {segment_id}'s filter", depth + 1)
        finally:
            self.segments_seen.pop()


def member(kind: str, ids: list[int]) -> Cond:
    """A member of any of these lists (or static segments)."""
    return Cond("member", "exact", group=kind, values=tuple(ids))  # type: ignore[arg-type]


def reachable(channel: str) -> Node:
    """The spec's reachability (§7) as conditions: what core/stats.reachable_on says of a profile."""
    no_optout = Cond("no_bit", "bits", "optout_mask", values=(CHANNEL_BITS[channel],))
    if channel == "email":
        return All((Cond("is_set", "exact", "email_key"), no_optout,
                    Not(Cond("eq", "exact", "status", values=("unconfirmed",)))))
    if channel == "sms":
        return All((Cond("is_set", "exact", "mobile"), no_optout))
    return All((Any_((Cond("is_set", "exact", "mobile"), Cond("is_set", "exact", "fixed_phone"))), no_optout))


@dataclass(frozen=True)
class Filters:
    """What compiling a filter needs: the account's fields and its default phone region."""

    reg: Registry
    region: str

    def compile(self, r: Reader, f: Filter, where: str = "filter") -> Node:
        """Storage's tree for an assistant's filter; InvalidInput / NotFound naming the node otherwise."""
        return _Compiler(self.reg, r, self.region).node(f, where)

    def segment(self, r: Reader, row: dict[str, Any]) -> Node:
        """Who is in a segment: its members (static) or its filter's contacts (dynamic)."""
        if row.get("filter_json"):
            return _Compiler(self.reg, r, self.region).dynamic(row["id"], row["filter_json"], f"segment {row['id']}")
        return member("segment", [row["id"]])


async def filters_of(scope: Scope) -> Filters:
    return Filters(await registry(scope), scope.settings.default_region)


# ---------------------------------------------------------------- values


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(where, f"expects text, received {type(value).__name__}")
    text = str(value).strip()
    if len(text) > 1000:
        raise InvalidInput(where, "at most 1000 characters")
    return text


def _lower(value: Any, where: str) -> str:
    return _text(value, where).lower()


def _phone(value: Any, where: str, region: str) -> str:
    text = _text(value, where)
    try:
        return normalize_phone(text, region, "fixed_phone") or text
    except InvalidInput:
        return text  # a part of a number, or no number: compared as written


def _date(value: Any, where: str) -> str:
    out = normalize_date(value, where)
    if out is None:
        raise InvalidInput(where, "expects a date, YYYY-MM-DD")
    return out


def _timestamp(value: Any, where: str) -> str:
    return parse_ts(where, _text(value, where))


def _given(value: Any, where: str) -> Any:
    if value is None:
        raise InvalidInput(where, "expects a value (to find contacts without one: is_empty)")
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(where, f"expects an id (an integer), received {str(value)[:40]!r}")
    return value


def _one_of(value: Any, accepted: tuple[str, ...], where: str) -> str:
    if value not in accepted:
        raise InvalidInput(f"{where}.value", f"{str(value)[:40]!r} is not one of {', '.join(accepted)}")
    return value
