"""Turning what a caller sent (a tool's arguments or an import file's row) into a normalised contact.

Every write path prepares values here, so an import line and a create_contact call with the same
values are stored the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..storage.api import KEY_COLUMNS
from .errors import InvalidInput, all_invalid
from .fields import Registry, coerce, match_attributes
from .models import INPUT_ARGUMENTS, PHONE_FIELDS, TEXT_FIELDS
from .normalize import (
    clean_text, email_key, normalize_attributes, normalize_date, normalize_email, normalize_ext_id, normalize_phone,
)

KEY_LABELS = {"ext_id": "ext_id", "email_key": "email", "mobile": "mobile"}  # as callers name them
IDENTITIES = "email, mobile or ext_id"  # what makes a contact someone; a blank value is a missing one
_FLAGS = {"email_blacklisted": "email", "sms_blacklisted": "sms"}
_ID_LISTS = ("list_ids", "unlink_list_ids", "segment_ids", "unlink_segment_ids")
_NAME_LISTS = ("groups", "unlink_groups")  # lists or segments by name, resolved by core/groups.py
# The names prepare() takes as arguments before custom fields (a custom field so named is not a plain one):
# those of the input model, each handled below (an argument added to the model and not here fails at import).
ARGUMENT_NAMES = INPUT_ARGUMENTS
if ARGUMENT_NAMES != {"attributes", *_FLAGS, *_ID_LISTS, *_NAME_LISTS}:
    raise ImportError(f"prepare() does not handle {sorted(ARGUMENT_NAMES ^ {'attributes', *_FLAGS, *_ID_LISTS, *_NAME_LISTS})}")


class Prepared:
    """A normalised contact: only the fields the caller sent (None means sent empty).

    Import lines arrive as `wire`, a tuple of values in `names` order (then the attributes), and their
    `columns` dict is built only if a line needs more than its identity: most lines of a big import
    are new contacts inserted as read. Slotted: an import builds one per line."""

    __slots__ = ("_columns", "attributes", "blacklist", "list_ids", "unlink_list_ids", "segment_ids",
                 "unlink_segment_ids", "groups", "unlink_groups", "target_id", "wire",
                 "_positions")

    def __init__(self, columns: dict[str, Any] | None, attributes: dict[str, Any] | None = None, *,
                 wire: tuple | None = None, positions: dict[str, int] | None = None) -> None:
        self._columns = columns
        self.attributes = attributes
        self.blacklist: Sequence[str] = ()
        self.list_ids: Sequence[int] = ()
        self.unlink_list_ids: Sequence[int] = ()
        self.segment_ids: Sequence[int] = ()
        self.unlink_segment_ids: Sequence[int] = ()
        self.groups: Sequence[str] = ()
        self.unlink_groups: Sequence[str] = ()
        self.target_id: int | None = None  # update this contact (create_contact with contact_id) instead of matching
        self.wire = wire
        self._positions = positions  # column name -> index in wire

    @classmethod
    def from_wire(cls, wire: tuple, positions: dict[str, int]) -> Prepared:
        return cls(None, wire[-1], wire=wire, positions=positions)

    @property
    def columns(self) -> dict[str, Any]:
        if self._columns is None:
            wire = self.wire
            self._columns = {name: wire[i] for name, i in self._positions.items()}  # type: ignore[union-attr]
        return self._columns

    def key(self, column: str) -> str | None:
        if self._columns is None:
            i = self._positions.get(column)  # type: ignore[union-attr]
            return self.wire[i] if i is not None else None  # type: ignore[index]
        return self._columns.get(column)

    def has_identity(self) -> bool:
        return any(self.key(c) for c in KEY_COLUMNS)

    def keeps_identity(self, row: dict[str, Any], erase: bool) -> bool:
        """Whether a stored contact (`row`) still has an identity once these values are applied to it (a
        value sent empty erases the stored one only with `erase`)."""
        columns = self.columns
        return any(columns.get(c) or (row[c] and (c not in columns or not erase)) for c in KEY_COLUMNS)


def missing_identity(p: Prepared, match_keys: tuple[str, ...]) -> str | None:
    """None when the contact has one of the identities it is matched on; else those identities, named
    for the error message (e.g. "ext_id or email")."""
    if any(p.key(k) for k in match_keys):
        return None
    return identity_wanted(match_keys)


def identity_wanted(match_keys: tuple[str, ...]) -> str:
    """The identities matched on, named for an error message ("" when none: nothing is required)."""
    return " or ".join(dict.fromkeys(KEY_LABELS[k] for k in match_keys))


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


def _with_attributes(values: dict[str, Any], reg: Registry) -> tuple[dict[str, Any], dict[str, Any]]:
    """A tool call's `attributes` matched to fields by name or alias in any case ({"FNAME": "Elly"} sets
    first_name): the values with the built-in ones added at the top level, and the custom ones. A field
    given both at the top level and as an attribute, with different values, is refused (which to keep?)."""
    builtin, custom = match_attributes(reg, normalize_attributes(values["attributes"]))
    if not builtin:
        return values, custom
    values = dict(values)
    clashes = []
    for target, (name, value) in builtin.items():
        if target not in values:
            values[target] = value
        elif values[target] != value:
            clashes.append(InvalidInput(f"attributes.{name[:40]}", f"sets {target}, also given at the top level "
                                                                   "with another value; give it once"))
    if clashes:
        raise all_invalid(clashes)
    return values, custom


def prepare(values: dict[str, Any], region: str, reg: Registry) -> Prepared:
    """Normalise the sent values: built-in attributes by name, custom fields by name (import rows) or
    under 'attributes' (tool calls, by name or alias), blacklist flags and list ids. Raises InvalidInput
    naming the field."""
    p = Prepared({})
    cols = p._columns
    attributes: dict[str, Any] = {}
    blacklist: list[str] = []
    errors: list[InvalidInput] = []
    if values.get("attributes"):
        values, attributes = _with_attributes(values, reg)
    for name, value in values.items():
        setter = _COLUMN_SETTERS.get(name)
        if setter is not None:
            try:
                setter(cols, value, region)
            except InvalidInput as exc:  # keep going: the caller hears of every bad field at once
                errors.append(exc)
        elif name == "attributes":
            pass  # matched above
        elif name in _FLAGS:
            if value:
                blacklist.append(_FLAGS[name])
        elif name in _ID_LISTS:
            setattr(p, name, list(dict.fromkeys(value or [])))
        elif name in _NAME_LISTS:
            setattr(p, name, [n for n in dict.fromkeys(clean_text(name, v, 200) for v in value or []) if n])
        elif name in reg.fields and not reg.fields[name].builtin:
            try:
                attributes[name] = coerce(reg.fields[name], value, name)
            except InvalidInput as exc:
                errors.append(exc)
        else:
            errors.append(InvalidInput(name, "is not a contact field"))
    if errors:
        raise all_invalid(errors)
    if attributes or "attributes" in values:
        p.attributes = attributes
    p.blacklist = blacklist
    return p
