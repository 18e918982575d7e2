"""export_contacts through an MCP client: sources, formats, columns, neutralised cells, delivery as a path and
a resource, cancel, expiry, and one snapshot whatever is written meanwhile."""

from __future__ import annotations

import csv
import io
import json
import threading
from dataclasses import replace
from pathlib import Path

import anyio
import pytest
from python_calamine import CalamineWorkbook

from contacts_mcp.core import jobs
from contacts_mcp.core.contacts import set_deleted, upsert_contacts
from contacts_mcp.core.exports import jobs as exports
from contacts_mcp.core.exports.delivery import Delivery
from contacts_mcp.core.models import ContactInput
from contacts_mcp.storage.api import ExportColumn

from ..conftest import call, fails


async def export(client, **args) -> dict:
    job = await call(client, "export_contacts", {"wait_seconds": 30, **args})
    assert job["status"] == "completed", job
    return job


def csv_rows(job: dict) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(Path(job["file"]).read_text(encoding="utf-8"), newline="")))


async def base(client) -> dict:
    """Three contacts, custom fields of each type, a list, a static and a dynamic segment, an opt-out."""
    for name, kind in (("score", "number"), ("vip", "boolean"), ("tier", "text"), ("renewal", "date")):
        await call(client, "manage_fields", {"action": "create", "name": name, "type": kind})
    made = await call(client, "upsert_contacts", {"contacts": [
        {"email": "ann@example.com", "first_name": "Ann", "mobile": "06 12 34 56 78", "city": "Paris",
         "attributes": {"score": 42, "vip": True, "tier": "gold", "renewal": "2027-01-31"}},
        {"email": "bob@example.com", "first_name": "=HYPERLINK(\"x\")", "city": "Lyon",
         "attributes": {"score": 2.5, "vip": False}},
        {"email": "cat@example.com", "last_name": "-Cat", "city": "Paris"}]})
    ann, bob, cat = (item["id"] for item in made["items"])
    customers = (await call(client, "manage_lists", {"action": "create", "name": "Customers"}))["list"]["id"]
    other = (await call(client, "manage_lists", {"action": "create", "name": "Pipe | list"}))["list"]["id"]
    await call(client, "update_list_members", {"list_id": customers, "action": "add", "contact_ids": [ann, bob]})
    await call(client, "update_list_members", {"list_id": other, "action": "add", "contact_ids": [ann]})
    static = (await call(client, "manage_segments", {"action": "create", "name": "Hot"}))["segment"]["id"]
    await call(client, "attach_to_segment", {"segment_id": static, "contact_ids": [cat]})
    dynamic = (await call(client, "manage_segments", {"action": "create", "name": "Parisians", "filter": {
        "field": "city", "op": "eq", "value": "paris"}}))["segment"]["id"]
    await call(client, "optout_contact", {"contact_ids": [bob], "reason": "hardbounce"})
    return {"ann": ann, "bob": bob, "cat": cat, "customers": customers, "static": static, "dynamic": dynamic}


async def test_a_list_exports_as_csv_with_every_column_by_default(client):
    ids = await base(client)
    job = await export(client, list_id=ids["customers"])
    builtins = ["ext_id", "civility", "first_name", "last_name", "email", "fixed_phone", "mobile", "fax",
                "address_1", "address_2", "postal_code", "city", "state", "country", "birth_date", "company",
                "reference"]
    assert job["columns"] == [*builtins, "score", "vip", "tier", "renewal", "lists", "segments", "optout_email",
                              "optout_sms", "optout_voice", "optout_voicemail", "status", "id", "source",
                              "created_at", "updated_at"]
    assert job["rows"] == job["total_rows"] == 2 and job["source"] == f"list {ids['customers']}"
    assert Path(job["file"]).name == f"{job['id']}.csv" and job["bytes"] == Path(job["file"]).stat().st_size
    ann, bob = csv_rows(job)
    assert list(ann) == job["columns"]
    assert ann["email"] == "ann@example.com" and ann["mobile"] == "'+33612345678"  # neutralised: starts with +
    assert (ann["score"], ann["vip"], ann["tier"], ann["renewal"]) == ("42", "true", "gold", "2027-01-31")
    assert ann["lists"] == "Customers|Pipe \\| list" and ann["segments"] == ""  # Parisians is dynamic
    assert (bob["score"], bob["vip"]) == ("2.5", "false")
    assert bob["optout_email"] == "hardbounce" and bob["optout_sms"] == "" and ann["optout_email"] == ""
    assert bob["first_name"] == "'=HYPERLINK(\"x\")"
    assert ann["id"] == str(ids["ann"]) and ann["status"] == "confirmed" and ann["source"] == "bulk"
    assert ann["created_at"].endswith("Z") and "deleted_at" not in ann


