"""import_file, get_jobs, cancel_job and the error report, through an MCP client."""

import base64
import io
import json
import zipfile

import openpyxl

from ..conftest import call, fails


async def run_import(client, **args):
    """Import and wait for the job to end; returns the finished job."""
    job = await call(client, "import_file", {"wait_seconds": 30, **args})
    assert job["status"] in ("completed", "failed", "cancelled"), job
    return job


async def contacts(client, **filters):
    return (await call(client, "get_contacts", {"limit": 100, "sort": "asc", **filters}))["contacts"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def xlsx_bytes(rows) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


CRM_CSV = ("Prénom;Nom;Courriel;Portable;Couleur\n"
           "Ann;Lee;ann@example.com;06 12 34 56 78;red\n"
           "Bob;Ray;bad-email;0612;blue\n"
           "Cat;Poe;cat@example.com;+33 7 81 23 45 67;green\n")


async def test_a_french_crm_export_is_imported_through_default_aliases(client):
    job = await run_import(client, csv_text=CRM_CSV, new_list_name="CRM")
    assert (job["status"], job["created"], job["invalid"]) == ("completed", 2, 1)
    assert job["mapping"] == {"Prénom": "first_name", "Nom": "last_name", "Courriel": "email", "Portable": "mobile"}
    assert job["unknown_columns"] == ["Couleur"]
    members = await contacts(client, list_id=job["list_id"])
    assert [(c["first_name"], c["email"], c["mobile"]) for c in members] == [
        ("Ann", "ann@example.com", "+33612345678"), ("Cat", "cat@example.com", "+33781234567")]
    assert members[0]["source"] == f"import:{job['id']}"


async def test_the_error_report_gives_each_rejected_line_its_values_and_reason(client):
    job = await run_import(client, csv_text=CRM_CSV)
    page = json.loads((await client.read_resource(job["error_report"])).contents[0].text)
    assert page["errors"] == [{"line": 3, "values": {"Prénom": "Bob", "Nom": "Ray", "Courriel": "bad-email",
                                                      "Portable": "0612", "Couleur": "blue"},
                               "reason": page["errors"][0]["reason"]}]
    assert "bad-email" in page["errors"][0]["reason"] and "email" in page["errors"][0]["reason"]
    csv_text = (await client.read_resource(job["error_report"] + ".csv")).contents[0].text
    assert csv_text.splitlines()[0] == "line,reason,Prénom,Nom,Courriel,Portable,Couleur"
    assert csv_text.splitlines()[1].startswith("3,") and "bad-email,0612,blue" in csv_text


async def test_the_error_report_pages_and_neutralises_formulas_in_its_csv(client):
    rows = "\n".join(["email,first_name"] + [f"bad{i},=HYPERLINK(\"x\")" for i in range(130)])
    job = await run_import(client, csv_text=rows)
    assert job["invalid"] == 130
    first = json.loads((await client.read_resource(job["error_report"])).contents[0].text)
    assert len(first["errors"]) == 100 and first["next_cursor"]
    second = json.loads((await client.read_resource(f"{job['error_report']}?cursor={first['next_cursor']}"))
                        .contents[0].text)
    assert len(second["errors"]) == 30 and "next_cursor" not in second
    csv_text = (await client.read_resource(job["error_report"] + ".csv")).contents[0].text
    assert "'=HYPERLINK" in csv_text and ",=HYPERLINK" not in csv_text


async def test_a_file_without_header_follows_the_canonical_column_order(client):
    row = "Mr,Ann,Lee,ann@example.com,,0612345678,,1 rue X,,75001,Paris,,France,17/05/1990,Acme,R1\n"
    job = await run_import(client, csv_text=row, has_header=False)
    assert job["created"] == 1
    c = (await contacts(client))[0]
    assert (c["civility"], c["city"], c["birth_date"], c["company"], c["reference"]) == \
        ("Mr", "Paris", "1990-05-17", "Acme", "R1")


async def test_an_alias_added_by_the_user_maps_its_column(client):
    await call(client, "set_field_alias", {"field": "mobile", "alias": "Numéro SMS"})
    job = await run_import(client, csv_text="Numero sms,E-MAIL\n0612345678,a@example.com\n")
    assert job["mapping"] == {"Numero sms": "mobile", "E-MAIL": "email"}


async def test_an_explicit_mapping_wins_and_can_ignore_columns(client):
    await call(client, "manage_fields", {"action": "create", "name": "tier", "type": "choice",
                                         "choices": ["gold", "silver"]})
    job = await run_import(client, csv_text="Contact,Phone,Level\na@example.com,0612345678,GOLD\n",
                           mapping={"Contact": "email", "2": "ignore", "Level": "tier"})
    assert job["mapping"] == {"Contact": "email", "Level": "tier"} and "unknown_columns" not in job
    c = (await contacts(client))[0]
    assert c["attributes"] == {"tier": "gold"} and "fixed_phone" not in c


async def test_a_mapping_to_an_unknown_field_is_refused_before_queuing(client):
    text = await fails(client, "import_file", {"csv_text": "a\n1\n", "mapping": {"a": "shoe_size"}})
    assert "shoe_size" in text and "get_fields" in text
    assert (await call(client, "get_jobs", {}))["jobs"] == []


async def test_a_file_with_no_identity_column_fails_the_job_with_the_fix(client):
    job = await run_import(client, csv_text="Colour,Size\nred,3\n", has_header=True)
    assert job["status"] == "failed" and "mapping" in job["error"] and "email" in job["error"]


async def test_json_rows_are_imported_with_their_keys_as_headers(client):
    job = await run_import(client, json_rows=[{"email": "a@example.com", "Prénom": "Ann"},
                                              {"E-mail": "b@example.com", "city": "Nice"}])
    assert job["created"] == 2
    got = {c["email"]: c for c in await contacts(client)}
    assert got["a@example.com"]["first_name"] == "Ann" and got["b@example.com"]["city"] == "Nice"


async def test_xlsx_uploaded_in_base64_with_numbers_and_dates(client):
    import datetime

    data = xlsx_bytes([["email", "mobile", "birth_date"], ["x@example.com", 612345678, datetime.date(1990, 5, 17)]])
    job = await run_import(client, file_base64=b64(data), filename="export.xlsx")
    assert job["created"] == 1, job
    c = (await contacts(client))[0]
    assert (c["mobile"], c["birth_date"]) == ("+33612345678", "1990-05-17")


async def test_xls_and_ods_files_are_read(client, tmp_path):
    import xlwt
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    book = xlwt.Workbook()
    sheet = book.add_sheet("S")
    for r, row in enumerate([["email", "city"], ["xls@example.com", "Lyon"]]):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    xls = io.BytesIO()
    book.save(xls)
    doc = OpenDocumentSpreadsheet()
    table = Table(name="S")
    for row in [["email", "city"], ["ods@example.com", "Lille"]]:
        tr = TableRow()
        for value in row:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=value))
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    ods = io.BytesIO()
    doc.save(ods)
    for name, data in (("a.xls", xls.getvalue()), ("a.ods", ods.getvalue())):
        job = await run_import(client, file_base64=b64(data), filename=name)
        assert job["created"] == 1, job
    assert {c["city"] for c in await contacts(client)} == {"Lyon", "Lille"}


