"""The filter tree core hands storage: which contacts, as conditions on stored columns, checked and typed.

Core turns an assistant's filter (core/filters.py) into these nodes: it knows the fields, the predicates
and what they mean (reachable on a channel is an address, no opt-out bit, and for email confirmed). Storage
knows only columns and comparisons; each backend compiles a tree to one parameterised WHERE condition on
`c` (storage/sqlite/filters.py), so no caller's text ever becomes SQL.

Every node is two-valued: a condition on an absent value is false, never SQL's unknown, so `Not` is the
exact complement of what it wraps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

# How a value compares. text: case- and accent-insensitively (fold, below); exact: as stored (a status, a
# normalised phone, an ISO date); number / boolean: as such (custom fields only); timestamp: created_at /
# updated_at; bits: an integer column's bits (optout_mask, optout_reasons).
Kind = Literal["text", "exact", "number", "boolean", "timestamp", "bits"]
Op = Literal["eq", "in", "contains", "starts_with", "gt", "gte", "lt", "lte", "between", "is_set", "any_bit",
             "no_bit", "member"]

# Built-in columns a condition may name (anything else is refused before SQL is written).
COLUMNS = ("ext_id", "email_key", "mobile", "fixed_phone", "fax", "civility", "first_name", "last_name",
           "address_1", "address_2", "postal_code", "city", "state", "country", "birth_date", "company",
           "reference", "status", "source", "created_at", "updated_at", "optout_mask", "optout_reasons",
           "email_domain")


@dataclass(frozen=True)
class Cond:
    """`column` (one of COLUMNS), or `attribute` (a custom field's name), or `group` ('list' or 'segment'
    with op 'member': a member of any of `values`, static groups' ids) compared by `op` with `values`."""

    op: Op
    kind: Kind = "exact"
    column: str | None = None
    attribute: str | None = None
    group: Literal["list", "segment"] | None = None
    values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class All:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Cond | All | Any_ | Not

# Case and accent folding for text conditions: lower case, then these letters to their base letter (French
# first, then the commonest of Central Europe and Turkey, most frequent first). Both backends fold with exactly
# these tables (SQLite with fold() below, PostgreSQL with the contacts_fold SQL function of its migration 006,
# which a test holds to these strings), and index the folded common fields. The table is short on purpose:
# PostgreSQL's translate() scans it for every character of a text that is not pure ASCII (measured on 1M
# texts, a fifth of them accented: 130 letters 2.5 s, these 50 1.2 s), and a pure-ASCII text skips it.
FOLD_FROM = "éèàçêâôîûëïüöäùÿáíóúñãõåìòýąćęłńśźżčěřšžůťďňőűşğıø"
FOLD_TO = "eeaceaoiueiuoauyaiounaoaioyacelnszzcerszutdnousgio"
_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)


def fold(text: Any) -> Any:
    """The form text conditions compare in ("Élodie" and "elodie" are equal); other values as they are."""
    if text.__class__ is not str:
        return text
    return text.lower() if text.isascii() else text.lower().translate(_TABLE)


_SEP = "\x1f"


def fold_all(values: Sequence[Any]) -> list[Any]:
    """[fold(v) for v in values] (texts or None): each distinct text folded once, all of them together (joined,
    lower-cased and translated in C). Lower-casing is per character but for the Greek final sigma, whose context
    a control-character separator ends as the text's own end does."""
    distinct = list(filter(None, dict.fromkeys(values)))
    try:
        joined = _SEP.join(distinct)
    except TypeError:  # not all texts
        return [fold(v) for v in values]
    if joined.count(_SEP) != len(distinct) - 1:  # a text holding the separator: one at a time
        return [fold(v) for v in values]
    folded = joined.lower()
    if not folded.isascii():
        folded = folded.translate(_TABLE)
    of = dict(zip(distinct, folded.split(_SEP))) if distinct else {}
    of[None] = None
    of[""] = ""
    return list(map(of.__getitem__, values))
