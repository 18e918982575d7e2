"""Fields: built-in and custom, with their aliases and fill statistics."""

from __future__ import annotations

from pydantic import Field

from ._base import Out


class FieldInfo(Out):
    """A field: name, type, builtin, choices, aliases."""

    name: str
    type: str = Field(description="Built-ins: id, email, phone, date, text. Custom: text, number, date, boolean, "
                                  "choice.")
    builtin: bool
    choices: list[str] | None = None
    aliases: list[str] = Field(default_factory=list, description="Other column headers matched to this field.")


class FieldsChange(Out):
    field: FieldInfo | None = None
    deleted_field: str | None = None
    contacts_changed: int | None = Field(None, description="Contacts whose value of the deleted field was removed.")


class FieldStat(Out):
    field: str
    set: int = Field(description="Contacts with a value.")
    share: float = Field(description="Percent of the contacts counted.")
    max_length: int = Field(description="Longest value, in characters.")


class FieldStats(Out):
    contacts: int = Field(description="Contacts counted (not deleted; members of list_id if given).")
    fields: list[FieldStat]


class FieldPage(Out):
    fields: list[FieldInfo]
    next_cursor: str | None = None
    not_found: list[str] = Field(default_factory=list)
    stats: FieldStats | None = Field(None, description="With with_stats: how filled each field is.")
