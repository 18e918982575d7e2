"""Erasure (delete_contacts action "erase"): a contact's data goes for good, only after an explicit confirm,
with an audit row; its opt-outs stay as keyed hashes that keep its addresses blocked on every way back in."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import call, fails, raw_db
from tests.server.test_http import cli, connect, new_token, start_server

EMAIL = "Erased.Person@Example.com"
KEY = "erased.person@example.com"
MOBILE = "+33611223344"


async def _opted_out_person(client) -> tuple[int, int, int, int]:
    """An opted-out contact in a list and a segment, with events, beside a reachable one; (ids, list, segment)."""
    lst = (await call(client, "manage_lists", {"action": "create", "name": "L"}))["list"]["id"]
    seg = (await call(client, "manage_segments", {"action": "create", "name": "S"}))["segment"]["id"]
    sub = await call(client, "subscribe_contact", {"contact": {"email": EMAIL, "mobile": "06 11 22 33 44",
                                                               "list_ids": [lst]}, "segment_ids": [seg]})
    cid = sub["contact"]["id"]
    await call(client, "create_contact", {"contact_id": cid, "contact": {"first_name": "Erasmus", "attributes": {}}})
    await call(client, "optout_contact", {"contact_ids": [cid], "reason": "unsubscribed"})
    other = (await call(client, "create_contact", {"contact": {"email": "kept@example.com", "list_ids": [lst]}}))
    await call(client, "attach_to_segment", {"segment_id": seg, "contact_ids": [other["contact"]["id"]]})
    return cid, other["contact"]["id"], lst, seg


async def _erase(client, ids: list[int], reason: str = "erasure request #12") -> dict:
    preview = await call(client, "delete_contacts", {"contact_ids": ids, "action": "erase"})
    phrase = preview["note"].split("confirm='")[1].split("'")[0]
    return await call(client, "delete_contacts", {"contact_ids": ids, "action": "erase", "confirm": phrase,
                                                  "reason": reason})


def _raw(db) -> bytes:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    conn.close()
    data = db.read_bytes()
    wal = db.with_name(db.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


async def _opted_out(client, email: str) -> list[str]:
    got = await call(client, "get_contacts", {"emails": [email]})
    return got["contacts"][0].get("opted_out", [])


async def test_an_erase_without_confirm_changes_nothing_and_says_how_to_confirm(client):
    cid, _, lst, _ = await _opted_out_person(client)
    preview = await call(client, "delete_contacts", {"contact_ids": [cid, 999999], "action": "erase"})
    assert preview["changed"] == 0 and preview["not_found"] == [999999]
    assert "confirm='erase 1 contact'" in preview["note"]
    # A confirm that does not match (a reflex "yes", the wrong count) is refused; so is a missing reason.
    for confirm in ("yes", "true", "erase 2 contacts"):
        text = await fails(client, "delete_contacts", {"contact_ids": [cid], "action": "erase", "confirm": confirm,
                                                       "reason": "asked"})
        assert "confirm" in text and "erase 1 contact" in text
    text = await fails(client, "delete_contacts", {"contact_ids": [cid], "action": "erase",
                                                   "confirm": "erase 1 contact"})
    assert "reason" in text
    got = await call(client, "get_contacts", {"contact_ids": [cid]})
    assert got["contacts"][0]["first_name"] == "Erasmus"
    assert (await call(client, "get_stats", {"list_ids": [lst]}))["stats"]["subscribers"] == 2


async def test_an_erased_contact_is_gone_from_lookups_lists_segments_stats_and_events(client):
    cid, other, lst, seg = await _opted_out_person(client)
    before = (await call(client, "get_stats"))["stats"]
    assert before["subscribers"] == 2
    done = await _erase(client, [cid])
    assert done == {"changed": 1}
    got = await call(client, "get_contacts", {"contact_ids": [cid], "emails": [EMAIL], "mobiles": [MOBILE],
                                              "deleted": "include"})
    assert got.get("contacts", []) == [] and got["not_found"] == [cid, EMAIL, MOBILE]
    assert [c["id"] for c in (await call(client, "get_contacts", {"list_id": lst}))["contacts"]] == [other]
    assert (await call(client, "get_segments", {"segment_ids": [seg]}))["segments"][0]["size"] == 1
    stats = (await call(client, "get_stats"))["stats"]
    assert stats["subscribers"] == 1 and stats["opted_out"]["email"] == 0 and stats["reachable"]["email"] == 1
    assert (await call(client, "get_stats", {"list_ids": [lst]}))["stats"]["subscribers"] == 1
    assert (await call(client, "get_stats", {"segment_ids": [seg]}))["stats"]["subscribers"] == 1
    events = (await call(client, "get_events", {"contact_id": cid}))["events"]
    assert events and all("email" not in e for e in events)
    assert KEY not in json.dumps(await call(client, "get_events", {})).lower()
    # A contact id is never handed out again: the next contact is not mistaken for the erased one.
    new = (await call(client, "create_contact", {"contact": {"email": "new@example.com"}}))["contact"]["id"]
    assert new > max(cid, other)


@pytest.mark.sqlite_only  # PostgreSQL: VACUUM reclaims a deleted row's old version (README, erasure)
async def test_the_database_file_holds_no_clear_copy_of_an_erased_email(client, settings):
    cid, _, _, _ = await _opted_out_person(client)
    # A rejected import line holding the email goes too (the report of a line with another email stays).
    job = await call(client, "import_file", {"csv_text": f"email,birth_date\n{EMAIL},not a date\n"
                                                         "other@example.com,not a date\n", "wait_seconds": 30})
    assert job["invalid"] == 2, job
    assert KEY.encode() in _raw(settings.db_path).lower()
    await _erase(client, [cid])
    raw = _raw(settings.db_path).lower()
    assert KEY.encode() not in raw and b"erasmus" not in raw
    assert MOBILE.encode() not in raw and b"611223344" not in raw
    report = (await client.read_resource(job["error_report"])).contents[0].text
    assert "other@example.com" in report and KEY not in report.lower()


async def test_the_erased_email_stays_blocked_on_every_way_back_in(client):
    cid, _, _, _ = await _opted_out_person(client)
    await _erase(client, [cid])
    all_channels = ["email", "sms", "voice", "voicemail"]
    assert await _opted_out(client, (await call(client, "create_contact", {"contact": {"email": EMAIL}}))
                            ["contact"]["email"]) == all_channels
    await call(client, "delete_contacts", {"contact_ids": [(await call(client, "get_contacts", {"emails": [EMAIL]}))
                                                           ["contacts"][0]["id"]], "action": "erase",
                                           "confirm": "erase 1 contact", "reason": "test again"})
    got = await call(client, "upsert_contacts", {"contacts": [{"email": KEY.upper()}]})
    assert got["created"] == 1 and await _opted_out(client, KEY) == all_channels
    await call(client, "delete_contacts", {"contact_ids": [got["items"][0]["id"]], "action": "erase",
                                           "confirm": "erase 1 contact", "reason": "test again"})
    job = await call(client, "import_file", {"csv_text": f"email\n{EMAIL}\nfresh@example.com\n", "wait_seconds": 30})
    assert job["created"] == 2 and await _opted_out(client, EMAIL) == all_channels
    assert await _opted_out(client, "fresh@example.com") == []
    # The mobile on its own, by a sign-up form, and an existing contact taking the email: blocked too.
    sub = await call(client, "subscribe_contact", {"contact": {"mobile": "0611223344"}})
    assert sub["contact"]["opted_out"] == all_channels
    other = (await call(client, "create_contact", {"contact": {"email": "z@example.com"}}))["contact"]["id"]
    await call(client, "delete_contacts", {"contact_ids": [(await call(client, "get_contacts", {"emails": [EMAIL]}))
                                                           ["contacts"][0]["id"]], "action": "erase",
                                           "confirm": "erase 1 contact", "reason": "test again"})
    moved = await call(client, "create_contact", {"contact_id": other, "contact": {"email": EMAIL}})
    assert moved["contact"]["opted_out"] == all_channels
    assert (await call(client, "get_stats"))["stats"]["opted_out"]["email"] == 2  # the mobile's and z's


async def test_the_erased_suppression_is_listed_without_its_address_and_lifted_by_giving_it_again(client):
    cid, _, _, _ = await _opted_out_person(client)
    await _erase(client, [cid])
    [record] = (await call(client, "get_optouts", {}))["optouts"]
    assert record["erased"] is True and "address" not in record and "contact_id" not in record
    assert record.get("other_addresses", []) == [] and record["reason"] == "unsubscribed"
    # Lifted by the address it blocks (hashed and matched), as the audited restore.
    got = await call(client, "restore_optout", {"emails": [EMAIL], "reason": "asked to be written to again"})
    assert got["restored"] == 1
    # The mobile stays blocked: only what was named is lifted.
    assert (await call(client, "create_contact", {"contact": {"email": EMAIL}}))["contact"].get("opted_out") is None
    sub = await call(client, "subscribe_contact", {"contact": {"mobile": MOBILE}})
    assert sub["contact"]["opted_out"] == ["email", "sms", "voice", "voicemail"]


async def test_a_soft_deleted_contact_is_erased_and_audited_without_personal_data(client, settings):
    cid, _, _, _ = await _opted_out_person(client)
    await call(client, "delete_contacts", {"contact_ids": [cid]})
    assert await _erase(client, [cid], reason="GDPR art. 17 request") == {"changed": 1}
    with raw_db(settings) as conn:
        rows = [tuple(r) for r in conn.execute("SELECT account_id, erased_by, reason, erased, contact_ids, created_at "
                                               "FROM erasures").fetchall()]
    assert len(rows) == 1 and rows[0][:5] == (1, "local", "GDPR art. 17 request", 1, f"[{cid}]")
    assert KEY not in json.dumps(rows).lower()


async def test_a_read_token_cannot_erase_and_the_audit_names_the_token_that_did(tmp_path):
    db = tmp_path / "erase.db"
    cli(db, "account", "create", "a")
    writer, reader = new_token(db, "a"), new_token(db, "a", "read")
    port, proc = start_server(db)
    try:
        async with connect(port, writer) as a:
            cid = (await call(a, "create_contact", {"contact": {"email": EMAIL}}))["contact"]["id"]
        async with connect(port, reader) as r:
            for args in ({}, {"confirm": "erase 1 contact", "reason": "reader tries"}):
                text = await fails(r, "delete_contacts", {"contact_ids": [cid], "action": "erase", **args})
                assert "scope write" in text
            assert (await call(r, "get_contacts", {"contact_ids": [cid]}))["contacts"][0]["id"] == cid
        async with connect(port, writer) as a:
            assert (await _erase(a, [cid]))["changed"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    conn = sqlite3.connect(db)
    [(account, by)] = conn.execute("SELECT a.name, e.erased_by FROM erasures e JOIN accounts a ON a.id = e.account_id")
    conn.close()
    assert account == "a" and by == f"token {writer.split('_')[1]}"


async def test_a_contact_taking_an_erased_address_owns_its_opt_out_and_a_restore_of_it_lifts_it(client):
    cid, _, _, _ = await _opted_out_person(client)
    await _erase(client, [cid])
    new = (await call(client, "create_contact", {"contact": {"email": EMAIL}}))["contact"]
    assert new["opted_out"] == ["email", "sms", "voice", "voicemail"]
    [record] = (await call(client, "get_optouts", {"contact_id": new["id"]}))["optouts"]
    assert record["erased"] is True and "address" not in record
    got = await call(client, "restore_optout", {"contact_ids": [new["id"]], "reason": "asked again by phone"})
    assert got == {"restored": 1, "contacts_changed": 1}
    assert (await call(client, "get_contacts", {"contact_ids": [new["id"]]}))["contacts"][0].get("opted_out") is None


async def test_erasing_a_contact_leaves_another_contacts_opt_out_of_a_shared_fixed_phone_as_it_was(client):
    # A household's fixed phone is the other contact's own address too: its opt-out is not an erased one.
    home = "+33144444444"
    kept = (await call(client, "create_contact", {"contact": {"ext_id": "K1", "fixed_phone": "01 44 44 44 44"}}))
    gone = (await call(client, "create_contact", {"contact": {"email": "gone@example.com", "fixed_phone": home}}))
    await call(client, "optout_contact", {"contact_ids": [kept["contact"]["id"]], "reason": "unsubscribed"})
    await _erase(client, [gone["contact"]["id"]])
    [record] = (await call(client, "get_optouts", {"contact_id": kept["contact"]["id"]}))["optouts"]
    assert record["address"] == home and "erased" not in record
    # And the phone stays blocked for whoever takes it next.
    new = await call(client, "create_contact", {"contact": {"email": "next@example.com", "fixed_phone": home}})
    assert {"voice", "voicemail"} <= set(new["contact"]["opted_out"])
