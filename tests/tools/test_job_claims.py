"""Import jobs shared by server processes on one PostgreSQL database: a process that loses its claim on a job
stops, and the process that claims it next finishes it from the last batch committed."""

from __future__ import annotations

import anyio
import psycopg
from mcp import Client

from contacts_mcp.core.settings import Settings
from contacts_mcp.server.app import build_server
from contacts_mcp.storage.postgres.store import CLAIM_LOCK
from tests.conftest import call

LINES = 60_000


async def _job(client: Client, job_id: str) -> dict:
    return (await call(client, "get_jobs", {"job_id": job_id}))["jobs"][0]


async def test_a_process_that_loses_its_claim_stops_and_another_finishes_the_job_once(pg_url, tmp_path):
    # PostgreSQL only: with SQLite, one process holds every claim it takes.
    settings = Settings(db_path=tmp_path / "unused.db", db_url=pg_url, files_dir=tmp_path / "files")
    csv_text = "email\n" + "".join(f"user{i}@example.com\n" for i in range(LINES))
    async with Client(build_server(settings)) as a:
        job = await call(a, "import_file", {"csv_text": csv_text})
        with anyio.fail_after(30):
            while (got := await _job(a, job["id"]))["lines_read"] == 0:
                await anyio.sleep(0.02)
        assert got["status"] == "running" and got["lines_read"] < LINES, got
        async with Client(build_server(settings)) as b:
            # A's claim connection drops (a network cut, a server timeout): A must stop at its next batch.
            with psycopg.connect(settings.db_url, autocommit=True) as admin:
                ended = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                                      "AND classid = %s", [CLAIM_LOCK]).fetchall()
            assert ended == [(True,)]
            with anyio.fail_after(60):
                while (done := await _job(b, job["id"]))["status"] == "running":
                    await anyio.sleep(0.1)
    assert done["status"] == "completed" and done["lines_read"] == LINES, done
    assert done["created"] == LINES and done["duplicates"] == done["unchanged"] == 0, done
