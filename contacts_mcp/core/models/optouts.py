"""Opt-out records and what opting out or restoring did."""

from __future__ import annotations

from pydantic import Field

from ._base import ChannelOrAll, Out


class OptOut(Out):
    id: int
    contact_id: int | None = Field(None, description="Absent for an address that is no contact yet.")
    address: str | None = Field(None, description="The address it was recorded for; blocked for whoever has it.")
    erased: bool | None = Field(None, description="Of an erased contact: its addresses are kept as hashes only.")
    other_addresses: list[str] = Field(default_factory=list, description=(
        "Further addresses it blocks for whoever has them: the contact's others that the channel uses "
        "(email; mobile for sms, voice, voicemail; fixed phone for voice, voicemail), and ones it gave up."))
    channel: ChannelOrAll
    reason: str
    source: str
    created_at: str
    restored_at: str | None = None
    restored_by: str | None = None
    restore_reason: str | None = None


class OptOutPage(Out):
    optouts: list[OptOut]
    next_cursor: str | None = None


class OptOutResult(Out):
    opted_out: int = Field(description="Contacts newly blocked on at least one of the channels.")
    already: int = Field(description="Contacts that were already blocked for these channels and reason.")
    suppressed_count: int = Field(0, description="Addresses that are no contact yet, now blocked for when "
                                                 "they become one.")
    suppressed_addresses: list[str] = Field(default_factory=list, description="The first 200 of them.")


class RestoreResult(Out):
    restored: int = Field(description="Opt-out records lifted (each kept, marked restored, with who and why).")
    contacts_changed: int = Field(description="Contacts whose opted-out channels changed.")
