"""import_file options (issue 12, item 9): existing contacts skipped, extra columns of a header-less file
reported, segments joined and left, and a URL's user:password used for the download only, never kept."""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from mcp import Client

from contacts_mcp.server.lifespan import running
from contacts_mcp.core.imports import jobs
from contacts_mcp.core.imports.sources import Source
from contacts_mcp.server.app import build_server

from ..conftest import call, fails

BUILTIN = "Mr,Ann,Lee,ann@example.com,,0612345678,,1 rue X,,75001,Paris,,France,17/05/1990,Acme,R1"


async def run_import(client, **args):
    job = await call(client, "import_file", {"wait_seconds": 30, **args})
    assert job["status"] in ("completed", "failed", "cancelled"), job
    return job


async def emails_in(client, **filters) -> list[str]:
    page = await call(client, "get_contacts", {"limit": 100, "sort": "asc", **filters})
    return [c["email"] for c in page["contacts"]]


# --- 9a: update_enabled=false skips existing contacts -------------------------------------------------


async def test_existing_contacts_are_skipped_not_invalid_when_updates_are_disabled(client):
    await call(client, "upsert_contacts", {"contacts": [{"email": "a@example.com", "city": "Paris"},
                                                        {"email": "b@example.com", "city": "Lyon"}]})
    job = await run_import(client, update_enabled=False,
                           csv_text="email,city\na@example.com,X\nnew@example.com,Y\nbad,Z\nb@example.com,W\n")
    assert (job["created"], job["updated"], job["skipped"], job["invalid"], job["lines_read"]) == (1, 0, 2, 1, 4)
    assert any("2 lines of existing contacts skipped (update_enabled=false)" in n for n in job["notes"])
    page = json.loads((await client.read_resource(job["error_report"])).contents[0].text)
    assert [e["line"] for e in page["errors"]] == [4]  # only the bad line: skipped ones are not errors
    got = await call(client, "get_contacts", {"emails": ["a@example.com", "b@example.com"], "sort": "asc"})
    assert [c["city"] for c in got["contacts"]] == ["Paris", "Lyon"]
    # With updates enabled, nothing is skipped and no note is added.
    job = await run_import(client, csv_text="email,city\na@example.com,X\n")
    assert (job["updated"], job["skipped"]) == (1, 0) and "notes" not in job


async def test_the_skipped_count_survives_a_restart_and_resumes_from_the_checkpoint(settings):
    async with Client(build_server(settings)) as client:
        await call(client, "upsert_contacts", {"contacts": [{"email": f"{n}@example.com"} for n in "abf"]})
    csv = "email\na@example.com\nb@example.com\nc@example.com\nd@example.com\nf@example.com\n"
    async with running(settings, jobs=False) as app:  # a server that dies having applied lines 2-3
        scope = app.scope()
        job = await jobs.create_import(scope, Source(csv_text=csv), jobs.ImportOptions(update_existing=False),
                                       new_list_name=None, new_list_folder_id=None, notify_url=None, client_roots=[])

        def crashed_after_a_batch(w):
            w.update_job(job.id, {"status": "running", "started_at": job.created_at})
            w.advance_job(job.id, checkpoint=3, percent=40.0, counts={"skipped": 2})

        await scope.write(crashed_after_a_batch)
    async with Client(build_server(settings)) as client:  # the restarted server resumes the job
        done = (await call(client, "get_jobs", {"job_id": job.id, "wait_seconds": 30}))["jobs"][0]
        assert (done["status"], done["lines_read"], done["created"], done["skipped"]) == ("completed", 5, 2, 3)
        assert await emails_in(client) == ["a@example.com", "b@example.com", "f@example.com", "c@example.com",
                                           "d@example.com"]


# --- 9b: a header-less file's columns beyond the canonical order are reported ---------------------


async def test_columns_beyond_the_canonical_order_of_a_headerless_file_are_reported(client):
    await call(client, "manage_fields", {"action": "create", "name": "tier", "type": "text"})
    job = await run_import(client, csv_text=f"{BUILTIN},gold,x,y,z\n", has_header=False)
    assert job["created"] == 1
    assert job["unknown_columns"] == ["column 18", "column 19", "column 20"]
    assert job["notes"] == ["columns 18–20 have no field in the canonical order (the 17 fields of get_fields) and "
                            "were ignored; to keep them, create fields (manage_fields) or map them, e.g. mapping "
                            "{\"18\": \"<field>\"}"]
    contact = (await call(client, "get_contacts", {}))["contacts"][0]
    assert contact["attributes"] == {"tier": "gold"}


