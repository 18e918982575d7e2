"""API tokens over HTTP: 401s, scopes, revocation, rate limit, access log, and account isolation on every
tool; read-only stdio."""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3

import httpx
import pytest

from contacts_mcp.server.app import build_server

from ..conftest import call, fails
from .test_http import cli, connect, new_token, start_server

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
PING = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'


@pytest.fixture
def served(tmp_path):
    """A server over a database with two accounts, a and b, and their write tokens."""
    db = tmp_path / "auth.db"
    cli(db, "account", "create", "a")
    cli(db, "account", "create", "b")
    tokens = {"a": new_token(db, "a"), "b": new_token(db, "b")}
    port, proc = start_server(db, "--rate-limit", "1000")
    yield port, db, tokens, proc
    proc.terminate()
    proc.wait(timeout=10)


def _post(port: int, token: str | None) -> httpx.Response:
    headers = {**MCP_HEADERS, **({"Authorization": f"Bearer {token}"} if token else {})}
    return httpx.post(f"http://127.0.0.1:{port}/mcp", headers=headers, content=PING)


def test_a_missing_unknown_malformed_or_expired_token_gets_401_with_www_authenticate(served):
    port, db, tokens, _ = served
    expired = new_token(db, "a", "read", "--expires", "1")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE id = ?",
                 [expired.split("_")[1]])
    conn.commit()
    conn.close()
    wrong_secret = tokens["a"][:-4] + "AAAA"
    for token in (None, "cmcp_abcdefghijkl_" + "x" * 43, "not-a-token", expired, wrong_secret):
        response = _post(port, token)
        assert response.status_code == 401, token
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert _post(port, tokens["a"]).status_code != 401


async def test_a_revoked_token_is_refused_at_its_next_request(served):
    port, db, tokens, _ = served
    token = new_token(db, "a")
    async with connect(port, token) as client:
        await call(client, "get_stats")
        cli(db, "token", "revoke", token.split("_")[1])
        with pytest.raises(Exception):  # noqa: B017 - the transport reports the 401 its own way
            await client.call_tool("get_stats", {})
    assert _post(port, token).status_code == 401
    assert "revoked" in cli(db, "token", "list", "--account", "a")


async def test_a_read_token_reads_but_cannot_write(served):
    port, db, tokens, _ = served
    async with connect(port, tokens["a"]) as writer:
        cid = (await call(writer, "create_contact", {"contact": {"email": "r@example.com"}}))["contact"]["id"]
    async with connect(port, new_token(db, "a", "read")) as reader:
        text = await fails(reader, "create_contact", {"contact": {"email": "x@example.com"}})
        assert "scope write" in text and "scope read" in text
        assert "scope write" in await fails(reader, "optout_contact", {"contact_ids": [cid], "reason": "complaint"})
        assert (await call(reader, "get_contacts", {"contact_ids": [cid]}))["contacts"][0]["email"] == "r@example.com"
        got = await reader.read_resource(f"contacts://contacts/{cid}")
        assert json.loads(got.contents[0].text)["id"] == cid


def _same_but_ids(a: str, b: str) -> bool:
    """Equal once the ids each names (numbers, quoted values) are blanked out."""
    def blank(text: str) -> str:
        return re.sub(r"\d+", "N", re.sub(r"'[^']*'|\"[^\"]*\"", "'S'", text))

    return blank(a) == blank(b)


