"""What every core operation runs against: the store, the settings, and the caller's account."""

from __future__ import annotations

from dataclasses import dataclass

from ..storage.store import Store
from .settings import Settings

LOCAL_ACCOUNT = 1  # the account stdio serves; HTTP callers are mapped to theirs by token


@dataclass(frozen=True)
class Scope:
    store: Store
    settings: Settings
    account_id: int = LOCAL_ACCOUNT

    def read(self):
        return self.store.read(self.account_id)

    def write(self):
        return self.store.write(self.account_id)


@dataclass(frozen=True)
class AppState:
    """What the server lifespan holds for every request: the open store and the settings."""

    store: Store
    settings: Settings

    def scope(self, account_id: int = LOCAL_ACCOUNT) -> Scope:
        return Scope(self.store, self.settings, account_id)