async def test_a_mapped_or_ignored_extra_column_is_not_reported_and_a_sniffed_file_is(client):
    job = await run_import(client, csv_text=f"{BUILTIN},a,b,c\n", has_header=False,
                           mapping={"17": "ignore", "19": "company", "15": "ignore"})
    assert job["unknown_columns"] == ["column 18"] and job["notes"][0].startswith("column 18 has no field")
    job = await run_import(client, csv_text=f"{BUILTIN},extra\n")  # no has_header: sniffed as header-less
    assert job["unknown_columns"] == ["column 17"] and "notes" in job
    job = await run_import(client, csv_text=f"{BUILTIN}\n", has_header=False)
    assert "unknown_columns" not in job and "notes" not in job


# --- 9c: segments joined and left ---------------------------------------------------------------


async def _segment(client, name: str) -> int:
    return (await call(client, "manage_segments", {"action": "create", "name": name}))["segment"]["id"]


async def test_an_import_attaches_every_contact_to_segments_and_detaches_from_others(client, settings):
    vip, old = await _segment(client, "VIP"), await _segment(client, "Old")
    await call(client, "upsert_contacts", {"contacts": [
        {"email": "known@example.com", "segment_ids": [old]}, {"email": "other@example.com", "segment_ids": [old]}]})
    job = await run_import(client, csv_text="email\nknown@example.com\nn1@example.com\nn2@example.com\n",
                           segment_ids=[vip], unlink_segment_ids=[old])
    assert (job["created"], job["updated"]) == (2, 1)
    assert await emails_in(client, segment_id=vip) == ["known@example.com", "n1@example.com", "n2@example.com"]
    assert await emails_in(client, segment_id=old) == ["other@example.com"]
    sizes = {s["id"]: s["size"] for s in (await call(client, "get_segments", {"segment_ids": [vip, old]}))["segments"]}
    assert sizes == {vip: 3, old: 1}
    assert (await call(client, "get_stats", {"segment_ids": [vip]}))["stats"]["subscribers"] == 3
    async with running(settings, jobs=False) as app:  # the maintained counts equal a recount
        def check(r):
            for seg in (vip, old):
                assert +r.group_profiles("segment", [seg])[seg] == r.recount_profiles("segment", seg)

        await app.scope().read(check)


async def test_unknown_segment_ids_are_refused_at_call_time_naming_them(client):
    vip = await _segment(client, "VIP")
    text = await fails(client, "import_file", {"csv_text": "email\na@example.com\n", "segment_ids": [vip, 404],
                                               "unlink_segment_ids": [405]})
    assert "404" in text and "405" in text and "get_segments" in text
    text = await fails(client, "import_file", {"csv_text": "email\na@example.com\n", "segment_ids": [vip],
                                               "unlink_segment_ids": [vip]})
    assert "unlink_segment_ids" in text and f"[{vip}]" in text
    assert (await call(client, "get_jobs", {}))["jobs"] == []


# --- 9d: user:password in a URL ---------------------------------------------------------------------

USER, PASSWORD = "al@ice", "s3cr:et pw"
URL_USERINFO = "al%40ice:s3cr%3Aet%20pw"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@pytest.fixture
def hosts():
    """Two loopback hosts recording each GET's path and Authorization header. The first serves /file.csv
    (only with the right basic auth), /same (redirect to its /file.csv), /away (redirect to the second
    host), and records POSTs to /hook; the second serves any path without asking for credentials."""
    seen: list[tuple[int, str, str | None]] = []
    posted: list[bytes] = []
    servers: list[ThreadingHTTPServer] = []

    def handler(index: int):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append((index, self.path, self.headers.get("Authorization")))
                if index == 0 and self.path in ("/same", "/away"):
                    other = servers[1 if self.path == "/away" else 0].server_address[1]
                    self.send_response(302)
                    self.send_header("Location", f"http://127.0.0.1:{other}/file.csv")
                    self.end_headers()
                    return
                if index == 0 and self.headers.get("Authorization") != BASIC:
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b"email,first_name\nweb@example.com,Web\nbad-email,Bad\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                posted.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    for i in range(2):
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler(i))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield [f"127.0.0.1:{s.server_address[1]}" for s in servers], seen, posted
    for server in servers:
        server.shutdown()


def stored_bytes(settings) -> bytes:
    return b"".join(p.read_bytes() for p in settings.db_path.parent.glob(settings.db_path.name + "*"))


