"""What every model shares: channels, the built-in field table, the `Out` base of every result."""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer


Channel = Literal["email", "sms", "voice", "voicemail"]


ChannelOrAll = Literal["email", "sms", "voice", "voicemail", "all"]


CHANNELS: tuple[Channel, ...] = ("email", "sms", "voice", "voicemail")


CHANNEL_BITS: dict[str, int] = {"email": 1, "sms": 2, "voice": 4, "voicemail": 8}


ALL_CHANNELS_MASK = 15


Status = Literal["confirmed", "unconfirmed"]


# The one table of built-in attributes: name -> kind (how a value is normalised), in the canonical order
# (spec §2), which is also the column order of a header-less import file. Everything else derives from it;
# tests/core/test_builtin_fields.py checks the models and the stored columns agree.
BUILTINS: dict[str, str] = {
    "civility": "text", "first_name": "text", "last_name": "text", "email": "email", "fixed_phone": "phone",
    "mobile": "phone", "fax": "phone", "address_1": "text", "address_2": "text", "postal_code": "text",
    "city": "text", "state": "text", "country": "text", "birth_date": "date", "company": "text",
    "reference": "text",
}


BUILTIN_FIELDS: tuple[str, ...] = tuple(BUILTINS)


PHONE_FIELDS = tuple(name for name, kind in BUILTINS.items() if kind == "phone")


TEXT_FIELDS = tuple(name for name, kind in BUILTINS.items() if kind == "text")


def channels_of(mask: int) -> list[Channel]:
    return [c for c in CHANNELS if mask & CHANNEL_BITS[c]]


class Out(BaseModel):
    """Base of every result: None values and empty lists/dicts are left out of the serialised form."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    @model_serializer(mode="wrap")
    def _drop_empty(self, handler: Any) -> Any:
        data = handler(self)
        required = _required_names(type(self))
        return {k: v for k, v in data.items() if v is not None and (k in required or (v != [] and v != {}))}


@functools.cache
def _required_names(cls: type[BaseModel]) -> frozenset[str]:
    return frozenset((f.serialization_alias or f.alias or name) for name, f in cls.model_fields.items()
                     if f.is_required())


class ChangeCount(Out):
    changed: int = Field(description="How many records this call changed.")
    not_found: list[int | str] = Field(default_factory=list)
    unsubscribed: list[int] = Field(default_factory=list, description="Not added: unsubscribed from the list.")


class DeleteResult(ChangeCount):
    note: str | None = None  # an erase without confirm: what it would do and how to confirm
