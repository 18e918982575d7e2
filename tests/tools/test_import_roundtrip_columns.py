"""import_file reads back what export_contacts writes: cells guarded against formulas, the status, lists and
static segments by name, the opt-out reason per channel, and this database's records (left out, with a note);
JSON lines with arrays of names. Through an MCP client, on both backends."""

from __future__ import annotations

import json

from contacts_mcp.server.lifespan import running

from ..conftest import call
from .test_imports import b64, contacts, run_import, xlsx_bytes

GUARDED = [  # (as an export writes the cell, the value stored)
    ("'=SUM(A1)", "=SUM(A1)"),
    ("'+plus", "+plus"),
    ("'-Lee", "-Lee"),
    ("'@home", "@home"),
    ("''=x", "'=x"),       # a value really written '=x: one apostrophe more, one less
    ("'hello", "'hello"),  # no formula behind the apostrophe: never guarded, kept as written
]


async def errors_of(client, job) -> dict[int, str]:
    page = json.loads((await client.read_resource(job["error_report"])).contents[0].text)
    return {e["line"]: e["reason"] for e in page["errors"]}


async def by_email(client) -> dict[str, dict]:
    return {c["email"]: c for c in await contacts(client)}


async def maintained_counts_equal_a_recount(settings, lists=(), segments=()) -> None:
    async with running(settings, jobs=False) as app:
        def check(r) -> None:
            assert +r.group_profiles("base", [0])[0] == r.recount_profiles("base", 0)
            for kind, ids in (("list", lists), ("segment", segments)):
                for i in ids:
                    assert +r.group_profiles(kind, [i])[i] == r.recount_profiles(kind, i)

        await app.scope().read(check)


def guarded_rows() -> list[list[str]]:
    rows = [["email", "first_name", "mobile"]]
    rows += [[f"c{i}@example.com", cell, ""] for i, (cell, _) in enumerate(GUARDED)]
    rows.append(["phone@example.com", "Ann", "'+33612345678"])
    return rows


def assert_unguarded(got: dict[str, dict]) -> None:
    assert [got[f"c{i}@example.com"]["first_name"] for i in range(len(GUARDED))] == [v for _, v in GUARDED]
    assert got["phone@example.com"]["mobile"] == "+33612345678"


async def test_csv_cells_guarded_against_formulas_lose_exactly_one_apostrophe(client):
    text = "\n".join(",".join(row) for row in guarded_rows()) + "\n"
    job = await run_import(client, csv_text=text)
    assert (job["created"], job["invalid"]) == (len(GUARDED) + 1, 0)
    assert_unguarded(await by_email(client))


async def test_spreadsheet_cells_guarded_against_formulas_lose_exactly_one_apostrophe(client):
    job = await run_import(client, file_base64=b64(xlsx_bytes(guarded_rows())), filename="export.xlsx")
    assert (job["created"], job["invalid"]) == (len(GUARDED) + 1, 0)
    assert_unguarded(await by_email(client))


async def test_json_values_are_never_unguarded(client):
    job = await run_import(client, json_rows=[{"email": "j@example.com", "first_name": "'=x", "last_name": "'+y"}])
    assert job["created"] == 1
    c = (await contacts(client))[0]
    assert (c["first_name"], c["last_name"]) == ("'=x", "'+y")


async def test_the_records_of_an_export_are_left_out_with_one_note_and_are_not_unknown(client):
    text = ("id,email,source,created_at,updated_at,deleted_at,colour\n"
            "999,rec@example.com,api,2020-01-01T00:00:00Z,2020-01-02T00:00:00Z,,red\n")
    job = await run_import(client, csv_text=text)
    assert job["created"] == 1 and job["unknown_columns"] == ["colour"]
    assert job["notes"] == ["columns id, source, created_at, updated_at, deleted_at are this server's own records of "
                            "a contact (from an export): not imported"]
    assert job["mapping"] == {"email": "email"}
    c = (await contacts(client))[0]
    assert c["id"] != 999 and c["source"] == f"import:{job['id']}" and not c["created_at"].startswith("2020")


