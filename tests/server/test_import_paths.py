"""Which server files an import may read: client roots count only where the client shares our disk."""

from __future__ import annotations

import httpx2
import mcp.types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from contacts_mcp.server.app import build_server

from ..conftest import call, fails
from .test_http import new_token, start_server


def _roots(folder: str):
    async def list_roots(context) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=folder)])

    return list_roots


async def test_an_http_client_declaring_the_whole_disk_as_its_root_cannot_import_server_files(tmp_path):
    # The attack: a write token's client declares roots file:/// and imports /etc/passwd without a header,
    # hoping to read it back line by line from the job's error report.
    db = tmp_path / "h.db"
    token = new_token(db)
    port, proc = start_server(db)
    try:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
        transport = streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)
        async with Client(transport, list_roots_callback=_roots("file:///"),
                          mode="legacy") as client:  # the handshake that lets a server ask for roots
            text = await fails(client, "import_file", {"path": "/etc/passwd", "has_header": False})
            assert "CONTACTS_MCP_IMPORT_ROOTS" in text
            assert (await call(client, "get_jobs", {}))["jobs"] == []
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_a_local_client_may_import_from_the_roots_it_declares(settings, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "people.csv").write_text("email\nroot@example.com\n")
    async with Client(build_server(settings), list_roots_callback=_roots(folder.as_uri()),
                      mode="legacy") as client:
        job = await call(client, "import_file", {"path": str(folder / "people.csv"), "wait_seconds": 30})
        assert job["created"] == 1
        assert "outside" in await fails(client, "import_file", {"path": "/etc/passwd"})


async def test_a_file_swapped_for_a_symlink_after_the_call_is_never_read(state, tmp_path):
    # The attack: queue an import of a harmless file inside the root, then swap it for a symlink to a file
    # outside before the job opens it. The job must read what was checked, never the secret.
    import anyio

    from contacts_mcp.core import jobs as all_jobs
    from contacts_mcp.core.imports import jobs
    from contacts_mcp.core.imports.sources import Source

    inside = tmp_path / "in"
    inside.mkdir()
    (tmp_path / "secret.csv").write_text("email\nsecret@example.com\nleak@example.com\n")
    victim = inside / "ok.csv"
    victim.write_text("email\nok@example.com\n")
    scope = state.scope()
    scope = type(scope)(scope.store, scope.settings, scope.account_id, scope.cache, None)  # job stays queued
    job = await jobs.create_import(scope, Source(path=str(victim)), jobs.ImportOptions(), new_list_name=None,
                                   new_list_folder_id=None, notify_url=None, client_roots=[inside.resolve()])
    victim.unlink()
    victim.symlink_to(tmp_path / "secret.csv")
    state.runner.wake()
    with anyio.fail_after(20):
        while (done := await all_jobs.get_job(state.scope(), job.id)).status not in ("completed", "failed"):
            await anyio.sleep(0.05)
    assert (done.status, done.created, done.lines_read) == ("completed", 1, 1)
    assert not list(state.settings.jobs_dir.iterdir())  # the job's private copy is gone, the caller's file stays
    assert (tmp_path / "secret.csv").exists()


def test_the_file_opened_is_checked_even_when_the_path_was_checked_first(tmp_path):
    # A symlink planted where the checked file was, between the check and the open, is refused by O_NOFOLLOW.
    import pytest

    from contacts_mcp.core.errors import InvalidInput
    from contacts_mcp.core.imports import sources

    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.csv").write_text("email\nsecret@example.com\n")
    victim = root / "a.csv"
    victim.write_text("email\na@example.com\n")
    checked = sources.check_path

    def check_then_swap(raw, roots, max_bytes):
        path = checked(raw, roots, max_bytes)
        victim.unlink()
        victim.symlink_to(tmp_path / "secret.csv")
        return path

    sources.check_path = check_then_swap
    try:
        with pytest.raises(InvalidInput, match="changed while it was being opened"):
            sources.copy_inside_roots(str(victim), [root.resolve()], 1 << 20, tmp_path / "copy.csv")
    finally:
        sources.check_path = checked
    assert not (tmp_path / "copy.csv").exists()
