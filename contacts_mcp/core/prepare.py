"""Turning what a caller sent (a tool's arguments or an import file's row) into a normalised contact.

Every write path prepares values here, so an import line and a create_contact call with the same
values are stored the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput
from .fields import Registry, coerce, coerce_attributes
from .models import PHONE_FIELDS
from .normalize import (
    clean_text, email_key, normalize_attributes, normalize_date, normalize_email, normalize_ext_id, normalize_phone,
)

KEY_COLUMNS = ("ext_id", "email_key", "mobile")
TEXT_FIELDS = ("civility", "first_name", "last_name", "address_1", "address_2", "postal_code", "city", "state",
               "country", "company", "reference")
_FLAGS = {"email_blacklisted": "email", "sms_blacklisted": "sms"}


@dataclass(slots=True)
class Prepared:
    """A normalised contact: only the fields the caller sent (None means sent empty).

    Slotted, with immutable defaults: an import builds one per line, so construction cost counts."""

    columns: dict[str, Any]
    attributes: dict[str, Any] | None = None
    blacklist: Sequence[str] = ()
    list_ids: Sequence[int] = ()
    unlink_list_ids: Sequence[int] = ()
    target_id: int | None = None  # update this contact (update_contact) instead of matching
    wire: tuple | None = None     # an import line's values as read (columns' values, then attributes)

    def key(self, column: str) -> str | None:
        return self.columns.get(column)

    def has_identity(self) -> bool:
        return any(self.columns.get(c) for c in KEY_COLUMNS)


def _email(cols: dict[str, Any], value: Any, region: str) -> None:
    cols["email"] = normalize_email(value) if value is not None else None
    cols["email_key"] = email_key(cols["email"])


def _senders(cols: dict[str, Any], value: Any, region: str) -> None:
    senders = [normalize_email(s, "blocked_senders") for s in value or []]
    cols["blocked_senders"] = sorted({s.lower() for s in senders if s})


def _phone(name: str) -> Any:
    return lambda cols, value, region: cols.__setitem__(name, normalize_phone(value, region, name))


def _text(name: str) -> Any:
    return lambda cols, value, region: cols.__setitem__(name, clean_text(name, value))


# Built-in attribute -> how to store it: one dictionary lookup per value on the import hot path.
_COLUMN_SETTERS: dict[str, Any] = {
    "email": _email,
    "ext_id": lambda cols, value, region: cols.__setitem__("ext_id", normalize_ext_id(value)),
    "birth_date": lambda cols, value, region: cols.__setitem__("birth_date", normalize_date(value)),
    "blocked_senders": _senders,
    **{name: _phone(name) for name in PHONE_FIELDS},
    **{name: _text(name) for name in TEXT_FIELDS},
}


def prepare(values: dict[str, Any], region: str, reg: Registry) -> Prepared:
    """Normalise the sent values: built-in attributes by name, custom fields by name (import rows) or
    under 'attributes' (tool calls), blacklist flags and list ids. Raises InvalidInput naming the field."""
    p = Prepared({})
    cols = p.columns
    attributes: dict[str, Any] = {}
    blacklist: list[str] = []
    for name, value in values.items():
        setter = _COLUMN_SETTERS.get(name)
        if setter is not None:
            setter(cols, value, region)
        elif name == "attributes":
            if value is not None:
                attributes.update(coerce_attributes(reg, normalize_attributes(value)))
        elif name in _FLAGS:
            if value:
                blacklist.append(_FLAGS[name])
        elif name == "list_ids":
            p.list_ids = list(dict.fromkeys(value or []))
        elif name == "unlink_list_ids":
            p.unlink_list_ids = list(dict.fromkeys(value or []))
        elif name in reg.fields and not reg.fields[name].builtin:
            attributes[name] = coerce(reg.fields[name], value, name)
        else:
            raise InvalidInput(name, "is not a contact field")
    if attributes or "attributes" in values:
        p.attributes = attributes
    p.blacklist = blacklist
    return p