async def test_the_status_column_sets_the_status_and_an_empty_cell_leaves_it(client, settings):
    text = "email,status\nu@example.com,unconfirmed\nc@example.com,Confirmed\nn@example.com,\n"
    job = await run_import(client, csv_text=text)
    assert (job["created"], job["invalid"], job["mapping"]) == (3, 0, {"email": "email", "status": "status"})
    got = await by_email(client)
    assert {e: c["status"] for e, c in got.items()} == {
        "u@example.com": "unconfirmed", "c@example.com": "confirmed", "n@example.com": "confirmed"}
    assert (await call(client, "get_stats"))["stats"]["unconfirmed"] == 1
    again = await run_import(client, csv_text="email,status\nu@example.com,\nc@example.com,unconfirmed\n")
    assert (again["updated"], again["unchanged"]) == (1, 1)  # a status alone changes the contact
    got = await by_email(client)
    assert (got["u@example.com"]["status"], got["c@example.com"]["status"]) == ("unconfirmed", "unconfirmed")
    assert got["c@example.com"]["updated_at"] > got["c@example.com"]["created_at"]
    assert (await call(client, "get_stats"))["stats"]["unconfirmed"] == 2
    await maintained_counts_equal_a_recount(settings)


async def test_lists_and_static_segments_are_joined_by_name_and_made_when_missing(client, settings):
    clients = (await call(client, "manage_lists", {"action": "create", "name": "Clients"}))["list"]["id"]
    old = (await call(client, "manage_lists", {"action": "create", "name": "Old"}))["list"]["id"]
    lower = (await call(client, "manage_lists", {"action": "create", "name": "vip | gold"}))["list"]["id"]
    hot = (await call(client, "manage_segments", {"action": "create", "name": "Hot"}))["segment"]["id"]
    known = await call(client, "create_contact", {"contact": {"email": "known@example.com", "list_ids": [old]}})
    text = ("email,lists,segments\n"
            "known@example.com,Clients|VIP \\| Gold,Hot\n"
            "new@example.com,VIP \\| Gold|C:\\\\data|Clients,Cold|Hot\n"
            "none@example.com,,\n")
    job = await run_import(client, csv_text=text)
    assert (job["created"], job["updated"], job["invalid"]) == (2, 1, 0)
    assert "unknown_columns" not in job and job["mapping"] == {"email": "email", "lists": "lists",
                                                               "segments": "segments"}
    lists = {x["name"]: x for x in (await call(client, "get_lists", {"properties": ["name", "folder_id"]}))["lists"]}
    assert sorted(lists) == ["C:\\data", "Clients", "Old", "VIP | Gold", "vip | gold"]  # names are matched exactly
    assert lists["VIP | Gold"].get("folder_id") is None and lists["VIP | Gold"]["id"] != lower
    vip, data = lists["VIP | Gold"]["id"], lists["C:\\data"]["id"]
    got = await by_email(client)
    assert sorted(got["known@example.com"]["list_ids"]) == sorted([old, clients, vip])  # no list is ever left
    assert sorted(got["new@example.com"]["list_ids"]) == sorted([clients, vip, data])
    assert "list_ids" not in got["none@example.com"]  # an empty cell: no list
    segments = {s["name"]: s for s in (await call(client, "get_segments", {}))["segments"]}
    assert sorted(segments) == ["Cold", "Hot"] and segments["Cold"].get("filter") is None
    assert (segments["Hot"]["size"], segments["Cold"]["size"]) == (2, 1)
    assert [c["email"] for c in await contacts(client, segment_id=hot)] == ["known@example.com", "new@example.com"]
    assert (await call(client, "get_stats", {"list_ids": [clients]}))["stats"]["subscribers"] == 2
    assert known["contact"]["id"] == got["known@example.com"]["id"]
    await maintained_counts_equal_a_recount(settings, lists=[clients, old, vip, data],
                                            segments=[hot, segments["Cold"]["id"]])


