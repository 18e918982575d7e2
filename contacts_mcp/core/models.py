"""Domain models: what callers send (inputs) and what they get back (outputs).

Outputs leave out empty values when serialised (see `Out`), so results stay small for an assistant.
"""

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


# ---------------------------------------------------------------- inputs

_TEXT = "at most 255 characters"


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


# ---------------------------------------------------------------- outputs


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


class ChangeCount(Out):
    changed: int = Field(description="How many records this call changed.")
    not_found: list[int | str] = Field(default_factory=list)
    unsubscribed: list[int] = Field(default_factory=list, description="Not added: unsubscribed from the list.")


class DeleteResult(ChangeCount):
    note: str | None = None  # an erase without confirm: what it would do and how to confirm


class ListImport(Out):
    """The import that created a list."""

    job_id: str
    status: str
    lines: int | None = Field(None, description="Data lines of the source file.")
    invalid: int
    errors: str | None = Field(None, description="The error report resource.")


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




class ContactList(Out):
    """A list with the properties asked for."""

    id: int
    name: str | None = None
    description: str | None = None
    folder_id: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    stats: Stats | None = None
    import_: ListImport | None = Field(None, alias="import")


class ListPage(Out):
    lists: list[ContactList]
    next_cursor: str | None = None
    not_found: list[int] = Field(default_factory=list)
    note: str | None = None
    total: int | None = Field(None, description="All matches (with_total).")


class ListRef(Out):
    id: int
    name: str
    subscribers: int


class Folder(Out):
    """A folder: id, name, dates, list_count, and its first 20 lists (id, name, subscribers)."""

    id: int
    name: str
    created_at: str
    updated_at: str
    list_count: int
    lists: list[ListRef] = Field(default_factory=list, description="Up to 20 of the folder's lists; use "
                                 "get_lists with folder_id for all of them.")


class FolderPage(Out):
    folders: list[Folder]
    next_cursor: str | None = None
    not_found: list[int] = Field(default_factory=list)
    note: str | None = None


class ListsChange(Out):
    """What manage_lists did: the created or updated list, or how many lists were deleted."""

    list_: ContactList | None = Field(None, alias="list", description="The created or updated list.")
    deleted: int | None = Field(None, description="How many lists were deleted.")
    not_found: list[int] = Field(default_factory=list, description="Unknown list ids.")


class FoldersChange(Out):
    """What manage_folders did: the created or renamed folder, or what a delete removed."""

    folder: Folder | None = None
    deleted_folder_id: int | None = None
    deleted_lists: int | None = Field(None, description="Lists deleted with the folder (cascade).")


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


JobStatus = Literal["queued", "running", "completed", "failed", "cancelled"]


class ImportJob(Out):
    """An import job: status, counts; rejected lines in error_report (+ .csv); unknown_columns ignored."""

    id: str
    status: JobStatus
    source: str
    list_id: int | None = None
    lines_read: int
    total_lines: int | None = None
    created: int
    updated: int
    unchanged: int
    invalid: int
    duplicates: int
    skipped: int
    percent: float
    mapping: dict[str, str] | None = None
    unknown_columns: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    error: str | None = None
    error_report: str | None = None
    notify: str | None = None
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None


class ImportJobPage(Out):
    jobs: list[ImportJob]
    next_cursor: str | None = None


class ImportErrorLine(Out):
    line: int
    values: dict[str, str]
    reason: str


class ImportErrorPage(Out):
    job_id: str
    errors: list[ImportErrorLine]
    next_cursor: str | None = None


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


class SubscribeInput(BaseModel):
    """The sign-up form's fields."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = None
    mobile: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    company: str | None = None
    attributes: dict[str, Any] | None = Field(None, description="Fields by name or alias.")
    list_ids: list[int] | None = Field(None, max_length=20, description="Lists to join.")
    groups: list[str] | None = Field(None, max_length=20, description="Lists or segments to join, by name.")


class Segment(Out):
    id: int
    name: str
    description: str | None = None
    size: int = Field(description="Members that are not deleted.")
    created_at: str
    updated_at: str


class SegmentPage(Out):
    segments: list[Segment]
    next_cursor: str | None = None
    not_found: list[int] = Field(default_factory=list)


class SegmentsChange(Out):
    segment: Segment | None = None
    deleted: int | None = None
    not_found: list[int] = Field(default_factory=list)


class MembershipChange(Out):
    changed: int = Field(description="Memberships added or removed.")
    not_found: list[int | str] = Field(default_factory=list, description="Ids or ext_ids that match no contact.")


class SubscribeResult(Out):
    contact: Contact
    outcome: Literal["created", "updated"]
    token: str = Field(description="Single-use; pass to confirm_subscription before expires_at.")
    expires_at: str
    event: str = Field(description="The event recorded, e.g. subscribeFromApi-newsletter.")


class Event(Out):
    id: int
    type: str
    contact_id: int | None = None
    email: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: str


class EventPage(Out):
    events: list[Event]
    next_cursor: str | None = None


class Webhook(Out):
    id: int
    url: str
    event_types: list[str]
    created_at: str
    secret: str | None = Field(None, description="On create only: deliveries carry X-Contacts-Signature: "
                                                 "sha256=HMAC-SHA256(secret, body).")
    deliveries: dict[str, int] = Field(default_factory=dict, description="Counts by status: pending, delivered, "
                                                                          "failed.")
    recent: list[dict[str, Any]] = Field(default_factory=list, description="Latest deliveries with their outcome.")


class WebhooksResult(Out):
    webhooks: list[Webhook] = Field(default_factory=list)
    deleted: int | None = None