async def test_another_accounts_ids_behave_exactly_like_unknown_ids_on_every_tool(served):
    port, _, tokens, _ = served
    async with connect(port, tokens["a"]) as a:
        lst = (await call(a, "manage_lists", {"action": "create", "name": "A list"}))["list"]["id"]
        cid = (await call(a, "create_contact", {"contact": {"email": "secret@a.example", "ext_id": "A1",
                                                            "list_ids": [lst]}}))["contact"]["id"]
        folder = (await call(a, "manage_folders", {"action": "create", "name": "A folder"}))["folder"]["id"]
        seg = (await call(a, "manage_segments", {"action": "create", "name": "A seg"}))["segment"]["id"]
        await call(a, "manage_fields", {"action": "create", "name": "a_only", "type": "text"})
        job = await call(a, "import_file", {"csv_text": "email\nimp@a.example\n", "wait_seconds": 10})
        sub = await call(a, "subscribe_contact", {"contact": {"email": "sub@a.example"}})
        await call(a, "optout_contact", {"contact_ids": [cid], "reason": "complaint"})
    unknown = 987654
    # (tool, arguments with a's id, the same with an id no account has)
    probes = [
        ("get_contacts", {"contact_ids": [cid]}, {"contact_ids": [unknown]}),
        ("get_contacts", {"list_id": lst}, {"list_id": unknown}),
        ("get_contacts", {"segment_id": seg}, {"segment_id": unknown}),
        ("create_contact", {"contact_id": cid, "contact": {"first_name": "X"}}, {"contact_id": unknown, "contact": {"first_name": "X"}}),
        ("delete_contacts", {"contact_ids": [cid]}, {"contact_ids": [unknown]}),
        ("delete_contacts", {"contact_ids": [cid], "action": "erase"}, {"contact_ids": [unknown], "action": "erase"}),
        ("delete_contacts", {"contact_ids": [cid], "action": "erase", "confirm": "erase 1 contact", "reason": "test"},
         {"contact_ids": [unknown], "action": "erase", "confirm": "erase 1 contact", "reason": "test"}),
        ("manage_lists", {"action": "update", "list_id": lst, "name": "Z"}, {"action": "update", "list_id": unknown,
                                                                             "name": "Z"}),
        ("manage_lists", {"action": "delete", "list_ids": [lst]}, {"action": "delete", "list_ids": [unknown]}),
        ("get_lists", {"list_ids": [lst]}, {"list_ids": [unknown]}),
        ("update_list_members", {"list_id": lst, "action": "add", "contact_ids": [cid]},
         {"list_id": unknown, "action": "add", "contact_ids": [unknown]}),
        ("merge_lists", {"list_ids": [lst, lst + 1000], "name": "M"}, {"list_ids": [unknown, unknown + 1000], "name": "M"}),
        ("manage_folders", {"action": "rename", "folder_id": folder, "name": "F"},
         {"action": "rename", "folder_id": unknown, "name": "F"}),
        ("get_folders", {"folder_ids": [folder]}, {"folder_ids": [unknown]}),
        ("manage_segments", {"action": "update", "segment_id": seg, "name": "S"},
         {"action": "update", "segment_id": unknown, "name": "S"}),
        ("get_segments", {"segment_ids": [seg]}, {"segment_ids": [unknown]}),
        ("attach_to_segment", {"segment_id": seg, "contact_ids": [cid]}, {"segment_id": unknown, "contact_ids": [cid]}),
        ("detach_from_segment", {"segment_id": seg, "contact_ids": [cid]}, {"segment_id": unknown, "contact_ids": [cid]}),
        ("get_jobs", {"job_id": job["id"]}, {"job_id": "imp_" + "0" * 22}),
        ("cancel_job", {"job_id": job["id"]}, {"job_id": "imp_" + "0" * 22}),
        ("optout_contact", {"contact_ids": [cid], "reason": "complaint"}, {"contact_ids": [unknown], "reason": "complaint"}),
        ("restore_optout", {"contact_ids": [cid], "reason": "test"}, {"contact_ids": [unknown], "reason": "test"}),
        ("get_optouts", {"contact_id": cid}, {"contact_id": unknown}),
        ("get_optouts", {"list_id": lst}, {"list_id": unknown}),
        ("get_stats", {"list_ids": [lst]}, {"list_ids": [unknown]}),
        ("get_stats", {"segment_ids": [seg]}, {"segment_ids": [unknown]}),
        ("get_fields", {"names": ["a_only"]}, {"names": ["never_made"]}),
        ("confirm_subscription", {"token": sub["token"]}, {"token": "x" * 43}),
        ("get_events", {"contact_id": sub["contact"]["id"]}, {"contact_id": unknown}),
        ("manage_webhooks", {"action": "delete", "webhook_id": 1}, {"action": "delete", "webhook_id": unknown}),
    ]
    async with connect(port, tokens["b"]) as b:
        for name, theirs, nobodys in probes:
            got_theirs = await b.call_tool(name, theirs)
            got_nobodys = await b.call_tool(name, nobodys)
            assert got_theirs.is_error == got_nobodys.is_error, name
            text_theirs, text_nobodys = got_theirs.content[0].text, got_nobodys.content[0].text
            assert _same_but_ids(text_theirs, text_nobodys), (name, text_theirs, text_nobodys)
            assert "secret@a.example" not in text_theirs
        # b's own views show nothing of a's.
        assert (await call(b, "get_contacts", {"emails": ["secret@a.example"]}))["contacts"] == []
        assert (await call(b, "get_stats"))["stats"]["subscribers"] == 0
        assert (await call(b, "get_lists"))["lists"] == [] and (await call(b, "get_jobs"))["jobs"] == []
        assert (await call(b, "get_optouts"))["optouts"] == [] and (await call(b, "get_events"))["events"] == []
        assert [f["name"] for f in (await call(b, "get_fields", {"limit": 200}))["fields"]].count("a_only") == 0
        # The same email in b is a new contact of b's, not a's contact.
        mine = await call(b, "create_contact", {"contact": {"email": "secret@a.example"}})
        assert mine["outcome"] == "created" and mine["contact"]["id"] != cid and not mine["contact"].get("opted_out")
        for uri in (f"contacts://contacts/{cid}", f"contacts://lists/{lst}", f"contacts://imports/{job['id']}",
                    f"contacts://stats/{lst}/chart.png"):
            with pytest.raises(Exception):  # noqa: B017 - not found, like an unknown id
                await b.read_resource(uri)
    async with connect(port, tokens["a"]) as a:  # and nothing b tried changed a's data
        mine = (await call(a, "get_contacts", {"contact_ids": [cid]}))["contacts"][0]
        assert mine.get("first_name") is None and mine["list_ids"] == [lst] and mine["opted_out"]


