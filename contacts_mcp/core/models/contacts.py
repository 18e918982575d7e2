"""Contacts: what a caller sends (ContactInput) and gets back (Contact, outcomes, pages)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._base import BUILTIN_FIELDS, Channel, Out, Status


class ContactInput(BaseModel):
    """All optional; fields left out or empty leave stored values (unless empty_values_erase)."""

    model_config = ConfigDict(extra="forbid")

    ext_id: str | None = Field(None, description="Your own unique id (e.g. CRM id), max 100 chars; matched first.")
    email: str | None = Field(None, description="Matched case-insensitively.")
    mobile: str | None = Field(None, description="National (default region) or international form; stored E.164.")
    fixed_phone: str | None = None
    fax: str | None = None
    civility: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    birth_date: str | None = Field(None, description="YYYY-MM-DD or DD/MM/YYYY.")
    company: str | None = None
    reference: str | None = None
    attributes: dict[str, Any] | None = Field(
        None, description="Fields by name or alias, any case (FNAME, tier): text, number, boolean or null; merged.")
    email_blacklisted: bool | None = Field(None, description="true adds an email opt-out; false lifts nothing.")
    sms_blacklisted: bool | None = Field(None, description="true adds an SMS opt-out; false lifts nothing.")
    blocked_senders: list[str] | None = Field(None, max_length=100,
                                              description="Sender emails that must not email this contact.")
    list_ids: list[int] | None = Field(None, max_length=100, description="Lists to join.")
    unlink_list_ids: list[int] | None = Field(None, max_length=100, description="Lists to leave.")
    segment_ids: list[int] | None = Field(None, max_length=100, description="Segments to join.")
    unlink_segment_ids: list[int] | None = Field(None, max_length=100, description="Segments to leave.")
    groups: list[str] | None = Field(None, max_length=100, description="Lists or segments to join, by name.")
    unlink_groups: list[str] | None = Field(None, max_length=100, description="Lists or segments to leave, by name.")


# The names a contact's input uses for things other than fields (flags, groups, attributes), derived from
# the input model so that a new argument is known everywhere: no custom field may take such a name.
INPUT_ARGUMENTS = frozenset(ContactInput.model_fields) - {"ext_id", *BUILTIN_FIELDS, "blocked_senders"}


class Contact(Out):
    """A contact (empty fields left out)."""

    id: int
    ext_id: str | None = None
    email: str | None = None
    mobile: str | None = None
    fixed_phone: str | None = None
    fax: str | None = None
    civility: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    birth_date: str | None = None
    company: str | None = None
    reference: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    status: Status = "confirmed"
    opted_out: list[Channel] = Field(default_factory=list,
                                     description="Channels this contact must not be messaged on.")
    blocked_senders: list[str] = Field(default_factory=list)
    list_ids: list[int] = Field(default_factory=list)
    list_unsubscribed: list[int] = Field(default_factory=list, description="Lists it unsubscribed from.")
    source: str = Field(description="How the contact was created: api, bulk, import:<job>, subscribe:<form>.")
    created_at: str
    updated_at: str
    deleted_at: str | None = Field(None, description="Set when the contact is deleted (restorable).")


Outcome = Literal["created", "updated", "unchanged"]


class ContactResult(Out):
    outcome: Outcome = Field(description="created, updated (an existing contact matched), or unchanged.")
    contact: Contact


class ContactPage(Out):
    contacts: list[Contact]
    next_cursor: str | None = Field(None, description="Pass back as cursor for the next page; absent on the last.")
    not_found: list[int | str] = Field(default_factory=list, description="Requested identifiers that match "
                                                                         "no contact.")
    note: str | None = None
    total: int | None = Field(None, description="All matches (with_total).")


class UpsertItem(Out):
    """One contact's outcome: index, outcome, id, error."""

    index: int = Field(description="Position of the contact in the request (0-based).")
    outcome: Literal["created", "updated", "unchanged", "failed"]
    id: int | None = None
    error: str | None = None


class UpsertResult(Out):
    created: int
    updated: int
    unchanged: int
    failed: int
    items: list[UpsertItem] = Field(default_factory=list, description="Per-contact outcome: every contact when "
                                    "the call had at most 200, else only the failed ones.")
    note: str | None = None