async def test_a_csv_inside_a_zip(client):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("export/contacts.csv", "email\nz@example.com\n")
    job = await run_import(client, file_base64=b64(buf.getvalue()), filename="export.zip")
    assert job["created"] == 1, job


async def test_a_zip_bomb_fails_the_job_naming_the_limit(client):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("bomb.csv", "w") as entry:
            entry.write(b"email\n")
            for _ in range(30):
                entry.write(b"\0" * (1 << 20))
    assert len(buf.getvalue()) < 200_000
    job = await run_import(client, file_base64=b64(buf.getvalue()), filename="bomb.zip")
    assert job["status"] == "failed" and ("ratio" in job["error"] or "size" in job["error"])


async def test_a_windows_1252_csv_is_detected(client):
    data = "email;Prénom;Ville\ne@example.com;Hélène;Besançon\n".encode("cp1252")
    job = await run_import(client, file_base64=b64(data), filename="legacy.csv")
    c = (await contacts(client))[0]
    assert (c["first_name"], c["city"]) == ("Hélène", "Besançon"), job


async def test_an_unknown_encoding_is_refused_at_once(client):
    text = await fails(client, "import_file", {"csv_text": "email\na@example.com\n", "encoding": "klingon"})
    assert "klingon" in text and "cp1252" in text


async def test_a_declared_encoding_that_does_not_fit_fails_the_job(client):
    data = "email,city\ne@example.com,Besançon\n".encode("cp1252")
    job = await run_import(client, file_base64=b64(data), filename="x.csv", encoding="utf-8")
    assert job["status"] == "failed" and "encoding" in job["error"]


async def test_inline_and_file_size_limits_name_the_limit(client_with):
    async with client_with(max_inline_bytes=100, max_file_bytes=200) as client:
        text = await fails(client, "import_file", {"csv_text": "email\n" + "a@example.com\n" * 20})
        assert "csv_text size" in text and "MB" in text
        text = await fails(client, "import_file", {"file_base64": b64(b"email\n" + b"x" * 300), "filename": "a.csv"})
        assert "file size" in text or "file_base64" in text


