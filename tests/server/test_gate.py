"""The HTTP gate: scope before arguments, bodies capped by what the call may legally carry, rate limits on
verified identities only, and a token's tools/list limited to what its scope may call."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from contacts_mcp.server.app import build_server

from ..conftest import call, fails
from .test_http import cli, connect, new_token, start_server

PROTOCOL = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": PROTOCOL,
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}}


@pytest.fixture
def served(tmp_path):
    db = tmp_path / "gate.db"
    cli(db, "account", "create", "a")
    tokens = {scope: new_token(db, "a", scope) for scope in ("read", "write")}
    port, proc = start_server(db, "--rate-limit", "50")
    yield port, db, tokens, proc
    proc.terminate()
    proc.wait(timeout=10)


def post(port: int, token: str | None, method: str, params: dict, name: str | None = None,
         body: bytes | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": PROTOCOL, "Mcp-Method": method}
    if name:
        headers["Mcp-Name"] = name
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is None:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": META}}).encode()
    return httpx.post(f"http://127.0.0.1:{port}/mcp", headers=headers, content=body, timeout=60)


def peak_rss_mb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmHWM")


def huge_upsert(n: int = 100_000) -> bytes:
    contacts = [{"email": f"user{i}@example.com", "first_name": "A" * 100, "last_name": "B" * 100} for i in range(n)]
    return json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "upsert_contacts", "arguments": {"contacts": contacts}, "_meta": META}}).encode()


def test_a_huge_request_is_refused_unread_while_other_callers_are_served(served):
    # The attack: a 26 MB upsert_contacts, from a read token and from a write token, while another caller
    # pings. Both are refused before the body is read: no memory spent, no wait for the ping.
    port, _, tokens, proc = served
    body = huge_upsert()
    assert len(body) > 25_000_000
    before = peak_rss_mb(proc.pid)
    worst, statuses, stop = [0.0], set(), threading.Event()

    def ping() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            statuses.add(post(port, tokens["write"], "tools/list", {}).status_code)
            worst[0] = max(worst[0], time.perf_counter() - start)
            time.sleep(0.02)

    pinger = threading.Thread(target=ping)
    pinger.start()
    try:
        for scope in ("read", "write"):
            response = post(port, tokens[scope], "tools/call", {}, name="upsert_contacts", body=body)
            assert response.status_code == 413, response.text
            assert "MB" in response.json()["error_description"]
        # A client that does not name the tool (no Mcp-Name) gets its scope's cap.
        assert post(port, tokens["read"], "tools/call", {}, body=body).status_code == 413
    finally:
        stop.set()
        pinger.join()
    assert peak_rss_mb(proc.pid) - before < 50
    assert statuses == {200} and worst[0] < 0.5


def test_a_read_token_is_refused_before_its_arguments_are_validated(served):
    # 5,000 contacts (over upsert's 3,000) in a body under the read cap: the answer is about the scope, so
    # nothing was parsed into contacts first.
    port, _, tokens, _ = served
    args = {"contacts": [{"email": f"u{i}@example.com"} for i in range(5000)]}
    response = post(port, tokens["read"], "tools/call", {"name": "upsert_contacts", "arguments": args},
                    name="upsert_contacts")
    result = response.json()["result"]
    assert result["isError"] and "needs a token with scope write" in result["content"][0]["text"]


async def test_a_read_token_lists_only_the_tools_it_may_call(served, settings):
    port, _, tokens, _ = served
    async with connect(port, tokens["read"]) as reader:
        names = {t.name for t in (await reader.list_tools()).tools}
    async with connect(port, tokens["write"]) as writer:
        everything = {t.name for t in (await writer.list_tools()).tools}
    from dataclasses import replace

    from mcp import Client

    async with Client(build_server(replace(settings, read_only=True))) as stdio_read_only:
        read_only = {t.name for t in (await stdio_read_only.list_tools()).tools}
    assert names == read_only and "get_contacts" in names and "create_contact" not in names
    assert len(everything) == 30 and names < everything


def test_wrong_secrets_for_a_known_token_id_do_not_lock_its_owner_out(served):
    # The attack: the token's public id (from the access log or `token list`) with made-up secrets.
    port, _, tokens, _ = served
    victim = tokens["write"]
    forged = victim.rsplit("_", 1)[0] + "_" + "A" * 43
    statuses = [post(port, forged, "tools/list", {}).status_code for _ in range(150)]
    assert set(statuses) <= {401, 429} and 429 in statuses  # the forger is slowed down...
    assert post(port, victim, "tools/list", {}).status_code == 200  # ...the owner is not


def test_made_up_token_ids_are_rate_limited_per_address(served):
    port, _, _, _ = served
    statuses = [post(port, f"cmcp_{i:012d}_{'x' * 43}", "tools/list", {}).status_code for i in range(100)]
    assert statuses.count(429) >= 50 and "retry-after" in post(port, "cmcp_zzzzzzzzzzzz_" + "x" * 43,
                                                                  "tools/list", {}).headers


def test_two_authorization_headers_are_refused_not_judged_differently_by_each_layer(served):
    # The attack: the read token first (what the SDK uses), junk last (what a dict of headers keeps), so
    # the gate saw a failed authentication and applied neither the read cap nor the token's rate limit.
    port, _, tokens, _ = served
    headers = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"),
               ("MCP-Protocol-Version", PROTOCOL), ("Mcp-Method", "tools/list"),
               ("Authorization", f"Bearer {tokens['read']}"), ("Authorization", "Bearer junk")]
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": META}}).encode()
    response = httpx.post(f"http://127.0.0.1:{port}/mcp", headers=headers, content=body + b" " * 3_000_000)
    assert response.status_code == 400 and "one Authorization header" in response.text


def test_a_big_body_must_be_a_megabyte_tool_named_truthfully_with_no_more_objects_than_it_can_use(served):
    port, _, tokens, proc = served
    before = peak_rss_mb(proc.pid)
    junk = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "get_lists", "arguments": {"junk": [{}] * 1_500_000}, "_meta": META}}
    body = json.dumps(junk).encode()
    for name in (None, "import_file"):  # no Mcp-Name, or one that lies about the body
        response = post(port, tokens["write"], "tools/call", {}, name=name, body=body)
        assert response.status_code == 413 and "only for import_file and upsert_contacts" in response.text
    # Named truthfully, but 1.5 million objects where a call can use 250,000 (each costs ~30x its bytes).
    bomb = {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
            "params": {"name": "import_file", "arguments": {"json_rows": [{}] * 1_500_000}, "_meta": META}}
    response = post(port, tokens["write"], "tools/call", {}, name="import_file", body=json.dumps(bomb).encode())
    assert response.status_code == 413 and "JSON objects and arrays" in response.text
    assert peak_rss_mb(proc.pid) - before < 50