async def test_each_source_exports_its_own_contacts(client):
    ids = await base(client)
    paris = {"field": "city", "op": "eq", "value": "PARIS"}

    async def emails(**source) -> list[str]:
        return [r["email"] for r in csv_rows(await export(client, columns=["email"], **source))]

    assert await emails() == ["ann@example.com", "bob@example.com", "cat@example.com"]
    assert await emails(list_id=ids["customers"]) == ["ann@example.com", "bob@example.com"]
    assert await emails(segment_id=ids["static"]) == ["cat@example.com"]
    assert await emails(segment_id=ids["dynamic"]) == ["ann@example.com", "cat@example.com"]
    assert await emails(filter=paris) == ["ann@example.com", "cat@example.com"]
    assert await emails(filter=paris, list_id=ids["customers"]) == ["ann@example.com"]
    await call(client, "delete_contacts", {"action": "delete", "contact_ids": [ids["cat"]]})
    assert await emails() == ["ann@example.com", "bob@example.com"]
    assert await emails(deleted="only") == ["cat@example.com"]
    job = await export(client, deleted="also")
    assert [r["email"] for r in csv_rows(job)] == ["ann@example.com", "bob@example.com", "cat@example.com"]
    assert [bool(r["deleted_at"]) for r in csv_rows(job)] == [False, False, True]


async def test_chosen_columns_come_in_their_order_and_an_unknown_one_is_refused_with_the_accepted_ones(client):
    ids = await base(client)
    job = await export(client, columns=["id", "optout_email", "email", "tier"], delimiter=";", bom=True)
    text = Path(job["file"]).read_bytes().decode("utf-8")
    assert text.startswith("\ufeffid;optout_email;email;tier\n")
    assert f"{ids['bob']};hardbounce;bob@example.com;\n" in text
    error = await fails(client, "export_contacts", {"columns": ["email", "colour"]})
    assert "'colour' is not a column" in error and "optout_email" in error and "score" in error
    assert "more than once" in await fails(client, "export_contacts", {"columns": ["email", "email"]})
    assert "delimiter" in await fails(client, "export_contacts", {"delimiter": "ab"})
    assert "list id" in await fails(client, "export_contacts", {"list_id": 999})
    assert "segment id" in await fails(client, "export_contacts", {"segment_id": 999})
    assert "filter" in await fails(client, "export_contacts", {"filter": {"field": "colour", "op": "eq", "value": 1}})


async def test_json_lines_keep_values_typed_unneutralised_and_lists_as_arrays(client):
    await base(client)
    job = await export(client, format="jsonl", columns=["email", "first_name", "mobile", "score", "vip", "lists",
                                                        "optout_email"])
    ann, bob, cat = (json.loads(line) for line in Path(job["file"]).read_text(encoding="utf-8").splitlines())
    assert ann == {"email": "ann@example.com", "first_name": "Ann", "mobile": "+33612345678", "score": 42,
                   "vip": True, "lists": ["Customers", "Pipe | list"]}
    assert bob["first_name"] == "=HYPERLINK(\"x\")" and bob["vip"] is False and bob["optout_email"] == "hardbounce"
    assert cat == {"email": "cat@example.com"}


