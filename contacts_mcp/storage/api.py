"""The storage seam: the only thing core imports from storage. A backend (storage/sqlite/: one file, one
process; storage/postgres/: one database, many processes) implements these Protocols;
tests/storage/test_contract.py holds each to them.

Units of work
    Core never awaits a query. It hands the Store a *unit of work*: a plain synchronous function of a
    Reader (`await store.read(account, fn)`) or of a Writer (`await store.write(account, fn)`), bound to
    one account. Every query a session makes is filtered on that account: another account's ids behave
    exactly like unknown ones. A write unit runs whole in one transaction, committed if it returns and
    rolled back entirely if it raises; a read unit sees one consistent snapshot and must change nothing
    (a backend may run it again, e.g. on another connection).

The writer model: what a write unit may assume, and what every backend must guarantee
    1. **Write units of one account are serialised.** No other write of the same account commits between
       a unit's first read and its commit. SQLite gives this for the whole database (one writer
       connection, `BEGIN IMMEDIATE`); PostgreSQL per account (a transaction-scoped advisory lock on the
       account id, taken first in every write unit, then READ COMMITTED: every statement after it sees
       what the account's previous units committed).
       Everything below rests on it:
       - **ids**: a unit reserves the contact ids it may use (`reserve_contact_ids`: never used before, not
         even by an erased contact, and handed to no other unit; SQLite takes those above the highest,
         PostgreSQL takes them from the table's sequence); likewise event and opt-out ids (`_new_ids`).
         Ids rise, so a unit finds the events it inserted as those of its account from its first id up;
       - **dedupe** decided in Python (an identity looked up, then inserted) cannot race another insert;
         the unique indexes on (account, ext_id / email_key / mobile) still refuse a duplicate, and an
         active opt-out record is written once per (contact, channel, reason);
       - **the maintained statistics are exact**: a unit reads the profile counts its contacts had
         before it changes them (StatsWrites) and settles the difference before commit; nothing may
         change those contacts in between.
    2. **Reads see committed data only**, as of one moment per unit.
    3. **Ids are never reused**, not even the id of an erased contact (EraseReads keeps the highest).
    4. **Background work is claimed**: an import job runs in the one process holding its claim
       (`Store.claim`), a webhook delivery is attempted by the one process holding its lease
       (`Store.claim_deliveries`); a process that dies loses both, and another takes the work up.
    5. **Caches outside the database** (a process's field registry, the API tokens it verified) are
       trusted only while their version (`Store.version`) is unchanged: the database raises it in the
       same transaction as any change (triggers), whichever process makes it. A backend may keep versions
       in the process while it is told of every change (PostgreSQL: LISTEN/NOTIFY, postgres/versions.py).

Rows are dicts keyed by column name at run time, typed by storage/rows.py (TypedDicts).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ._repositories import (
    ContactReads, ContactWrites, EraseReads, EraseWrites, EventReads, EventWrites, FieldReads, FieldWrites,
    ExportReads, ImportReads, ImportWrites, ListReads, ListWrites, OptoutReads, OptoutWrites, SegmentReads, SegmentWrites,
    StatsReads, StatsWrites,
)
from .rows import (
    COUNTERS, HAS_EMAIL, HAS_FIXED, HAS_MOBILE, HASHED, KEY_COLUMNS, REASON_SHIFT, UNCONFIRMED, AccountRow, TokenListRow,
    TokenRow,
)
from .columns import ExportColumn, neutralise
from .tree import All, Any_, Cond, Node, Not

T = TypeVar("T")

# Facts of the stored representation that core computes with (storage/rows.py): identity columns, the
# prefix of an erased (hashed) address, an import job's counters, the bits of a statistics profile.
__all__ = ["COUNTERS", "ExportColumn", "neutralise", "All", "Any_", "Cond", "Node", "Not", "Accounts", "Claim", "HASHED", "HAS_EMAIL", "HAS_FIXED", "HAS_MOBILE", "KEY_COLUMNS", "REASON_SHIFT",
           "UNCONFIRMED", "Reader", "Store", "Writer"]


class Reader(ContactReads, OptoutReads, ListReads, FieldReads, ImportReads, SegmentReads, EventReads, StatsReads,
             EraseReads, ExportReads, Protocol):
    """Read queries, bound to one account."""


class Writer(ContactWrites, OptoutWrites, ListWrites, FieldWrites, ImportWrites, SegmentWrites, EventWrites,
             StatsWrites, EraseWrites, Reader, Protocol):
    """Read and write queries inside one write transaction, bound to one account."""


class Accounts(Protocol):
    """Administration across accounts (the CLI's): accounts and API tokens, no account bound."""

    def create_account(self, name: str, now: str) -> int: ...
    def accounts(self) -> list[AccountRow]: ...
    def account_by_name(self, name: str) -> AccountRow | None: ...
    def insert_token(self, token_id: str, account_id: int, scope: str, secret_hash: str, now: str,
                     expires_at: str | None) -> None: ...
    def tokens(self, account_id: int | None) -> list[TokenListRow]: ...
    def token(self, token_id: str) -> TokenRow | None: ...
    def revoke_token(self, token_id: str, now: str) -> int: ...


class Claim(Protocol):
    """An exclusive claim on a piece of background work, held until released (or its process dies)."""

    async def held(self) -> bool:
        """Whether the claim still holds (a claim can be lost with its connection: a network cut, a server
        timeout); work must stop once it does not, since another process may take it up."""
        ...

    async def release(self) -> None: ...


class Store(Protocol):
    """An open database: units of work per account, the background tasks' cross-account polls, and
    administration (accounts, tokens) with no account bound."""

    path: Path

    def write(self, account_id: int, fn: Callable[[Writer], T], *, small: bool = False) -> Awaitable[T]:
        """Run `fn` in one write transaction (see the writer model). `small`: a few rows by key, which a
        backend may run without a thread hop."""
        ...

    def read(self, account_id: int, fn: Callable[[Reader], T]) -> Awaitable[T]:
        """Run `fn` against one consistent snapshot; it may run more than once."""
        ...

    def admin(self, fn: Callable[[Accounts], T], *, write: bool = True) -> Awaitable[T]:
        """Run an administration unit (accounts, tokens) with no account bound, in one transaction."""
        ...

    def token(self, token_id: str) -> TokenRow | None:
        """An API token's row, read at once (the verifier's per-request lookup)."""
        ...

    def version(self, name: str, account_id: int = 0) -> int:
        """The version of what a process may cache ('fields' of an account, 'tokens'), read at once. Every
        change raises it in its own transaction, whichever process makes it (rule 4 of the writer model)."""
        ...

    def claim(self, name: str) -> Awaitable[Claim | None]:
        """Claim the background work `name` (an import job) for this process, across every process on the
        database; None when another holds it. A process that dies releases its claims."""
        ...

    def pending_jobs(self) -> Awaitable[list[tuple[int, str]]]:
        """(account id, job id) of the import and export jobs to run, across accounts."""
        ...

    def stream(self, account_id: int, fn: Callable[[Reader], T]) -> Awaitable[T]:
        """Run `fn` once against one consistent snapshot, on a connection and a thread of its own, for as long
        as it takes: a long streaming read (an export) that must see one moment of the data while writes go
        on, without holding a connection other reads wait for. `fn` is never run twice: it may write a file."""
        ...

    def expired_exports(self, now: str) -> Awaitable[list[tuple[int, str, str]]]:
        """(account id, job id, file) of the export files whose time ran out before `now`, across accounts."""
        ...

    def claim_deliveries(self, now: str, until: str, limit: int) -> Awaitable[list[dict[str, Any]]]:
        """At most `limit` webhook deliveries due now, across accounts, each leased to this process until `until`: no other
        process attempts it meanwhile, and if this one dies mid-attempt it is attempted again after that."""
        ...

    def checkpoints(self, every: float = 1.0) -> Awaitable[None]:
        """Background upkeep for as long as the caller's task runs (SQLite: WAL checkpoints)."""
        ...

    def close(self) -> Awaitable[None]: ...
