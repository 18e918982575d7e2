"""The installed `contacts-mcp` command, launched as a subprocess and driven over stdio by the SDK client."""

import os
import sys
from pathlib import Path

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from ..conftest import call

COMMAND = str(Path(sys.executable).parent / "contacts-mcp")


def params(db: Path) -> StdioServerParameters:
    return StdioServerParameters(command=COMMAND, args=[], env=dict(os.environ, CONTACTS_MCP_DB=str(db)))


async def test_over_stdio_the_same_email_in_another_case_gives_one_updated_contact(tmp_path):
    async with Client(params(tmp_path / "stdio.db"), read_timeout_seconds=30) as client:
        assert "contacts-mcp" in (client.instructions or "")
        first = await call(client, "create_contact", {"contact": {"email": "Zoe@Example.com", "first_name": "Zoe"}})
        second = await call(client, "create_contact", {"contact": {"email": "zoe@EXAMPLE.com", "city": "Lille"}})
        assert (first["outcome"], second["outcome"]) == ("created", "updated")
        assert second["contact"]["id"] == first["contact"]["id"]
        assert second["contact"]["first_name"] == "Zoe" and second["contact"]["city"] == "Lille"


async def test_over_stdio_250_contacts_page_through_with_a_cursor(tmp_path):
    async with Client(params(tmp_path / "stdio.db"), read_timeout_seconds=30) as client:
        await call(client, "upsert_contacts", {"contacts": [{"email": f"u{i}@example.com"} for i in range(250)]})
        seen, cursor, pages = [], None, 0
        while True:
            page = await call(client, "get_contacts", {"limit": 100} | ({"cursor": cursor} if cursor else {}))
            seen += [c["email"] for c in page["contacts"]]
            pages += 1
            if not (cursor := page.get("next_cursor")):
                break
        assert pages == 3
        assert sorted(seen) == sorted(f"u{i}@example.com" for i in range(250))


async def test_data_survives_a_restart_of_the_server(tmp_path):
    db = tmp_path / "kept.db"
    async with Client(params(db), read_timeout_seconds=30) as client:
        await call(client, "create_contact", {"contact": {"email": "kept@example.com"}})
    async with Client(params(db), read_timeout_seconds=30) as client:
        got = await call(client, "get_contacts", {"emails": ["kept@example.com"]})
        assert len(got["contacts"]) == 1


async def test_started_read_only_the_server_offers_no_tool_that_writes(tmp_path):
    server = StdioServerParameters(command=COMMAND, args=["--read-only"],
                                   env=dict(os.environ, CONTACTS_MCP_DB=str(tmp_path / "ro.db")))
    async with Client(server, read_timeout_seconds=30) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "get_contacts" in names and "create_contact" not in names and "import_file" not in names
        assert (await client.call_tool("create_contact", {"contact": {"email": "x@example.com"}})).is_error


def test_over_stdio_a_70_mb_line_is_refused_and_the_server_keeps_serving(tmp_path):
    # The attack: one JSON-RPC line of 70 MB. It used to kill the stdin reader and leave the process deaf.
    import json
    import subprocess

    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"},
            "io.modelcontextprotocol/clientCapabilities": {}}
    proc = subprocess.Popen([COMMAND], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, CONTACTS_MCP_DB=str(tmp_path / "big.db")))

    def send(line: bytes) -> None:
        proc.stdin.write(line + b"\n")
        proc.stdin.flush()

    def request(i: int, method: str, params: dict) -> bytes:
        return json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": {**params, "_meta": meta}}).encode()

    def answer() -> dict:
        import select

        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the server did not answer within 60 s"
        return json.loads(proc.stdout.readline())

    try:
        huge = request(7, "tools/call", {"name": "create_contact", "arguments": {"contact": {
            "email": "a@example.com", "first_name": "x" * 70_000_000}}})
        send(huge)
        got = answer()
        assert got["id"] == 7 and "longer than" in got["error"]["message"]
        send(request(8, "tools/call", {"name": "create_contact", "arguments": {"contact": {"email": "b@example.com"}}}))
        got = answer()
        assert got["id"] == 8 and got["result"]["structuredContent"]["outcome"] == "created"
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_the_refusal_of_an_over_long_line_carries_the_requests_own_id():
    from contacts_mcp.server.stdio import _request_id

    assert _request_id(b'{"jsonrpc":"2.0","method":"tools/call","params":{"arguments":{"x":{"id":999},"y":"') is None
    assert _request_id(b'{"params":{"arguments":{"id":999}},"id":7,"jsonrpc":"2.0"') == 7
    assert _request_id(b'{"jsonrpc":"2.0","id":"a\\"b","method":') == 'a"b'
