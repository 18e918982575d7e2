"""What only the PostgreSQL backend has to do: share background work and write units between processes
(each Store here stands for one server process on the same database)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import psycopg
import pytest

from contacts_mcp.storage.postgres import Store

NOW = "2026-01-01T00:00:00.000000Z"


@pytest.fixture
async def stores(pg_url) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one database, as two server processes would open it."""
    a, b = await Store.open(pg_url), await Store.open(pg_url)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_a_job_claimed_by_one_process_is_refused_to_another_until_released(stores):
    a, b = stores
    held = await a.claim("import job J1")
    assert held is not None
    assert await b.claim("import job J1") is None
    other = await b.claim("import job J2")  # another job is free
    assert other is not None
    await held.release()
    again = await b.claim("import job J1")
    assert again is not None
    await again.release()
    await other.release()


async def test_a_claim_of_a_process_that_dies_is_released_to_another(pg_url, stores):
    a, b = stores
    held = await a.claim("import job J1")
    assert held is not None
    # The holder's connection dropped as a SIGKILLed process's would: the server ends the session.
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                      "AND pid <> pg_backend_pid()")
    with anyio.fail_after(5):
        while (taken := await b.claim("import job J1")) is None:
            await anyio.sleep(0.05)
    await taken.release()


async def test_write_units_of_one_account_from_two_processes_never_interleave(stores):
    # Each unit reads a counter and writes it back one higher; serialised, 2 x 20 units make 40.
    a, b = stores

    def bump(w):
        w.insert_list(name=f"list {w.count_lists(None)}", description=None, folder_id=None, now=NOW)

    async with anyio.create_task_group() as tg:
        for store in (a, b):
            for _ in range(20):
                tg.start_soon(store.write, 1, bump)
    names = await a.read(1, lambda r: [x["name"] for x in r.list_lists(folder_id=None, after_id=None, limit=100)])
    assert sorted(names) == sorted(f"list {i}" for i in range(40))  # no two units saw the same count


def test_servers_migrating_one_database_at_once_apply_each_step_once(pg_url):
    # `contacts-mcp migrate` from three processes together: the migrator's advisory lock makes them take turns.
    import subprocess
    import sys

    from contacts_mcp.storage.postgres.migrations import LATEST

    command = [sys.executable, "-m", "contacts_mcp.server.cli", "--db", pg_url, "migrate"]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert all("is up to date" in out for out, _ in outputs)
    with psycopg.connect(pg_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM migrations ORDER BY version")]
        accounts = conn.execute("SELECT name FROM accounts").fetchall()
    assert versions == list(range(1, LATEST + 1)) and accounts == [("local",)]


def test_a_percent_sign_in_a_statement_without_parameters_reaches_the_server_as_written(pg_url):
    # translate() doubles every % for psycopg's placeholders; psycopg only undoubles them when parameters are
    # given, so a parameterless statement reached the server with '%%' (LIKE 'a%' became LIKE 'a%%').
    from contacts_mcp.storage.postgres.connection import Connection, configure

    with psycopg.connect(pg_url, autocommit=True) as raw:
        configure(raw)
        conn = Connection(raw)
        assert conn.execute("SELECT 'a%', 'ab' LIKE 'a%'").fetchone() == ("a%", True)
        assert conn.execute("SELECT ?, 'ab' LIKE 'a%'", ["x"]).fetchone() == ("x", True)


async def test_a_process_keeps_cache_versions_until_notified_and_hears_another_processs_change_at_once(pg_url, stores):
    a, b = stores
    await a.admin(lambda w: w.insert_token("abcdefabcdef", 1, "read", "hash", NOW, None))
    with anyio.fail_after(5):
        while not b._versions._listening:  # the listening thread has connected
            await anyio.sleep(0.01)
    before = b.version("tokens")
    with psycopg.connect(pg_url, autocommit=True) as raw:
        # Raised behind the store's back (no NOTIFY): the kept version is served, no round trip made.
        raw.execute("UPDATE versions SET value = value + 100 WHERE name = 'tokens'")
        assert b.version("tokens") == before
        raw.execute("NOTIFY contacts_mcp_versions")
    with anyio.fail_after(2):
        while b.version("tokens") != before + 100:
            await anyio.sleep(0.005)
    # A revocation in another process: the trigger raises the version and announces it on commit.
    await a.admin(lambda w: w.revoke_token("abcdefabcdef", NOW))
    assert a.version("tokens") == before + 101  # the process that changed it: at once, read your writes
    with anyio.fail_after(2):
        while b.version("tokens") != before + 101:
            await anyio.sleep(0.005)


async def test_contact_ids_reserved_at_once_by_many_processes_and_accounts_are_blocks_nobody_shares(stores):
    a, b = stores
    await a.admin(lambda w: w.create_account("other", NOW))  # account 2: its units do not wait for account 1's
    blocks: list[range] = []

    async def reserve(store: Store, account: int) -> None:
        for _ in range(10):
            blocks.append(await store.write(account, lambda w: w.reserve_contact_ids(500)))

    async with anyio.create_task_group() as tg:
        for store in (a, b):
            for account in (1, 2):
                tg.start_soon(reserve, store, account)
    ids = [i for block in blocks for i in block]
    assert len(blocks) == 40 and all(len(block) == 500 for block in blocks)
    assert len(set(ids)) == len(ids) == 20_000  # contiguous blocks, none overlapping another