async def test_xlsx_holds_text_cells_neutralised_like_the_csv(client):
    await base(client)
    job = await export(client, format="xlsx", columns=["email", "first_name", "last_name", "mobile", "score"])
    rows = CalamineWorkbook.from_path(job["file"]).get_sheet_by_index(0).to_python()
    assert rows[0] == ["email", "first_name", "last_name", "mobile", "score"]
    assert rows[1][:4] == ["ann@example.com", "Ann", "", "'+33612345678"] and rows[1][4] == 42
    assert rows[2][1] == "'=HYPERLINK(\"x\")" and rows[3][2] == "'-Cat"


async def test_a_small_export_reads_as_a_resource_in_its_format(client):
    await base(client)
    job = await export(client, columns=["email"])
    assert job["resource"] == f"contacts://exports/{job['id']}.csv"
    got = await client.read_resource(job["resource"])
    assert got.contents[0].text == "email\nann@example.com\nbob@example.com\ncat@example.com\n"
    with pytest.raises(Exception, match="This export is csv"):
        await client.read_resource(f"contacts://exports/{job['id']}.xlsx")
    with pytest.raises(Exception, match="export job id"):
        await client.read_resource("contacts://exports/exp_unknown.csv")


async def test_export_jobs_are_listed_read_and_refused_cancelling_by_the_job_tools(client):
    await base(client)
    job = await export(client, columns=["email"])
    await call(client, "import_file", {"csv_text": "email\nzed@example.com\n", "wait_seconds": 10})
    listed = (await call(client, "get_jobs", {"kind": "export"}))["jobs"]
    assert [j["id"] for j in listed] == [job["id"]] and listed[0]["kind"] == "export"
    both = (await call(client, "get_jobs", {}))["jobs"]
    assert [j["kind"] for j in both] == ["import", "export"]
    assert "already completed" in await fails(client, "cancel_job", {"job_id": job["id"]})


async def test_a_cancelled_export_writes_no_file(state, settings):
    idle = replace(state.scope(), runner=None)  # no runner: jobs stay queued until run here
    await upsert_contacts(idle, [ContactInput(email=f"c{i}@example.com") for i in range(3)])
    queued = await exports.create_export(idle, exports.ExportOptions(columns=["email"]), notify_url=None,
                                         delivery=Delivery(local=True))
    assert (await jobs.cancel_job(idle, queued.id)).status == "cancelled"
    # Stopped while its file is written: the thread stops at its next batch and the part file goes.
    running = await exports.create_export(idle, exports.ExportOptions(columns=["email"]), notify_url=None,
                                          delivery=Delivery(local=True))
    stop = threading.Event()
    stop.set()
    await exports.run_export(idle, await idle.read(lambda r: r.job(running.id)), stop)
    assert not list(settings.exports_dir.iterdir())
    assert (await jobs.get_job(idle, running.id)).status == "running"  # the runner then marks it (cancel_job did)


async def test_an_export_file_is_deleted_once_its_time_has_come(state, settings):
    scope = replace(state.scope(), settings=replace(settings, export_hours=0.0), runner=None)
    job = await exports.create_export(scope, exports.ExportOptions(columns=["email"]), notify_url=None,
                                      delivery=Delivery(local=True))
    await exports.run_export(scope, await scope.read(lambda r: r.job(job.id)), threading.Event())

    done = await jobs.get_job(scope, job.id)
    assert done.status == "completed" and Path(done.file).is_file()
    await anyio.sleep(0.01)
    await exports.sweep(state)
    gone = await jobs.get_job(scope, job.id)
    assert gone.file is None and "deleted" in gone.error and not Path(done.file).exists()


