"""The store: migrations, transactions that leave nothing half-written, accounts that cannot see each other."""

import sqlite3
import threading
import time

import anyio
import pytest

from contacts_mcp.core import contacts, lists
from contacts_mcp.core.errors import NotFound
from contacts_mcp.core.models import ContactInput
from contacts_mcp.core.scope import AppState
from contacts_mcp.storage.sqlite.migrations import LATEST
from contacts_mcp.storage.sqlite.store import Store


async def test_migrations_are_recorded_and_applied_once(tmp_path):
    path = tmp_path / "m.db"
    for _ in range(2):
        store = await Store.open(path)
        await store.close()
    with sqlite3.connect(path) as db:
        versions = [r[0] for r in db.execute("SELECT version FROM migrations")]
        assert versions == list(range(1, LATEST + 1))
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_failing_write_transaction_leaves_nothing_behind(state: AppState):
    scope = state.scope()

    def half_written(w):
        w.insert_list(name="half", description=None, folder_id=None, now="2026-01-01T00:00:00.000000Z")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await scope.write(half_written)
    assert await scope.read(lambda r: r.list_lists(folder_id=None, after_id=None, limit=10)) == []


async def test_a_failed_create_leaves_no_contact_even_after_writing_it(state: AppState):
    # The contact row is inserted before the unknown list is noticed; the whole call must roll back.
    scope = state.scope()
    with pytest.raises(NotFound):
        await contacts.create_contact(scope, ContactInput(email="a@example.com", list_ids=[5]))
    page = await contacts.get_contacts(scope, emails=["a@example.com"])
    assert page.contacts == []


async def second_account(state: AppState) -> int:
    # Accounts are created by an admin command in a later issue; here the row is made directly.
    with sqlite3.connect(state.store.path) as db:
        db.execute("INSERT INTO accounts (id, name, created_at) VALUES (2, 'other', '2026-01-01T00:00:00Z')")
    return 2


async def test_an_account_sees_none_of_another_accounts_contacts_or_lists(state: AppState):
    mine, theirs = state.scope(1), state.scope(await second_account(state))
    created = await contacts.create_contact(mine, ContactInput(email="a@example.com"))
    made = await lists.create_list(mine, "Mine", None, None)
    cid, lid = created.contact.id, made.list_.id
    assert (await contacts.get_contacts(theirs, ids=[cid])).not_found == [cid]
    assert (await contacts.get_contacts(theirs)).contacts == []
    assert (await lists.get_lists(theirs, ids=[lid], folder_id=None, properties=None, limit=10,
                                  cursor=None)).not_found == [lid]
    with pytest.raises(NotFound):
        await lists.change_members(theirs, lid, [cid], "add")
    assert (await contacts.set_deleted(theirs, [cid], restore=False)).not_found == [cid]
    # The same email is a different person in another account.
    other = await contacts.create_contact(theirs, ContactInput(email="a@example.com"))
    assert other.outcome == "created" and other.contact.id != cid


async def test_concurrent_creates_of_one_email_make_one_contact(state: AppState):
    scope = state.scope()
    outcomes = []

    async def create(i: int) -> None:
        result = await contacts.create_contact(scope, ContactInput(email="SAME@example.com", reference=str(i)))
        outcomes.append((result.outcome, result.contact.id))

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(create, i)
    assert len({cid for _, cid in outcomes}) == 1
    assert sorted(o for o, _ in outcomes).count("created") == 1


async def test_a_small_write_waits_off_the_event_loop_while_another_process_holds_the_write_lock(state: AppState):
    scope = state.scope()
    await contacts.create_contact(scope, ContactInput(email="first@example.com"))  # fields seeded: no other write
    other = sqlite3.connect(state.store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # e.g. `contacts-mcp token create` run beside the server
    done = anyio.Event()
    ticks = 0

    async def create() -> None:
        await contacts.create_contact(scope, ContactInput(email="held@example.com"))
        done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(create)
        for _ in range(10):  # the loop keeps turning while the create waits for the lock
            await anyio.sleep(0.01)
            ticks += 1
        assert not done.is_set()
        other.execute("COMMIT")
        with anyio.fail_after(10):
            await done.wait()
    other.close()
    assert ticks == 10
    assert (await contacts.get_contacts(scope, emails=["held@example.com"])).contacts


async def test_a_small_write_never_runs_inside_a_unit_the_writer_thread_is_running(state: AppState):
    scope = state.scope()
    await contacts.create_contact(scope, ContactInput(email="first@example.com"))  # fields seeded: no other write
    started, seen = threading.Event(), []

    def slow(w):
        w.insert_list(name="slow", description=None, folder_id=None, now="2026-01-01T00:00:00.000000Z")
        started.set()
        time.sleep(0.2)  # the transaction stays open on the writer thread meanwhile
        seen.append(len(w.contacts_by_key("email_key", ["after@example.com"])))
        return "slow"

    async def small() -> None:
        await anyio.to_thread.run_sync(started.wait)
        await contacts.create_contact(scope, ContactInput(email="after@example.com"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(scope.write, slow)
        tg.start_soon(small)
    assert seen == [0]  # the create did not slip into the slow unit's transaction
    assert (await contacts.get_contacts(scope, emails=["after@example.com"])).contacts


async def test_a_read_runs_once_whole_on_a_reader_thread_never_on_the_event_loop(state: AppState):
    scope = state.scope()
    await contacts.upsert_contacts(scope, [ContactInput(email=f"c{i}@example.com", last_name="Martin" if i % 7 else "Petit")
                                           for i in range(300)])
    runs: list[str] = []

    def search(r):  # a scan: nobody matches, so every row is read
        runs.append(threading.current_thread().name)
        return [row["id"] for row in r.list_contacts(
            list_id=None, segment_id=None, created_since=None, modified_since=None, search=["petit"],
            deleted="exclude", descending=False, after_id=None, limit=100)]

    found = await scope.read(search)
    assert len(found) == 43 and len(runs) == 1 and runs[0] != threading.main_thread().name

