"""The composition root's running parts: the store, and the background tasks that share it.

Core defines what they do (core/imports/runner.py, core/events.py); this is the one place that starts
them, for as long as a server (or a test) runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from ..core.events import WebhookSender
from ..core.imports.runner import JobRunner
from ..core.scope import AppState
from ..core.settings import Settings
from ..storage.api import Store


async def open_store(settings: Settings) -> Store:
    """The backend the settings name: PostgreSQL for a URL, else the SQLite file."""
    if settings.db_url is not None:
        from ..storage.postgres import Store as PostgresStore

        return await PostgresStore.open(settings.db_url)
    from ..storage.sqlite import Store as SQLiteStore

    return await SQLiteStore.open(settings.db_path)


@asynccontextmanager
async def running(settings: Settings, *, jobs: bool = True) -> AsyncIterator[AppState]:
    """The store opened (and migrated), with the WAL checkpointer, the import job runner and the webhook
    sender going (unless `jobs` is false), for as long as the block runs."""
    store = await open_store(settings)
    try:
        state = AppState(store=store, settings=settings)
        if not jobs:
            yield state
            return
        async with anyio.create_task_group() as tg:
            tg.start_soon(store.checkpoints)
            state.runner = JobRunner(state, tg)
            state.sender = WebhookSender(state, settings.webhook_first_delay)
            tg.start_soon(state.runner.run)
            tg.start_soon(state.sender.run)
            try:
                yield state
            finally:
                tg.cancel_scope.cancel()
    finally:
        await store.close()
