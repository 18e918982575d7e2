"""Per-resource repository Protocols: what a unit of work may ask of a backend, resource by resource.

Each is implemented by the SQLite mixin of the same name in storage/sqlite/ (a PostgreSQL one will
follow). Rows are plain dicts at run time, typed by storage/rows.py; see storage/api.py for the contract.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NotRequired, Protocol, TypedDict, Unpack

from .rows import (
    AliasRow, ConfirmationRow, ContactRow, DeliveryRow, EventRow, FieldRow, FolderListRow, FolderRow, ImportErrorRow, JobRow, ListRow,
    OptoutRecordRow, SegmentRow, WebhookRow,
)
from .columns import ExportColumn
from .tree import Node


class ContactFilters(TypedDict):
    """Which contacts a listing or a count covers (every key required; None or empty means no filter)."""

    list_id: int | None
    segment_id: int | None
    created_since: str | None
    modified_since: str | None
    search: Sequence[str]  # terms, any of which a contact's name, company, email or phone contains (or ext_id equals)
    deleted: str  # 'exclude', 'include' or 'only'
    where_tree: NotRequired[Node | None]  # a filter (storage/tree.py), checked and typed by core


class ContactReads(Protocol):
    """Contacts: queries."""

    def contacts_by_ids(self, ids: Sequence[int]) -> list[ContactRow]: ...
    def existing_contact_ids(self, ids: Sequence[int]) -> set[int]:
        """Which of `ids` are this account's contacts (deleted ones included)."""
    def contacts_by_key(self, column: str, values: Sequence[str]) -> list[ContactRow]:
        """Contacts whose ext_id, email_key or mobile is one of `values` (deleted ones included)."""
    def list_contacts(
        self,
        *,
        descending: bool,
        after_id: int | None,
        limit: int,
        offset: int = 0,
        **filters: Unpack[ContactFilters],
    ) -> list[ContactRow]:
        """A page of contacts matching the filters (see _filtered), in id order, after `after_id` or `offset` rows
        (an offset is read through: slower for deep pages)."""
    def count_contacts(self, **filters: Unpack[ContactFilters]) -> int: ...
    def memberships(self, contact_ids: Sequence[int]) -> dict[int, list[int]]: ...
    def memberships_among(
        self,
        contact_ids: Sequence[int],
        group_ids: Sequence[int],
        kind: str,
    ) -> set[tuple[int, int]]:
        """(contact id, group id) pairs that exist among the given contacts and lists (or segments)."""
    def filter_ids(self, node: Node, *, after_id: int, limit: int, deleted: bool = False) -> Sequence[int]:
        """Ids of the contacts that match, in rising order after `after_id` (deleted ones only if asked)."""
    def filter_fingerprint(self, node: Node) -> tuple[int, int, int]:
        """Which contacts (not deleted) match, as three numbers that differ for another set."""
    def plan_used(self, nonce: str) -> bool:
        """Whether a plan token was carried out already (core/plans.py)."""


