"""Statistics: exact figures of the base, a list or a segment."""

from __future__ import annotations

from pydantic import Field

from ._base import Channel, Out


class Reachable(Out):
    email: int = Field(description="With an email, not opted out of email, not unconfirmed.")
    sms: int = Field(description="With a mobile, not opted out of sms.")
    voice: int = Field(description="With a mobile or fixed phone, not opted out of voice.")
    voicemail: int = Field(description="With a mobile or fixed phone, not opted out of voicemail.")


class Stats(Out):
    """Exact figures at the moment they are read; deleted contacts count nowhere."""

    subscribers: int = Field(description="Contacts (members, for a list) that are not deleted.")
    reachable: Reachable
    opted_out: dict[Channel, int] = Field(description="Contacts opted out of each channel.")
    opted_out_by_reason: dict[str, int] = Field(description="Contacts with an opt-out of each reason.")
    blacklisted: int = Field(description="Contacts opted out of at least one channel.")
    unconfirmed: int = Field(description="Contacts awaiting double opt-in confirmation.")
    missing_address: dict[Channel, int] = Field(description="Contacts without an address for the channel.")


class ListFigures(Out):
    list_id: int
    name: str
    stats: Stats


class StatsResult(Out):
    """Statistics of the whole base, one list, or several lists (their union, each contact once)."""

    stats: Stats
    lists: list[ListFigures] = Field(default_factory=list, description="Each list's own figures, when "
                                                                        "several lists were asked for.")
    total_subscribers: int | None = Field(None, description="Sum of the lists' subscribers (a contact in "
                                                             "two lists counts twice).")
    unique_subscribers: int | None = Field(None, description="Contacts in at least one of the lists.")
