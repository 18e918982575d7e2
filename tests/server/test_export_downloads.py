"""An export's download URL over real HTTP: the file with its name for the holder of the signed link, and
nothing for a tampered, foreign, expired or missing one; another account never sees the job."""

from __future__ import annotations

import sqlite3
from urllib.parse import parse_qs, urlparse

import httpx

from contacts_mcp.core.exports.delivery import link

from ..conftest import call, fails
from .test_auth import served  # noqa: F401 - the fixture: a server with accounts a and b
from .test_http import connect


async def _export(port: int, token: str, **args) -> dict:
    async with connect(port, token) as client:
        await call(client, "upsert_contacts", {"contacts": [{"email": "ann@example.com", "first_name": "=1+1"}]})
        job = await call(client, "export_contacts", {"wait_seconds": 30, "columns": ["email", "first_name"], **args})
    assert job["status"] == "completed" and "file" not in job  # a remote client gets no server path
    return job


def _key(db) -> bytes:
    import hashlib
    import hmac

    conn = sqlite3.connect(db)
    [(secret,)] = conn.execute("SELECT value FROM server_secrets WHERE name = 'address_hmac'").fetchall()
    conn.close()
    return hmac.new(bytes.fromhex(secret), b"contacts-mcp export links v1", hashlib.sha256).digest()


async def test_the_download_url_serves_the_file_with_its_name_to_whoever_holds_it(served):
    port, _, tokens, _ = served
    job = await _export(port, tokens["a"])
    url = job["download_url"]
    assert url.startswith(f"http://127.0.0.1:{port}/exports/{job['id']}?token=")
    response = httpx.get(url)  # no API token: the signed link is the key
    assert response.status_code == 200
    assert response.text == "email,first_name\nann@example.com,'=1+1\n"
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="contacts-{job["id"]}.csv"' in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    assert httpx.post(url).status_code == 405


async def test_a_tampered_foreign_expired_or_missing_link_is_refused(served):
    port, db, tokens, _ = served
    mine = await _export(port, tokens["a"])
    theirs = await _export(port, tokens["b"], format="jsonl")
    token = parse_qs(urlparse(mine["download_url"]).query)["token"][0]
    account, expires, mac = token.split(".")
    their_account = parse_qs(urlparse(theirs["download_url"]).query)["token"][0].split(".")[0]
    base = f"http://127.0.0.1:{port}/exports"
    refused = {
        "tampered": f"{base}/{mine['id']}?token={account}.{expires}.{'0' * 32}",
        "later expiry": f"{base}/{mine['id']}?token={account}.{int(expires) + 3600}.{mac}",
        "another account": f"{base}/{mine['id']}?token={their_account}.{expires}.{mac}",
        "another job": f"{base}/{theirs['id']}?token={token}",
        "expired": link(_key(db), int(account), mine["id"], f"http://127.0.0.1:{port}", seconds=-1),
        "none": f"{base}/{mine['id']}",
        "malformed": f"{base}/{mine['id']}?token=x.y",
    }
    for what, url in refused.items():
        response = httpx.get(url)
        assert response.status_code == 403, what
        assert "get_jobs" in response.json()["error"], what
    assert "expired" in httpx.get(refused["expired"]).json()["error"]
    assert httpx.get(theirs["download_url"]).status_code == 200  # b's own link works


async def test_another_account_cannot_read_or_cancel_an_export(served):
    port, _, tokens, _ = served
    job = await _export(port, tokens["a"])
    async with connect(port, tokens["b"]) as other:
        assert "unknown job id" in await fails(other, "get_jobs", {"job_id": job["id"]})
        assert "unknown job id" in await fails(other, "cancel_job", {"job_id": job["id"]})
        assert (await call(other, "get_jobs", {}))["jobs"] == []
        try:
            await other.read_resource(job["resource"])
            raise AssertionError("another account read the export")
        except Exception as exc:  # noqa: BLE001 - the SDK reports a missing resource its own way
            assert "export job id" in str(exc)
    async with connect(port, tokens["a"]) as mine:
        got = await mine.read_resource(job["resource"])
        assert got.contents[0].text.startswith("email,first_name")
        again = (await call(mine, "get_jobs", {"job_id": job["id"]}))["jobs"][0]
        assert httpx.get(again["download_url"]).status_code == 200  # each read of the job mints a link