def test_a_token_over_its_rate_gets_429_with_retry_after(tmp_path):
    db = tmp_path / "rate.db"
    cli(db, "account", "list")
    token = new_token(db)
    port, proc = start_server(db, "--rate-limit", "1")
    try:
        statuses = [_post(port, token) for _ in range(30)]
        limited = [r for r in statuses if r.status_code == 429]
        assert limited and int(limited[0].headers["retry-after"]) >= 1
        assert statuses[0].status_code != 429
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    log = proc.stderr.read()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert 429 in {line["status"] for line in lines} and len({line["status"] for line in lines}) > 1
    assert all(line["token"] == token.split("_")[1] for line in lines)
    assert token.split("_", 2)[2] not in log  # never the secret


async def test_read_only_mode_lists_only_tools_that_do_not_write(settings):
    from mcp import Client

    async with Client(build_server(dataclasses.replace(settings, read_only=True))) as client:
        tools = (await client.list_tools()).tools
    assert tools and all(t.annotations.read_only_hint for t in tools)
    assert {"get_contacts", "get_stats"} <= {t.name for t in tools} and "create_contact" not in {t.name for t in tools}


def test_read_only_given_before_or_after_serve_is_kept():
    from contacts_mcp.server.cli import _parser

    for argv in (["--read-only", "serve"], ["serve", "--read-only"], ["--read-only", "serve", "--http"]):
        assert _parser().parse_args(argv).read_only is True, argv
    assert _parser().parse_args(["serve"]).read_only is False
