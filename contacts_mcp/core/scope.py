"""What every core operation runs against: the store, the settings, and the caller's account."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from ..storage.store import Reader, Store, Writer
from .settings import Settings

T = TypeVar("T")
LOCAL_ACCOUNT = 1  # the account stdio serves; HTTP callers are mapped to theirs by token


@dataclass(frozen=True)
class Scope:
    store: Store
    settings: Settings
    account_id: int = LOCAL_ACCOUNT

    async def read(self, fn: Callable[[Reader], T]) -> T:
        """Run a read unit of work (a plain function of a Reader) on one snapshot."""
        return await self.store.read(self.account_id, fn)

    async def write(self, fn: Callable[[Writer], T]) -> T:
        """Run a write unit of work (a plain function of a Writer) in one transaction."""
        return await self.store.write(self.account_id, fn)


@dataclass(frozen=True)
class AppState:
    """What the server lifespan holds for every request: the open store and the settings."""

    store: Store
    settings: Settings

    def scope(self, account_id: int = LOCAL_ACCOUNT) -> Scope:
        return Scope(self.store, self.settings, account_id)

    @classmethod
    @asynccontextmanager
    async def running(cls, settings: Settings) -> AsyncIterator[AppState]:
        """The store opened (and migrated) for as long as the block runs."""
        store = await Store.open(settings.db_path)
        try:
            yield cls(store=store, settings=settings)
        finally:
            await store.close()