async def test_an_export_reads_one_snapshot_while_contacts_are_written_and_deleted(state):
    scope = state.scope()
    made = await upsert_contacts(scope, [ContactInput(email=f"c{i}@example.com") for i in range(10)])
    first = made.items[0].id

    def read(r) -> tuple[list[str], int]:
        seen: list[str] = []
        for batch in r.export_rows(None, [ExportColumn(column="email")], deleted="no", text=False, batch=2):
            if not seen:  # committed while the export reads: neither may show in it
                anyio.from_thread.run(lambda: upsert_contacts(scope, [ContactInput(email="late@example.com")]))
                anyio.from_thread.run(lambda: set_deleted(scope, [first], restore=False))
            seen += [row[0] for row in batch]
        return seen, r.export_count(None, deleted="no")

    seen, count = await state.store.stream(scope.account_id, read)
    assert seen == [f"c{i}@example.com" for i in range(10)] and count == 10
    now = await state.store.stream(scope.account_id, lambda r: r.export_count(None, deleted="no"))
    assert now == 10  # one more, one fewer


async def test_the_notify_url_gets_the_export_summary_without_a_path_and_a_private_one_is_refused(client_with,
                                                                                                http_files):
    base, received, _ = http_files
    async with client_with() as plain:
        assert "loopback" in await fails(plain, "export_contacts", {"notify_url": f"{base}/hook"})
    async with client_with(allow_private_urls=True) as allowed:
        await call(allowed, "create_contact", {"contact": {"email": "ann@example.com"}})
        job = await export(allowed, columns=["email"], notify_url=f"{base}/hook")
        with anyio.fail_after(15):
            while not received:
                await anyio.sleep(0.1)
        summary = received[0]
        assert summary["event"] == "export.finished" and summary["job"]["id"] == job["id"]
        assert summary["job"]["rows"] == 1 and "file" not in summary["job"]


async def test_waiting_on_an_export_sends_progress_notifications(client):
    await call(client, "upsert_contacts", {"contacts": [{"email": f"p{i}@example.com"} for i in range(50)]})
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    result = await client.call_tool("export_contacts", {"wait_seconds": 30}, progress_callback=on_progress)
    assert result.structured_content["status"] == "completed"
    assert seen and seen[-1][0] == 100 and "50 of 50 contacts written" in seen[-1][2]


async def test_erasing_contacts_deletes_every_export_file_of_the_account(client):
    made = await call(client, "upsert_contacts", {"contacts": [{"email": "gone@example.com"},
                                                               {"email": "kept@example.com"}]})
    job = await export(client, columns=["email"])
    assert "gone@example.com" in Path(job["file"]).read_text()
    await call(client, "delete_contacts", {"action": "erase", "contact_ids": [made["items"][0]["id"]],
                                           "confirm": "erase 1 contact", "reason": "erasure request"})
    assert not Path(job["file"]).exists()
    after = (await call(client, "get_jobs", {"job_id": job["id"]}))["jobs"][0]
    assert "file" not in after and "resource" not in after and "erased" in after["error"]


async def test_an_export_file_is_readable_by_its_owner_only(client):
    await call(client, "create_contact", {"contact": {"email": "ann@example.com"}})
    job = await export(client, columns=["email"])
    assert Path(job["file"]).stat().st_mode & 0o777 == 0o600


async def test_a_file_the_sweep_cannot_delete_is_logged_and_the_others_go(state, settings, caplog):
    scope = replace(state.scope(), settings=replace(settings, export_hours=0.0), runner=None)
    await upsert_contacts(scope, [ContactInput(email="a@example.com")])
    done = []
    for _ in range(2):
        job = await exports.create_export(scope, exports.ExportOptions(columns=["email"]), notify_url=None,
                                          delivery=Delivery(local=True))
        await exports.run_export(scope, await scope.read(lambda r, j=job.id: r.job(j)), threading.Event())
        done.append(await jobs.get_job(scope, job.id))
    stuck = Path(done[0].file).with_suffix(".dir")
    stuck.mkdir()  # a path unlink() refuses: the sweep must log it and go on
    await state.store.write(scope.account_id, lambda w: w.update_job(done[0].id, {"file_path": str(stuck)}))
    await anyio.sleep(0.01)
    await exports.sweep(state)
    assert stuck.is_dir() and not Path(done[1].file).exists() and "could not be deleted" in caplog.text
