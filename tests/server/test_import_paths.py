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
            assert (await call(client, "get_import_jobs", {}))["jobs"] == []
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