async def test_url_credentials_become_basic_auth_and_are_never_stored_or_shown(client_with, settings, hosts,
                                                                               caplog):
    import anyio

    (first, _), seen, posted = hosts
    caplog.set_level("DEBUG")
    async with client_with(allow_private_urls=True) as client:
        job = await run_import(client, url=f"http://{URL_USERINFO}@{first}/file.csv",
                               notify_url=f"http://{first}/hook")
        assert (job["status"], job["created"], job["invalid"]) == ("completed", 1, 1), job
        assert seen == [(0, "/file.csv", BASIC)]
        assert job["source"] == f"url: http://{first}/file.csv"
        with anyio.fail_after(15):
            while not posted:
                await anyio.sleep(0.1)
        shown = [json.dumps(job), json.dumps(await call(client, "get_jobs", {})), posted[0].decode(),
                 (await client.read_resource(job["error_report"] + ".csv")).contents[0].text, caplog.text]
    for text in shown:
        assert "s3cr" not in text and "al@ice" not in text and "al%40ice" not in text and BASIC[6:] not in text
    db = stored_bytes(settings)
    assert b"s3cr" not in db and b"al@ice" not in db and b"al%40ice" not in db and BASIC[6:].encode() not in db


async def test_credentials_follow_a_redirect_on_the_same_host_but_never_to_another(client_with, hosts):
    (first, second), seen, _ = hosts
    async with client_with(allow_private_urls=True) as client:
        job = await run_import(client, url=f"http://{URL_USERINFO}@{first}/same")
        assert job["created"] == 1 and seen == [(0, "/same", BASIC), (0, "/file.csv", BASIC)]
        seen.clear()
        job = await run_import(client, url=f"http://{URL_USERINFO}@{first}/away")
        assert job["status"] == "completed" and seen == [(0, "/away", BASIC), (1, "/file.csv", None)]


async def test_a_wrong_password_fails_the_job_without_showing_it(client_with, hosts):
    (first, _), seen, _ = hosts
    async with client_with(allow_private_urls=True) as client:
        job = await run_import(client, url=f"http://alice:wr0ngpass@{first}/file.csv")
        assert job["status"] == "failed" and "401" in job["error"] and "user and password" in job["error"]
        assert "wr0ngpass" not in json.dumps(job) and "alice" not in json.dumps(job)
        text = await fails(client, "import_file", {"url": f"ftp://alice:wr0ngpass@{first}/x.csv"})
        assert "ftp" in text and "wr0ngpass" not in text
        for bad in ("http://alice:wr0ngpass@[::1/x.csv", "http://alice:wr0ng/pass@example.com/"):
            text = await fails(client, "import_file", {"url": bad})
            assert "not a valid URL" in text and "wr0ng" not in text and "alice" not in text


async def test_a_job_resumed_after_a_restart_before_its_download_fails_asking_to_import_again(settings, hosts):
    (first, _), seen, _ = hosts
    settings_private = dataclasses.replace(settings, allow_private_urls=True)
    async with running(settings_private, jobs=False) as app:  # queued, then the server stops
        job = await jobs.create_import(app.scope(), Source(url=f"http://{URL_USERINFO}@{first}/file.csv"),
                                       jobs.ImportOptions(), new_list_name=None, new_list_folder_id=None,
                                       notify_url=None, client_roots=[])
    assert b"s3cr" not in stored_bytes(settings) and b"al@ice" not in stored_bytes(settings)
    async with Client(build_server(settings_private)) as client:
        done = (await call(client, "get_jobs", {"job_id": job.id, "wait_seconds": 30}))["jobs"][0]
    assert done["status"] == "failed" and "never stored" in done["error"] and "import again" in done["error"]
    assert seen == []  # nothing was requested without the credentials


async def test_an_import_joins_lists_and_segments_by_name_and_an_unknown_name_is_refused_at_once(client):
    lst = (await call(client, "manage_lists", {"action": "create", "name": "Salon 2026"}))["list"]["id"]
    seg = (await call(client, "manage_segments", {"action": "create", "name": "Leads"}))["segment"]["id"]
    text = await fails(client, "import_file", {"csv_text": "email\na@example.com\n", "groups": ["salon 2026", "Nope"]})
    assert "'Nope'" in text and (await call(client, "get_jobs", {}))["jobs"] == []
    job = await call(client, "import_file", {"csv_text": "email\na@example.com\nb@example.com\n", "wait_seconds": 30,
                                             "groups": ["salon 2026", "LEADS"]})
    assert job["created"] == 2
    assert len((await call(client, "get_contacts", {"list_id": lst}))["contacts"]) == 2
    assert len((await call(client, "get_contacts", {"segment_id": seg}))["contacts"]) == 2