async def test_exactly_one_source_is_required(client):
    assert "exactly one" in await fails(client, "import_file", {})
    assert "exactly one" in await fails(client, "import_file", {"csv_text": "email\n", "url": "http://x.test/a.csv"})


async def test_a_path_is_read_only_inside_the_import_roots(client_with, tmp_path):
    inside = tmp_path / "in"
    inside.mkdir()
    (inside / "ok.csv").write_text("email\nin@example.com\n")
    (tmp_path / "secret.csv").write_text("email\nout@example.com\n")
    (inside / "link.csv").symlink_to(tmp_path / "secret.csv")
    async with client_with() as client:
        assert "CONTACTS_MCP_IMPORT_ROOTS" in await fails(client, "import_file", {"path": str(inside / "ok.csv")})
    async with client_with(import_roots=(inside.resolve(),)) as client:
        job = await run_import(client, path=str(inside / "ok.csv"))
        assert job["created"] == 1
        for bad in (tmp_path / "secret.csv", inside / ".." / "secret.csv", inside / "link.csv"):
            assert "outside" in await fails(client, "import_file", {"path": str(bad)})
        assert "does not exist" in await fails(client, "import_file", {"path": str(inside / "nope.csv")})


async def test_a_url_on_loopback_is_refused_by_default(client, http_files):
    base, _, _ = http_files
    text = await fails(client, "import_file", {"url": f"{base}/contacts.csv"})
    assert "127.0.0.1" in text and "CONTACTS_MCP_ALLOW_PRIVATE_URLS" in text


async def test_a_url_is_downloaded_and_the_notify_url_gets_the_summary(client_with, http_files):
    import anyio

    base, received, failures = http_files
    failures["left"] = 1
    async with client_with(allow_private_urls=True) as client:
        job = await run_import(client, url=f"{base}/contacts.csv", notify_url=f"{base}/hook")
        assert job["created"] == 1
        with anyio.fail_after(15):
            while not received:
                await anyio.sleep(0.1)
        assert received[0]["event"] == "import.finished" and received[0]["job"]["id"] == job["id"]
        assert received[0]["job"]["created"] == 1
        with anyio.fail_after(5):
            while "notify" not in (got := (await call(client, "get_jobs", {"job_id": job["id"]}))["jobs"][0]):
                await anyio.sleep(0.1)
        assert got["notify"].startswith("delivered")


async def test_update_existing_false_only_creates(client):
    await call(client, "create_contact", {"contact": {"email": "a@example.com", "city": "Paris"}})
    job = await run_import(client, csv_text="email,city\na@example.com,Lyon\nb@example.com,Nice\n",
                           update_enabled=False)
    assert (job["created"], job["invalid"], job["skipped"]) == (1, 0, 1)
    assert (await contacts(client, emails=["a@example.com"]))[0]["city"] == "Paris"


async def test_empty_cells_erase_only_when_asked(client):
    await call(client, "create_contact", {"contact": {"email": "a@example.com", "city": "Paris"}})
    await run_import(client, csv_text="email,city\na@example.com,\n")
    assert (await contacts(client))[0]["city"] == "Paris"
    await run_import(client, csv_text="email,city\na@example.com,\n", empty_values_erase=True)
    assert "city" not in (await contacts(client))[0]


async def test_lines_repeating_a_contact_of_the_same_file_are_counted_as_duplicates(client):
    rows = "email,city\n" + "".join(f"d{i % 3}@example.com,C{i}\n" for i in range(9))
    job = await run_import(client, csv_text=rows)
    assert (job["created"], job["duplicates"], job["lines_read"]) == (3, 6, 9)


async def test_an_import_never_lifts_an_opt_out(client):
    await call(client, "create_contact", {"contact": {"email": "out@example.com", "email_blacklisted": True}})
    job = await run_import(client, csv_text="email,first_name\nout@example.com,Back\n")
    assert job["updated"] == 1
    c = (await contacts(client))[0]
    assert c["first_name"] == "Back" and c["opted_out"] == ["email"]


async def test_importing_a_suppression_list_opts_everyone_out(client):
    await call(client, "create_contact", {"contact": {"email": "known@example.com"}})
    job = await run_import(client, csv_text="email\nknown@example.com\nnew@example.com\n",
                           optout_channels=["email", "sms"])
    assert (job["created"], job["updated"]) == (1, 1)
    assert all(c["opted_out"] == ["email", "sms"] for c in await contacts(client))


async def test_jobs_are_listed_newest_first_and_unknown_ids_are_refused(client):
    first = await run_import(client, csv_text="email\na@example.com\n")
    second = await run_import(client, csv_text="email\nb@example.com\n")
    listed = await call(client, "get_jobs", {})
    assert [j["id"] for j in listed["jobs"]] == [second["id"], first["id"]]
    assert "imp_nope" in await fails(client, "get_jobs", {"job_id": "imp_nope"})
    assert "already completed" in await fails(client, "cancel_job", {"job_id": first["id"]})