class ContactWrites(Protocol):
    """Contacts: changes, inside the write transaction."""

    def use_plan(self, nonce: str, expires_at: str, now: str) -> None:
        """Record a plan token as carried out, until it expires."""

    def reserve_contact_ids(self, n: int) -> Sequence[int]:
        """`n` ids for contacts this unit may create, none used before (not even by an erased contact) and
        none another unit will hand out; ids a unit does not use may be left unused."""
    def insert_contacts(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert whole rows with their pre-allocated ids (above any existing one)."""
    def insert_wire_rows(
        self,
        names: Sequence[str],
        ids: Sequence[int],
        lines: Sequence[tuple],
        *,
        source: str,
        now: str,
        last_import: str | None,
        optouts: Sequence[tuple[int, int]] | None = None,
        skip_taken: bool = False,
    ) -> set[int]:
        """New contacts from import lines as read (values in `names` order, then the attributes), with their ids in
        increasing order, and their (optout_mask, optout_reasons) if not 0. `skip_taken`: a line whose identity
        (ext_id, email key, mobile) a contact holds already is left out, and its id is in the set returned;
        without it, such a line fails the unit. The unique indexes answer while inserting, without a lookup first."""
    def update_contacts(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write back whole rows (every mutable column) by id."""
    def release_keys(self, ids: Sequence[int], columns: Sequence[str]) -> None:
        """Clear identity columns of rows about to take new values, so that identities moving between contacts
        within one batch never collide on the unique indexes mid-way."""
    def add_memberships(self, pairs: Sequence[tuple[int, int]], now: str, kind: str = 'list') -> None:
        """(contact id, list or segment id) pairs; existing ones are left alone."""
    def remove_memberships(self, pairs: Sequence[tuple[int, int]], kind: str = 'list') -> None: ...
    def set_optout_bits(self, rows: Sequence[tuple[int, int, int]], now: str) -> None:
        """(contact id, optout_mask, optout_reasons) for each contact whose opt-outs changed."""
    def set_deleted(self, ids: Sequence[int], deleted_at: str | None, now: str) -> int:
        """Soft-delete (deleted_at set) or restore (None) the given contacts; returns how many changed."""


class OptoutReads(Protocol):
    """Opt-outs: queries."""

    def has_address_optouts(self) -> bool: ...
    def optouts_by_address(self, addresses: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
        """Active opt-outs per normalised address, as (channels blocked there, reason)."""
    def addresses_of_optouts(self, ids: Sequence[int]) -> dict[int, list[tuple[str, int]]]:
        """The (address, mask) rows of these records, first address first."""
    def active_optouts(self, contact_ids: Sequence[int], addresses: Sequence[str]) -> list[OptoutRecordRow]:
        """Active records of these contacts or blocking any of these addresses, each with its "addresses"."""
    def list_optouts(
        self,
        *,
        reason: str | None,
        channel: str | None,
        since: str | None,
        until: str | None,
        list_id: int | None,
        contact_id: int | None,
        include_restored: bool,
        before_id: int | None,
        limit: int,
    ) -> list[OptoutRecordRow]:
        """Records newest first, each with its "addresses"."""


class OptoutWrites(Protocol):
    """Opt-outs: changes, inside the write transaction."""

    def insert_optouts(self, rows: Sequence[OptoutRow], now: str) -> None:
        """New records with the addresses they block. One already active for the same contact (or, for an address-
        only record, the same first address), channel and reason is not repeated."""
    def add_optout_addresses(self, rows: Sequence[tuple[int, str, int]]) -> None:
        """(record id, address, mask): more addresses an active record blocks (a mask only ever grows). A record
        that had none (an sms opt-out of a contact without a mobile) is now listed under the first."""
    def bind_optouts(self, pairs: Sequence[tuple[int, str]]) -> None:
        """(contact id, address): address-only opt-outs now belong to the contact that has the address."""
    def lift_optouts(self, ids: Sequence[int], *, now: str, by: str, reason: str) -> None:
        """Mark records restored (they stay, as the audit trail of who lifted them and why); their address rows
        stop counting with them."""


class ListReads(Protocol):
    """Lists and folders: queries."""

    def existing_list_ids(self, ids: Sequence[int]) -> set[int]: ...
    def lists_by_ids(self, ids: Sequence[int]) -> list[ListRow]: ...
    def list_lists(
        self,
        *,
        folder_id: int | None,
        after_id: int | None,
        limit: int,
        descending: bool = False,
        offset: int = 0,
    ) -> list[ListRow]:
        """Lists in creation (id) order, after `after_id` or `offset` rows."""
    def count_lists(self, folder_id: int | None) -> int: ...
    def subscriber_counts(self, list_ids: Sequence[int]) -> dict[int, int]:
        """Members that are not deleted, per list (from the maintained statistics)."""
    def existing_folder_ids(self, ids: Sequence[int]) -> set[int]: ...
    def folder_by_name(self, name: str) -> FolderRow | None: ...
    def folders_by_ids(self, ids: Sequence[int]) -> list[FolderRow]: ...
    def list_folders(self, *, after_id: int | None, limit: int) -> list[FolderRow]: ...
    def folder_list_counts(self, folder_ids: Sequence[int]) -> dict[int, int]: ...
    def first_lists_of_folders(self, folder_ids: Sequence[int], per_folder: int) -> list[FolderListRow]: ...
    def groups_named(self, names: Sequence[str]) -> list[tuple[str, int, str]]:
        """(kind, id, name) of the lists and segments whose name is one of these, ignoring case."""
    def member_ids(self, list_id: int) -> list[int]: ...
    def list_unsubscribes(self, contact_ids: Sequence[int]) -> dict[int, list[int]]:
        """{contact id: lists it is unsubscribed from} (active unsubscribes only)."""
    def unsubscribed_among(self, contact_ids: Sequence[int], list_ids: Sequence[int]) -> set[tuple[int, int]]:
        """(contact id, list id) pairs among these that are unsubscribed: no add may join them."""


class ListWrites(Protocol):
    """Lists and folders: changes, inside the write transaction."""

    def insert_list(self, *, name: str, description: str | None, folder_id: int | None, now: str) -> int: ...
    def update_list(self, list_id: int, values: dict[str, Any]) -> None: ...
    def delete_lists(self, ids: Sequence[int]) -> int: ...
    def add_members(self, list_id: int, contact_ids: Sequence[int], now: str) -> int:
        """Add contacts (already checked to be this account's) to a list; returns how many were new."""
    def remove_members(self, list_id: int, contact_ids: Sequence[int] | None) -> int:
        """Remove contacts from a list (None: every member); returns how many left."""
    def unsubscribe_members(self, list_id: int, contact_ids: Sequence[int], source: str, now: str) -> int:
        """Unsubscribe contacts from a list: they leave it and stay out. Returns how many were not yet."""
    def resubscribe_members(
        self,
        list_id: int,
        contact_ids: Sequence[int],
        *,
        by: str,
        reason: str,
        now: str,
    ) -> int:
        """Lift unsubscribes (kept, with who and why) and add the contacts back; returns how many were lifted."""
    def merge_members(self, list_id: int, sources: Sequence[int], exclude_mask: int, now: str) -> int:
        """Fill a new list with the members of `sources`, each once, leaving out contacts opted out of any channel
        in `exclude_mask`, and count its statistics from the same pass: the members and their profiles are
        gathered once in a temporary table (nothing else has touched a list created in this transaction, so
        these counts are exact)."""
    def insert_folder(self, name: str, now: str) -> int: ...
    def rename_folder(self, folder_id: int, name: str, now: str) -> None: ...
    def delete_folder(self, folder_id: int) -> int:
        """Delete a folder and the lists it holds; returns how many lists went with it."""


class FieldReads(Protocol):
    """Fields and aliases: queries."""

    def custom_fields(self) -> list[FieldRow]: ...
    def aliases(self) -> list[AliasRow]: ...
    def aliases_seeded(self) -> int:
        """How many alias seeds the account has received (core.fields.ALIAS_SEEDS)."""


class FieldWrites(Protocol):
    """Fields and aliases: changes, inside the write transaction."""

    def insert_field(self, name: str, type_: str, choices: list[str] | None, now: str) -> None: ...
    def update_field(self, name: str, type_: str, choices: list[str] | None) -> None: ...
    def delete_field(self, name: str) -> int:
        """Delete a custom field, its aliases and its values on every contact; returns contacts changed."""
    def insert_aliases(self, rows: Iterable[tuple[str, str, str]], now: str) -> None:
        """(field, alias, alias_key) rows; a key already taken is skipped."""
    def delete_alias(self, alias_key: str) -> int: ...
    def mark_aliases_seeded(self, version: int) -> None: ...


class ImportReads(Protocol):
    """Import and export jobs (`kind`): queries."""

    def job(self, job_id: str) -> JobRow | None: ...
    def job_status(self, job_id: str) -> str | None: ...
    def jobs(self, *, status: str | None, after_seq: int | None, limit: int,
             kind: str | None = None) -> list[JobRow]: ...
    def jobs_of_lists(self, list_ids: Sequence[int]) -> dict[int, JobRow]:
        """The import that created each list, if one did."""
    def errors(self, job_id: str, *, after_line: int, limit: int) -> list[ImportErrorRow]: ...
    def iter_errors(self, job_id: str, batch: int = 1000) -> Iterator[ImportErrorRow]: ...


class ImportWrites(Protocol):
    """Import jobs: changes, inside the write transaction."""

    def insert_job(self, values: dict[str, Any]) -> None: ...
    def update_job(self, job_id: str, values: dict[str, Any]) -> None: ...
    def advance_job(self, job_id: str, *, checkpoint: int, percent: float, counts: dict[str, int]) -> None:
        """Record a batch in its own transaction: the checkpoint (last line applied) and the counters move
        together, so a resumed job neither repeats nor loses a line."""
    def insert_errors(self, job_id: str, rows: Sequence[tuple[int, Any, str]]) -> None:
        """(line, original values, reason) rows; a line already reported (a resumed batch) is kept once."""


class SegmentReads(Protocol):
    """Segments: queries."""

    def segments_by_ids(self, ids: Sequence[int]) -> list[SegmentRow]: ...
    def segment_by_name(self, name: str) -> SegmentRow | None: ...
    def list_segments(self, *, after_id: int | None, limit: int) -> list[SegmentRow]: ...
    def existing_segment_ids(self, ids: Sequence[int]) -> set[int]: ...
    def dynamic_segments(self) -> list[SegmentRow]:
        """Every dynamic segment of the account (those with a filter)."""
    def static_segment_ids(self, ids: Sequence[int]) -> set[int]:
        """Which of `ids` are this account's static segments (only those are joined and left by hand)."""
    def segment_sizes(self, ids: Sequence[int]) -> dict[int, int]:
        """Members that are not deleted, per segment (from the maintained statistics)."""


class SegmentWrites(Protocol):
    """Segments: changes, inside the write transaction."""

    def insert_segment(self, name: str, description: str | None, now: str, filter_json: str | None = None) -> int:
        """A static segment, or a dynamic one with its filter (JSON)."""
    def update_segment(self, segment_id: int, name: str | None, description: str | None, now: str,
                       filter_json: str | None = None) -> None:
        """None leaves a value as it is."""
    def delete_segments(self, ids: Sequence[int]) -> int: ...
    def attach(self, segment_id: int, contact_ids: Sequence[int], now: str) -> int: ...
    def detach(self, segment_id: int, contact_ids: Sequence[int] | None) -> int:
        """Remove these contacts from the segment; None empties it."""


class EventReads(Protocol):
    """Events, webhooks and confirmations: queries."""

    def list_events(
        self,
        *,
        type: str | None,
        contact_id: int | None,
        since: str | None,
        until: str | None,
        after_id: int | None,
        limit: int,
    ) -> list[EventRow]: ...
    def webhooks(self, ids: Sequence[int] | None = None) -> list[WebhookRow]: ...
    def delivery_counts(self, webhook_ids: Sequence[int]) -> dict[int, dict[str, int]]: ...
    def recent_deliveries(self, webhook_id: int, limit: int) -> list[DeliveryRow]: ...
    def confirmation(self, token_hash: str) -> ConfirmationRow | None: ...


class EventWrites(Protocol):
    """Events, webhooks and confirmations: changes, inside the write transaction."""

    def insert_events(self, rows: Sequence[tuple[str, int | None, str | None, dict]], now: str) -> None:
        """(type, contact id, email, data) events, and a pending delivery for each webhook wanting the type."""
    def insert_contact_events(self, type: str, contact_ids: Sequence[int], now: str) -> None:
        """One `type` event per contact (an event key on an import or bulk upsert), with its id, email and, in
        data, its SMS number and its key: the email, else the mobile."""
    def insert_webhook(self, url: str, event_types: list[str], secret: str, now: str) -> int: ...
    def delete_webhook(self, webhook_id: int) -> int: ...
    def record_attempt(
        self,
        delivery_id: int,
        *,
        ok: bool,
        final: bool,
        status: int | None,
        error: str | None,
        now: str,
        next_at: str,
    ) -> None: ...
    def insert_confirmation(
        self,
        token_hash: str,
        contact_id: int,
        form_type: str | None,
        now: str,
        expires_at: str,
    ) -> None: ...
    def use_confirmation(self, token_hash: str, now: str) -> int:
        """Marks the token used; 0 when it was already used (single use, even under races)."""
    def set_status(self, contact_id: int, status: str, now: str) -> None: ...


class StatsReads(Protocol):
    """Statistics: queries."""

    def group_profiles(self, kind: str, group_ids: Sequence[int]) -> dict[int, Counter[int]]:
        """Maintained profile counts per group."""
    def group_sizes(self, kind: str, group_ids: Sequence[int]) -> dict[int, int]:
        """Contacts (not deleted) per list or segment."""
    def union_profiles(self, kind: str, group_ids: Sequence[int]) -> Counter[int]:
        """Profile counts of the contacts in any of the lists (or segments), each counted once (computed, not
        kept)."""
    def filter_profiles(self, node: Node) -> Counter[int]:
        """Profile counts of the contacts (not deleted) that match the filter: every figure in one pass."""
    def field_fill(self, custom: Sequence[str], list_id: int | None) -> tuple[int, dict[str, tuple[int, int]]]:
        """Contacts counted, and per field how many have a value and the longest value's length."""
    def recount_profiles(self, kind: str, group_id: int) -> Counter[int]:
        """The same figures as `group_profiles`, counted from the rows themselves (checks and repairs)."""


class StatsWrites(Protocol):
    """Statistics: changes, inside the write transaction."""

    def settle(self) -> None:
        """Add to the maintained counts what the transaction's changes made of them (before COMMIT)."""
    def add_group_counts(self, kind: str, group_id: int, counts: Iterable[tuple[int, int]]) -> None:
        """Counts (profile, n) for a group filled in one statement by its creator, counted from the rows it
        inserted: nothing else touched a group created in the same transaction."""
    def join_group(self, kind: str, group_id: int, contact_ids: Sequence[int], now: str) -> int:
        """Add contacts (of this account) to a list or segment; returns how many were new. A contact unsubscribed
        from the list is not added (only resubscribe_members lifts that)."""
    def leave_group(self, kind: str, group_id: int, contact_ids: Sequence[int] | None) -> int:
        """Remove contacts from a list or segment (None: all of them); returns how many left."""
    def delete_groups(self, kind: str, ids: Sequence[int]) -> int:
        """Delete lists or segments (their memberships go with them, their contacts stay)."""
    def drop_group_counts(self, kind: str, group_ids: Sequence[int]) -> None: ...


class EraseReads(Protocol):
    """Erasure: queries."""

    def address_secret(self) -> bytes:
        """The server's key for hashing erased addresses (made once by migration 10, never shown)."""
    def has_hashed_addresses(self) -> bool:
        """Whether any active opt-out of the account blocks an address kept only as a hash (an index range)."""
    def optout_addresses_of(
        self,
        contact_ids: Sequence[int],
        addresses: Sequence[str],
    ) -> list[tuple[int, int | None, str | None, str | None]]:
        """(record id, its contact, its first address, one of its address rows) for every record, lifted ones
        included, of these contacts or holding any of these addresses; a record without address rows comes once
        with None."""
    def import_error_rows(self) -> Iterator[tuple[str, int, Any, str]]:
        """(job id, line, values as read, reason) of every rejected import line of the account."""


class EraseWrites(Protocol):
    """Erasure: changes, inside the write transaction."""

    def secure_delete(self) -> Iterator[None]:
        """Within: whatever the transaction deletes or overwrites is zeroed in the file, whole freed pages included
        (the writer otherwise runs with secure_delete=FAST: freed cells only)."""
    def hash_optout_addresses(self, rows: Sequence[tuple[int, str, str]]) -> None:
        """(record id, clear address, its hash): the address replaced by its hash in the record (merged into the
        hash's row if the record holds both, as one re-created after an erasure may)."""
    def unlink_optouts(self, contact_ids: Sequence[int]) -> None:
        """The records of erased contacts belong to nobody now (they block by address only)."""
    def delete_import_errors(self, keys: Sequence[tuple[str, int]]) -> None: ...
    def erase_contacts(self, ids: Sequence[int]) -> int:
        """Delete contacts for good with their memberships and confirmation tokens; their events stay (type, time,
        contact id) without email or data. Returns how many were deleted."""
    def insert_erasure(self, *, erased_by: str, reason: str, contact_ids: Sequence[int], now: str) -> None: ...



class ExportReads(Protocol):
    """What an export reads (storage/columns.py), on the snapshot of Store.stream."""

    native_csv: bool
    """Whether the database writes CSV itself (export_csv), faster than rows written as CSV in Python."""

    def export_count(self, node: Node | None, *, deleted: str) -> int:
        """How many contacts export_rows will yield."""
    def export_rows(self, node: Node | None, columns: Sequence[ExportColumn], *, deleted: str, text: bool,
                    batch: int = 5000) -> Iterator[list[tuple]]:
        """The contacts `node` selects (all if None; deleted ones: `deleted` no, also or only), in id order, a
        tuple of `columns` each, `batch` at a time: groups as their ids joined by commas, custom fields typed.
        `text`: as a spreadsheet shows them: booleans 'true' / 'false', and any typed text that starts like a
        formula (after any apostrophes) with one more apostrophe in front (storage/columns.py)."""
    def export_csv(self, node: Node | None, columns: Sequence[ExportColumn], *, deleted: str,
                   delimiter: str) -> Iterator[bytes]:
        """With native_csv: what export_rows(text=True) gives, written by the database as CSV lines (no header;
        fields quoted when they hold the delimiter, a quote or a line break; LF), with each group column as one
        cell: names in code-point order, a | or \\ escaped by a backslash, joined by |, neutralised; times
        as ISO text."""