async def test_a_dynamic_segment_named_in_a_line_makes_the_line_invalid_and_applies_nothing(client):
    await call(client, "manage_segments", {"action": "create", "name": "Parisians",
                                           "filter": {"field": "city", "op": "eq", "value": "paris"}})
    text = "email,lists,segments\nd@example.com,New list,Parisians\nok@example.com,,Static one\n"
    job = await run_import(client, csv_text=text)
    assert (job["created"], job["invalid"]) == (1, 1)
    reason = (await errors_of(client, job))[2]
    assert "'Parisians'" in reason and "dynamic segment" in reason and "static" in reason
    assert [c["email"] for c in await contacts(client)] == ["ok@example.com"]
    assert [x["name"] for x in (await call(client, "get_lists", {}))["lists"]] == []  # nothing of the line made
    assert sorted(s["name"] for s in (await call(client, "get_segments", {}))["segments"]) == ["Parisians",
                                                                                               "Static one"]


async def test_opt_out_columns_opt_out_with_their_reason_and_an_empty_cell_lifts_nothing(client, settings):
    text = ("email,mobile,optout_email,optout_sms,optout_voice,optout_voicemail\n"
            "o@example.com,0612345678,hardbounce,unsubscribed,,\n"
            "p@example.com,0698765432,,,,\n")
    job = await run_import(client, csv_text=text)
    assert (job["created"], job["invalid"]) == (2, 0)
    got = await by_email(client)
    assert sorted(got["o@example.com"]["opted_out"]) == ["email", "sms"] and "opted_out" not in got["p@example.com"]
    records = (await call(client, "get_optouts", {"contact_id": got["o@example.com"]["id"]}))["optouts"]
    assert sorted((r["channel"], r["reason"], r["source"]) for r in records) == [
        ("email", "hardbounce", f"import:{job['id']}"), ("sms", "unsubscribed", f"import:{job['id']}")]
    assert {r["address"] for r in records} == {"o@example.com", "+33612345678"}
    again = await run_import(client, csv_text=("email,mobile,optout_email,optout_sms,optout_voice,optout_voicemail\n"
                                                "o@example.com,0612345678,,,,\np@example.com,,,,complaint,\n"))
    assert (again["unchanged"], again["updated"], again["invalid"]) == (1, 1, 0)
    got = await by_email(client)
    assert sorted(got["o@example.com"]["opted_out"]) == ["email", "sms"]  # empty cells lifted nothing
    assert got["p@example.com"]["opted_out"] == ["voice"]
    stats = (await call(client, "get_stats"))["stats"]
    assert stats["opted_out_by_reason"] == {"unsubscribed": 1, "owner_blocked": 0, "hardbounce": 1, "complaint": 1}
    await maintained_counts_equal_a_recount(settings)


async def test_a_bad_status_or_reason_makes_the_line_invalid_naming_the_accepted_values(client):
    text = ("email,status,optout_sms,lists\n"
            "s@example.com,pending,,A\n"
            "r@example.com,,bounced,A\n"
            "both@example.com,maybe,never,A\n"
            "fine@example.com,unconfirmed,COMPLAINT,A\n")
    job = await run_import(client, csv_text=text)
    assert (job["created"], job["invalid"]) == (1, 3)
    reasons = await errors_of(client, job)
    assert "'pending'" in reasons[2] and "confirmed or unconfirmed" in reasons[2]
    assert "optout_sms" in reasons[3] and "'bounced'" in reasons[3] and "hardbounce" in reasons[3]
    assert "'maybe'" in reasons[4] and "'never'" in reasons[4]  # every problem of the line at once
    assert [c["email"] for c in await contacts(client)] == ["fine@example.com"]
    fine = (await contacts(client))[0]
    assert (fine["status"], fine["opted_out"], len(fine["list_ids"])) == ("unconfirmed", ["sms"], 1)


