"""Keyset pagination with opaque cursors, and trimming pages to a size an assistant can read.

A cursor records the last id returned and a fingerprint of the query it belongs to, so reusing it
with other filters is refused instead of silently skipping or repeating records.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from .errors import InvalidInput

T = TypeVar("T", bound=BaseModel)

# About 8k tokens at ~4 characters a token, leaving room for the envelope.
PAGE_BUDGET_CHARS = 24_000


def _fingerprint(query: dict[str, Any]) -> str:
    text = json.dumps(query, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def encode_cursor(after_id: int, query: dict[str, Any]) -> str:
    raw = json.dumps({"a": after_id, "q": _fingerprint(query)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, query: dict[str, Any]) -> int | None:
    """The id to continue after, or None for the first page."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = data["a"]
        fingerprint = data["q"]
        if not isinstance(after, int):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("cursor", "is not a cursor this server issued; pass next_cursor from the previous "
                                     "page unchanged, or omit it for the first page") from None
    if fingerprint != _fingerprint(query):
        raise InvalidInput("cursor", "belongs to a query with other filters; repeat the same filters with it, "
                                     "or omit it to start again")
    return after


def start(cursor: str | None, offset: int, query: dict[str, Any]) -> int | None:
    """Where a page starts: after the cursor's id, or (offset, for callers paging like an offset API)
    after that many rows; not both."""
    if cursor and offset:
        raise InvalidInput("offset", "give either cursor or offset, not both")
    return decode_cursor(cursor, query)


def fit(items: Sequence[T], budget: int = PAGE_BUDGET_CHARS) -> list[T]:
    """The longest head of `items` that fits the character budget (at least one item)."""
    kept: list[T] = []
    used = 0
    for item in items:
        size = len(item.model_dump_json())
        if kept and used + size > budget:
            break
        kept.append(item)
        used += size
    return kept


def page(items: Sequence[T], *, limit: int, key: Callable[[T], int], query: dict[str, Any],
         budget: int = PAGE_BUDGET_CHARS) -> tuple[list[T], str | None]:
    """Cut `items` (fetched with limit + 1 rows) to the page and its next cursor.

    The page also ends early when it would outgrow the character budget; the cursor then resumes
    right after the last item kept, so nothing is skipped.
    """
    kept = fit(items[:limit], budget)
    more = len(items) > len(kept)
    return kept, (encode_cursor(key(kept[-1]), query) if more and kept else None)


def by_ids(items: Sequence[T], key: Callable[[T], int]) -> tuple[list[T], str | None]:
    """Items fetched by id, fitted to the budget, with a note naming the ids left out, if any."""
    kept = fit(items)
    if len(kept) == len(items):
        return list(items), None
    rest = [key(item) for item in items[len(kept):]]
    return kept, f"{len(rest)} more left out to keep this result small; ask for ids {rest} in another call"
