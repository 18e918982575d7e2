"""What every core operation runs against: the store, the settings, and the caller's account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..storage.api import Reader, Store, Writer
from .settings import Settings

T = TypeVar("T")
SMALL_WRITE = 20  # contacts or ids a write may carry and still count as small (see Store.write)
LOCAL_ACCOUNT = 1  # the account stdio serves; HTTP callers are mapped to theirs by token


@dataclass(frozen=True)
class Scope:
    store: Store
    settings: Settings
    account_id: int = LOCAL_ACCOUNT
    # Per-process memo shared by every scope of the app (e.g. each account's field registry), keyed by
    # (what, account id). Writers of the underlying data drop their entry.
    cache: dict = field(default_factory=dict, compare=False)
    runner: Any = field(default=None, compare=False)  # the import job runner, when the app runs one
    sender: Any = field(default=None, compare=False)  # the webhook sender, likewise

    def wake_sender(self) -> None:
        """New deliveries are due: the sender need not wait for its next look."""
        if self.sender is not None:
            self.sender.wake()

    async def read(self, fn: Callable[[Reader], T]) -> T:
        """Run a read unit of work (a plain function of a Reader) on one snapshot (see Store.read: it may
        run twice, so it must not change anything outside its result)."""
        return await self.store.read(self.account_id, fn)

    async def write(self, fn: Callable[[Writer], T], *, small: bool = False) -> T:
        """Run a write unit of work (a plain function of a Writer) in one transaction; `small`: it
        changes a few rows found by key (one contact, one list), see Store.write."""
        return await self.store.write(self.account_id, fn, small=small)


@dataclass
class AppState:
    """What the server lifespan holds for every request: the open store, the settings, the job runner and
    the webhook sender (started by server/lifespan.py, the composition root)."""

    store: Store
    settings: Settings
    cache: dict = field(default_factory=dict)
    runner: Any = None
    sender: Any = None
    requires_token: bool = False  # HTTP: every call must come with an API token

    def scope(self, account_id: int = LOCAL_ACCOUNT) -> Scope:
        return Scope(self.store, self.settings, account_id, self.cache, self.runner, self.sender)
