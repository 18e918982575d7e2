"""The columns of an export, as core hands them to storage (core/exports/columns.py chooses them).

A column is a stored value of the contact (`column`, one of VALUES), a custom field (`attribute`, typed by
`kind` as filters type it), the groups it is a static member of (`group`: 'list' or 'segment', as the ids
joined by commas: core names them), or its opt-out on one channel (`channel`: the reason, or NULL when the
channel is open). Names come from code or are bound as parameters: nothing a caller writes becomes SQL.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

# The contact's own columns an export may read.
VALUES = ("id", "ext_id", "email", "mobile", "fixed_phone", "fax", "civility", "first_name", "last_name",
          "address_1", "address_2", "postal_code", "city", "state", "country", "birth_date", "company",
          "reference", "status", "source", "created_at", "updated_at", "deleted_at")
# Of those, the ones a person types, which may start like a formula (the others are ids, dates, states).
TYPED = frozenset(VALUES) - {"id", "birth_date", "status", "source", "created_at", "updated_at", "deleted_at"}
# The opt-out channels' bits in optout_mask, and the reasons' bits in optout_reasons (storage/rows.py).
CHANNEL_BITS = {"email": 1, "sms": 2, "voice": 4, "voicemail": 8}
REASON_BITS = {"unsubscribed": 1, "owner_blocked": 2, "hardbounce": 4, "complaint": 8}


class ExportColumn(NamedTuple):
    column: str | None = None
    attribute: str | None = None
    kind: str = "text"
    group: Literal["list", "segment"] | None = None
    channel: str | None = None


# What makes a spreadsheet run a cell as a formula (OWASP: = + - @ tab CR), and the rule that neutralises
# such a cell so exactly that an importer can undo it (core/exports/cells.py): one more apostrophe in front
# of a text that starts with one of them after any apostrophes.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    if text[:1] in FORMULA_START or (text[:1] == "'" and text.lstrip("'")[:1] in FORMULA_START):
        return "'" + text
    return text
