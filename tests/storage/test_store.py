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
    # As the CLI's `account create` makes it.
    return await state.store.admin(lambda a: a.create_account("other", "2026-01-01T00:00:00.000000Z"))


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


@pytest.mark.sqlite_only  # the SQLite store's inline path
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


@pytest.mark.sqlite_only  # the SQLite store's inline path
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


@pytest.mark.sqlite_only  # the SQLite store's inline path
async def test_a_small_read_runs_on_the_event_loop_and_a_read_over_its_budget_runs_again_on_a_reader_thread(
        state: AppState, monkeypatch):
    from contacts_mcp.storage.sqlite import store

    scope = state.scope()
    await contacts.upsert_contacts(scope, [ContactInput(email=f"c{i}@example.com", last_name="Martin" if i % 7 else "Petit")
                                           for i in range(300)])
    runs: list[tuple[str, int]] = []

    def search(r):  # a scan: nobody matches, so every row is read
        rows = r.list_contacts(list_id=None, segment_id=None, created_since=None, modified_since=None,
                               search=["nobody"], deleted="exclude", descending=False, after_id=None, limit=10)
        runs.append((threading.current_thread().name, len(rows)))
        return [row["id"] for row in r.list_contacts(
            list_id=None, segment_id=None, created_since=None, modified_since=None, search=["petit"],
            deleted="exclude", descending=False, after_id=None, limit=100)]

    # A budget no scan of 300 rows can outgrow, even on a loaded machine: the first assertion is about where
    # a read within its budget runs, not about how fast this machine is.
    monkeypatch.setattr(store, "INLINE_READ_BUDGET", 5.0)
    expected = await scope.read(search)
    assert runs == [(threading.main_thread().name, 0)] and len(expected) == 43  # within the budget: one run
    runs.clear()
    monkeypatch.setattr(store, "INLINE_READ_BUDGET", 0.0)
    monkeypatch.setattr(store, "PROGRESS_STEPS", 1)
    assert await scope.read(search) == expected
    # Stopped on the loop in its first query, then run whole on a reader thread.
    assert len(runs) == 1 and runs[0][0] != threading.main_thread().name
    page = await contacts.get_contacts(scope, search="petit", limit=100, sort="asc")
    assert [c.id for c in page.contacts] == expected
    monkeypatch.setattr(store, "INLINE_READ_BUDGET", 5.0)  # the loop's connection was left clean by the
    monkeypatch.setattr(store, "PROGRESS_STEPS", 1000)     # stopped reads: it serves the next one
    runs.clear()
    assert await scope.read(search) == expected and runs == [(threading.main_thread().name, 0)]


def test_a_database_of_an_older_version_keeps_its_data_and_gets_its_statistics(tmp_path, monkeypatch):
    from contacts_mcp.storage.sqlite import migrations
    from contacts_mcp.storage.sqlite.stats import StatsReads

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
    migrations.migrate(conn)  # a database as version 2 left it, with a contact opted out, in a list
    conn.execute("INSERT INTO contacts (id, account_id, email, email_key, source, created_at, updated_at, "
                 "optout_mask) VALUES (1, 1, 'a@x.fr', 'a@x.fr', 'api', 't', 't', 1), "
                 "(2, 1, 'b@x.fr', 'b@x.fr', 'api', 't', 't', 0)")
    conn.execute("INSERT INTO optouts (account_id, contact_id, address, channel, reason, source, created_at) "
                 "VALUES (1, 1, 'a@x.fr', 'email', 'owner_blocked', 'api', 't')")
    conn.execute("INSERT INTO lists (id, account_id, name, created_at, updated_at) VALUES (1, 1, 'L', 't', 't')")
    conn.execute("INSERT INTO list_members (list_id, contact_id, account_id, added_at) VALUES (1, 1, 1, 't'), "
                 "(1, 2, 1, 't')")
    monkeypatch.undo()
    assert migrations.migrate(conn) == list(range(3, LATEST + 1))
    conn.row_factory = sqlite3.Row
    reader = StatsReads(conn, 1)
    assert +reader.group_profiles("list", [1])[1] == reader.recount_profiles("list", 1)
    assert sum(reader.group_profiles("base", [0])[0].values()) == 2
    assert conn.execute("SELECT optout_reasons FROM contacts WHERE id = 1").fetchall()[0][0] == 2
    assert conn.execute("SELECT COUNT(*) FROM list_members").fetchall()[0][0] == 2


def test_a_database_before_stored_folds_gets_them_for_every_contact(tmp_path, monkeypatch):
    from contacts_mcp.storage.sqlite import migrations

    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:15])
    migrations.migrate(conn)
    conn.execute("INSERT INTO contacts (id, account_id, email, email_key, city, company, source, created_at, "
                 "updated_at) VALUES (1, 1, 'a@x.fr', 'a@x.fr', 'Béziers', 'ACME', 'api', 't', 't')")
    monkeypatch.undo()
    migrations.migrate(conn)
    assert conn.execute("SELECT city_folded, company_folded, postal_code_folded FROM contacts").fetchall() == [
        ("beziers", "acme", None)]


async def test_the_stored_folds_follow_city_company_and_postal_code_through_every_write(state: AppState, backend):
    """Filters read the folded columns (migration 016): whatever writes a contact, they must equal the fold."""
    if backend == "postgres":
        pytest.skip("PostgreSQL indexes contacts_fold(column) itself: no stored column to keep")
    from contacts_mcp.storage.tree import fold

    scope = state.scope()
    made = await contacts.upsert_contacts(scope, [ContactInput(email="a@x.fr", city="Saint-Étienne", company="Ça Va"),
                                                  ContactInput(email="b@x.fr", postal_code="75001")])
    assert made.created == 2
    made = await contacts.upsert_contacts(scope, [ContactInput(email="a@x.fr", city="NÎMES", company="Zoë"),
                                                  ContactInput(email="b@x.fr", city="Orléans")])
    assert made.updated == 2

    def import_lines(w):  # an import's new contacts, inserted as read
        names = ("email", "email_key", "city", "postal_code")
        ids = w.reserve_contact_ids(2)
        w.insert_wire_rows(names, ids, [("d@x.fr", "d@x.fr", "Besançon", "2B100", None),
                                        ("e@x.fr", "e@x.fr", None, "75001", None)],
                           source="import:j", now="t", last_import="j")

    await scope.write(import_lines)
    with sqlite3.connect(state.store.path) as db:
        # An update that forgets them (none of ours does): the trigger puts them right. Any connection that
        # writes contacts has the server's contacts_fold() (as since migration 014).
        db.create_function("contacts_fold", 1, fold, deterministic=True)
        db.execute("UPDATE contacts SET company = 'Élan' WHERE email_key = 'b@x.fr'")
        rows = db.execute("SELECT city, company, postal_code, city_folded, company_folded, postal_code_folded "
                          "FROM contacts ORDER BY id").fetchall()
    assert len(rows) == 4 and rows[0][3] == "nimes" and rows[1][4] == "elan"
    for city, company, postal_code, *folded in rows:
        assert folded == [fold(city), fold(company), fold(postal_code)]