async def test_a_line_invalid_for_a_field_and_an_extra_names_both(client):
    job = await run_import(client, csv_text="email,status\nnot-an-email,pending\n")
    reason = (await errors_of(client, job))[2]
    assert "not-an-email" in reason and "'pending'" in reason


async def test_json_lines_are_imported_with_arrays_of_names_and_typed_values(client, settings):
    await call(client, "manage_fields", {"action": "create", "name": "score", "type": "number"})
    await call(client, "manage_fields", {"action": "create", "name": "vip", "type": "boolean"})
    lines = [{"email": "a@example.com", "first_name": "'=x", "score": 42, "vip": True, "lists": ["A|B", "C\\D"],
              "segments": ["S"], "status": "unconfirmed", "optout_sms": "complaint", "id": 7,
              "created_at": "2020-01-01T00:00:00Z"},
             {"email": "b@example.com", "score": 2.5, "vip": False, "lists": "A\\|B|E"}]
    body = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"
    job = await run_import(client, file_base64=b64(body.encode()), filename="contacts.jsonl")
    assert (job["created"], job["invalid"]) == (2, 0), job
    assert job["notes"] == ["columns id, created_at are this server's own records of a contact (from an export): "
                            "not imported"]
    names = {x["id"]: x["name"] for x in (await call(client, "get_lists", {}))["lists"]}
    got = await by_email(client)
    a, b = got["a@example.com"], got["b@example.com"]
    assert sorted(names[i] for i in a["list_ids"]) == ["A|B", "C\\D"]
    assert sorted(names[i] for i in b["list_ids"]) == ["A|B", "E"]  # the text form, as in a CSV
    assert (a["first_name"], a["attributes"], a["status"], a["opted_out"]) == (
        "'=x", {"score": 42, "vip": True}, "unconfirmed", ["sms"])
    assert b["attributes"] == {"score": 2.5, "vip": False}
    [segment] = (await call(client, "get_segments", {}))["segments"]
    assert (segment["name"], segment["size"]) == ("S", 1)
    await maintained_counts_equal_a_recount(settings, lists=list(names), segments=[segment["id"]])


async def test_json_lines_are_read_in_a_json_file_too_and_an_array_item_must_be_a_name(client):
    body = '{"email": "a@example.com", "lists": ["A", 3]}\n{"email": "b@example.com", "lists": ["[B]"]}\n'
    job = await run_import(client, file_base64=b64(body.encode()), filename="contacts.json")
    assert (job["created"], job["invalid"]) == (1, 1)
    assert "lists" in (await errors_of(client, job))[1]
    assert [x["name"] for x in (await call(client, "get_lists", {}))["lists"]] == ["[B]"]


async def test_a_crm_status_or_source_column_stays_an_unknown_column(client):
    # Only an export's own spelling is read as its columns: a CRM's "Status" of "Active" fails no line.
    job = await call(client, "import_file", {"csv_text": "email,Status,Source\nann@example.com,Active,Web\n",
                                             "wait_seconds": 30})
    assert job["status"] == "completed" and job["created"] == 1 and job["invalid"] == 0
    assert job["unknown_columns"] == ["Status", "Source"]


async def test_an_import_never_confirms_a_contact_waiting_for_its_double_opt_in(client):
    await call(client, "subscribe_contact", {"contact": {"email": "pending@example.com"}})
    job = await call(client, "import_file", {"csv_text": "email,status\npending@example.com,confirmed\n"
                                                         "new@example.com,unconfirmed\n", "wait_seconds": 30})
    assert job["status"] == "completed" and job["invalid"] == 0
    found = (await call(client, "get_contacts", {"emails": ["pending@example.com", "new@example.com"]}))["contacts"]
    assert {c["email"]: c["status"] for c in found} == {"pending@example.com": "unconfirmed",
                                                        "new@example.com": "unconfirmed"}