async def test_a_cancelled_job_stops_and_keeps_what_it_had_imported(client):
    rows = "email\n" + "".join(f"c{i}@example.com\n" for i in range(60_000))
    job = await call(client, "import_file", {"csv_text": rows})
    cancelled = (await call(client, "cancel_job", {"job_id": job["id"]}))["jobs"][0]
    assert cancelled["status"] == "cancelled"
    final = (await call(client, "get_jobs", {"job_id": job["id"], "wait_seconds": 5}))["jobs"][0]
    assert final["status"] == "cancelled" and final["lines_read"] < 60_000
    listed = await call(client, "get_contacts", {"limit": 1})
    assert final["created"] == final["lines_read"]
    assert bool(listed["contacts"]) == (final["created"] > 0)


async def test_a_list_created_by_an_import_shows_its_import(client):
    job = await run_import(client, csv_text=CRM_CSV, new_list_name="CRM")
    got = await call(client, "get_lists", {"list_ids": [job["list_id"]], "properties": ["DEFAULT", "import", "stats"]})
    assert got["lists"][0]["import"] == {"job_id": job["id"], "status": "completed", "lines": 3, "invalid": 1,
                                         "errors": job["error_report"]}
    assert got["lists"][0]["stats"]["subscribers"] == 2


async def test_waiting_on_a_job_sends_progress_notifications(client):
    rows = "email\n" + "".join(f"p{i}@example.com\n" for i in range(12_000))
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    result = await client.call_tool("import_file", {"csv_text": rows, "wait_seconds": 30},
                                    progress_callback=on_progress)
    assert result.structured_content["status"] == "completed"
    assert seen and seen[-1][0] == 100 and seen[-1][1] == 100
    assert "completed" in seen[-1][2] and "12000 lines read" in seen[-1][2]
    assert [p for p, _, _ in seen] == sorted(p for p, _, _ in seen)


async def test_a_job_cancelled_before_it_starts_leaves_no_copy_of_its_file(state, settings):
    from contacts_mcp.core import jobs as all_jobs
    from contacts_mcp.core.imports import jobs
    from contacts_mcp.core.imports.sources import Source

    scope = state.scope()  # a scope with no runner: the job stays queued
    scope = type(scope)(scope.store, scope.settings, scope.account_id, scope.cache, None)
    job = await jobs.create_import(scope, Source(csv_text="email\na@example.com\n"), jobs.ImportOptions(),
                                   new_list_name=None, new_list_folder_id=None, notify_url=None, client_roots=[])
    assert list(settings.jobs_dir.iterdir())
    cancelled = await all_jobs.cancel_job(scope, job.id)
    assert cancelled.status == "cancelled" and not list(settings.jobs_dir.iterdir())


async def test_the_error_report_names_every_bad_value_of_a_line(client):
    job = await run_import(client, csv_text="email,mobile\nnope,12\n")
    page = json.loads((await client.read_resource(job["error_report"])).contents[0].text)
    reason = page["errors"][0]["reason"]
    assert "email:" in reason and "mobile:" in reason


async def test_the_servers_own_data_is_not_importable_even_inside_an_import_root(client_with, settings):
    # A root that holds the data folder must not let a tenant read the database back through error lines.
    root = settings.db_path.parent.resolve()
    async with client_with(import_roots=(root,)) as client:
        await call(client, "create_contact", {"contact": {"email": "x@example.com"}})
        for name in (settings.db_path.name, settings.db_path.name + "-wal"):
            if (root / name).exists():
                assert "server's own data" in await fails(client, "import_file", {"path": str(root / name)})


async def test_waiting_jobs_of_an_account_are_capped_before_their_files_are_copied(settings):
    import pytest

    from contacts_mcp.core.errors import LimitExceeded
    from contacts_mcp.core.imports import jobs
    from contacts_mcp.core.imports.sources import Source
    from contacts_mcp.server.lifespan import running

    def one(email: str):
        return jobs.create_import(scope, Source(csv_text=f"email\n{email}\n"), jobs.ImportOptions(), new_list_name=None,
                                  new_list_folder_id=None, notify_url=None, client_roots=[])

    # No job runner: the queued jobs stay queued (a runner polling meanwhile would start some of them).
    async with running(settings, jobs=False) as state:
        scope = state.scope()
        for _ in range(jobs.QUEUED_MAX):
            await one("a@example.com")
        copies = len(list(settings.jobs_dir.iterdir()))
        with pytest.raises(LimitExceeded, match="waiting to run"):
            await one("b@example.com")
        assert len(list(settings.jobs_dir.iterdir())) == copies
