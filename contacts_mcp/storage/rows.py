"""The stored representation every backend shares: the rows a repository returns, and the facts of
the representation that core computes with.

Rows are TypedDicts, not classes: a row is what the database handed back, keyed by column, and an
import builds hundreds of thousands of them, so they stay plain dicts at run time while the Protocols
(storage/_repositories.py) name their shape. `tests/storage/test_contract.py` checks that every backend
returns these keys with these Python types: times are ISO-8601 strings (UTC, as core wrote them),
JSON columns come back decoded.
"""

from __future__ import annotations

from typing import Any, TypedDict

# The identity columns a contact is deduplicated on (a unique index each, per account).
KEY_COLUMNS = ("ext_id", "email_key", "mobile")
# The prefix of an address kept only as a keyed hash after an erasure: an email key always holds an '@'
# and a number starts with '+', so a hash never equals a clear address.
HASHED = "h:"
# An import job's counters.
COUNTERS = ("created", "updated", "unchanged", "invalid", "duplicates", "skipped")
# A contact's statistics profile: bits 0-3 its opted-out channels (optout_mask), 4-7 its opt-out reasons,
# then the addresses it has and whether it is unconfirmed. Statistics are counts of contacts per profile.
REASON_SHIFT = 4
HAS_EMAIL = 1 << 8
HAS_MOBILE = 1 << 9
HAS_FIXED = 1 << 10
UNCONFIRMED = 1 << 11


class ContactRow(TypedDict):
    id: int
    account_id: int
    ext_id: str | None
    email: str | None
    email_key: str | None  # the dedupe form of the email (lowercased)
    mobile: str | None  # E.164
    fixed_phone: str | None
    fax: str | None
    civility: str | None
    first_name: str | None
    last_name: str | None
    address_1: str | None
    address_2: str | None
    postal_code: str | None
    city: str | None
    state: str | None
    country: str | None
    birth_date: str | None
    company: str | None
    reference: str | None
    attributes: dict[str, Any]
    blocked_senders: list[str]
    status: str
    optout_mask: int
    optout_reasons: int
    source: str
    created_at: str
    updated_at: str
    deleted_at: str | None
    last_import: str | None


class ListRow(TypedDict):
    id: int
    account_id: int
    name: str
    description: str | None
    folder_id: int | None
    created_at: str
    updated_at: str


class FolderRow(TypedDict):
    id: int
    account_id: int
    name: str
    created_at: str
    updated_at: str


class FolderListRow(TypedDict):
    id: int
    name: str
    folder_id: int


class SegmentRow(TypedDict):
    id: int
    account_id: int
    name: str
    description: str | None
    created_at: str
    updated_at: str
    filter_json: str | None  # a dynamic segment's filter; None for a static one


class FieldRow(TypedDict):
    name: str
    type: str
    choices: list[str] | None
    created_at: str


class AliasRow(TypedDict):
    field: str
    alias: str
    alias_key: str


class OptoutRecordRow(TypedDict):
    id: int
    account_id: int
    contact_id: int | None
    address: str | None
    channel: str
    reason: str
    source: str
    created_at: str
    restored_at: str | None
    restored_by: str | None
    restore_reason: str | None
    addresses: list[tuple[str, int]]  # (address, channel mask) it blocks, its first address first


class JobRow(TypedDict):
    seq: int
    id: str
    account_id: int
    status: str
    source_kind: str
    source_name: str | None
    file_path: str | None
    format: str | None
    options: dict[str, Any]
    list_id: int | None
    mapping: dict[str, Any] | None  # file column -> field
    unknown_columns: list[str] | None
    total_lines: int | None
    checkpoint: int
    lines_read: int
    created: int
    updated: int
    unchanged: int
    invalid: int
    duplicates: int
    skipped: int
    percent: float
    error: str | None
    notify_url: str | None
    notify_result: dict[str, Any] | None
    notes: list[str] | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    starts: int
    kind: str  # import or export
    expires_at: str | None  # an export's file is deleted then
    bytes: int | None  # an export file's size


class ImportErrorRow(TypedDict):
    line: int
    data: dict[str, Any]
    reason: str


class WebhookRow(TypedDict):
    id: int
    account_id: int
    url: str
    event_types: list[str]
    secret: str | None
    created_at: str


class EventRow(TypedDict):
    id: int
    account_id: int
    type: str
    contact_id: int | None
    email: str | None
    data: dict[str, Any]
    created_at: str


class DeliveryRow(TypedDict):
    id: int
    account_id: int
    webhook_id: int
    event_id: int
    type: str  # the event's
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: str
    delivered_at: str | None


class ConfirmationRow(TypedDict):
    token_hash: str
    account_id: int
    contact_id: int
    form_type: str | None
    created_at: str
    expires_at: str
    used_at: str | None


class AccountRow(TypedDict):
    id: int
    name: str
    created_at: str


class TokenRow(TypedDict):
    id: str
    account_id: int
    scope: str
    secret_hash: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class TokenListRow(TypedDict):
    """A token as listed: never its secret's hash."""
    id: str
    account: str
    scope: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
