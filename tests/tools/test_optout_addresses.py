"""An opt-out blocks every address its channel uses (email; mobile for sms, voice and voicemail; fixed
phone for voice and voicemail), for whoever has that address later, whichever way it arrives; a restore
lifts all of them; an upgraded database gets the same protection."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from contacts_mcp.core.settings import Settings
from contacts_mcp.storage.sqlite.stats import PROFILE_SQL
from tests.conftest import call

FIXED = "+33144444444"


async def _contact(client, **fields) -> int:
    return (await call(client, "create_contact", {"contact": fields}))["contact"]["id"]


async def _opted_out(client, contact_id: int) -> list[str]:
    got = await call(client, "get_contacts", {"contact_ids": [contact_id], "deleted": "include"})
    return got["contacts"][0].get("opted_out", [])


async def _import(client_with, tmp_path: Path, csv: str, **options) -> dict:
    (tmp_path / "in.csv").write_text(csv)
    async with client_with(import_roots=(tmp_path,)) as c:
        job = await call(c, "import_file", {"path": str(tmp_path / "in.csv"), **options})
        return (await call(c, "get_jobs", {"job_id": job["id"], "wait_seconds": 10}))["jobs"][0]


async def test_a_voice_opt_out_on_a_fixed_phone_blocks_a_new_contact_with_that_fixed_phone(client):
    a = await _contact(client, email="a@example.com", mobile="0611111111", fixed_phone="01 44 44 44 44")
    await call(client, "optout_contact", {"contact_ids": [a], "channels": ["voice"], "reason": "unsubscribed"})
    b = await _contact(client, email="b@example.com", fixed_phone="0144444444")
    assert await _opted_out(client, b) == ["voice"]
    # A fixed phone is shared (a household): it blocks what it serves, never email or sms.
    await call(client, "optout_contact", {"contact_ids": [a], "channels": ["all"], "reason": "complaint"})
    c = await _contact(client, email="c@example.com", mobile="0633333333", fixed_phone=FIXED)
    assert await _opted_out(client, c) == ["voice", "voicemail"]
    # The maintained statistics moved the same way (a, b, c: voice blocked for all three).
    stats = (await call(client, "get_stats"))["stats"]
    assert stats["opted_out"] == {"email": 1, "sms": 1, "voice": 3, "voicemail": 2}
    assert stats["reachable"] == {"email": 2, "sms": 1, "voice": 0, "voicemail": 1}
    assert stats["opted_out_by_reason"] == {"unsubscribed": 3, "owner_blocked": 0, "hardbounce": 0, "complaint": 2}


async def test_an_all_opt_out_blocks_the_old_mobile_after_the_contact_changes_it(client):
    a = await _contact(client, email="a@example.com", mobile="0611111111")
    await call(client, "optout_contact", {"contact_ids": [a], "reason": "unsubscribed"})
    await call(client, "create_contact", {"contact_id": a, "contact": {"mobile": "0622222222"}})
    assert await _opted_out(client, a) == ["email", "sms", "voice", "voicemail"]  # the contact stays opted out
    b = await _contact(client, email="b@example.com", mobile="06 11 11 11 11")
    assert "sms" in await _opted_out(client, b)
    # The listing shows the opt-out once, with every address it blocks.
    [record] = (await call(client, "get_optouts", {"contact_id": a}))["optouts"]
    assert record["address"] == "a@example.com"
    assert set(record["other_addresses"]) == {"+33611111111", "+33622222222"}


async def test_an_address_taken_after_the_opt_out_stays_blocked_once_given_up(client):
    a = await _contact(client, email="a@example.com")
    await call(client, "optout_contact", {"contact_ids": [a], "reason": "unsubscribed"})
    await call(client, "create_contact", {"contact_id": a, "contact": {"mobile": "0611111111", "fixed_phone": FIXED}})
    await call(client, "create_contact", {"contact_id": a, "contact": {"mobile": "0622222222"}})
    await call(client, "create_contact", {"contact_id": a, "contact": {"fixed_phone": ""}, "empty_values_erase": True})
    got = await call(client, "upsert_contacts", {"contacts": [{"mobile": "0611111111"}], "dedupe_on": "mobile"})
    assert got["created"] == 1 and "sms" in await _opted_out(client, got["items"][0]["id"])
    b = await _contact(client, email="b@example.com", fixed_phone=FIXED)
    assert await _opted_out(client, b) == ["voice", "voicemail"]


async def test_an_sms_opt_out_taken_before_the_contact_had_a_mobile_blocks_the_mobile_it_takes(client):
    a = await _contact(client, email="a@example.com")
    await call(client, "optout_contact", {"contact_ids": [a], "channels": ["sms"], "reason": "unsubscribed"})
    await call(client, "create_contact", {"contact_id": a, "contact": {"mobile": "0611111111"}})
    await call(client, "create_contact", {"contact_id": a, "contact": {"mobile": "0622222222"}})
    b = await _contact(client, email="b@example.com", mobile="0611111111")
    assert await _opted_out(client, b) == ["sms"]
    [record] = (await call(client, "get_optouts", {"contact_id": a}))["optouts"]
    assert record["address"] == "+33611111111" and record["other_addresses"] == ["+33622222222"]


async def test_subscribing_with_an_opted_out_contacts_old_mobile_is_blocked(client):
    a = await _contact(client, email="a@example.com", mobile="0611111111")
    await call(client, "optout_contact", {"contact_ids": [a], "channels": ["sms"], "reason": "unsubscribed"})
    await call(client, "create_contact", {"contact_id": a, "contact": {"mobile": "0622222222"}})
    got = await call(client, "subscribe_contact", {"contact": {"mobile": "0611111111"}})
    assert got["outcome"] == "created" and got["contact"]["opted_out"] == ["sms"]


async def test_an_import_of_new_contacts_blocks_an_opted_out_fixed_phone(client, client_with, tmp_path: Path):
    a = await _contact(client, email="a@example.com", mobile="0611111111", fixed_phone=FIXED)
    await call(client, "optout_contact", {"contact_ids": [a], "channels": ["voicemail"], "reason": "complaint"})
    # All lines new and distinct: the column-wise lane, which must look fixed phones up too.
    done = await _import(client_with, tmp_path, "email,fixed_phone\nn1@example.com,01 44 44 44 44\n"
                                               "n2@example.com,0155555555\n")
    assert done["created"] == 2
    found = (await call(client, "get_contacts", {"emails": ["n1@example.com", "n2@example.com"]}))["contacts"]
    assert [c.get("opted_out", []) for c in found] == [["voicemail"], []]
    assert (await call(client, "get_stats"))["stats"]["opted_out"]["voicemail"] == 2


async def test_restoring_an_all_opt_out_lifts_every_address_it_recorded(client):
    a = await _contact(client, email="a@example.com", mobile="0611111111", fixed_phone=FIXED)
    await call(client, "optout_contact", {"contact_ids": [a], "reason": "unsubscribed"})
    await call(client, "create_contact", {"contact_id": a, "contact": {"mobile": "0622222222"}})
    got = await call(client, "restore_optout", {"contact_ids": [a], "reason": "consent given by phone",
                                                 "restored_by": "support"})
    assert got == {"restored": 1, "contacts_changed": 1}
    b = await _contact(client, email="b@example.com", mobile="0611111111", fixed_phone=FIXED)
    assert await _opted_out(client, b) == []
    [lifted] = (await call(client, "get_optouts", {"contact_id": a, "include_restored": True}))["optouts"]
    assert lifted["restored_by"] == "support" and lifted["restore_reason"] == "consent given by phone"


async def test_lifting_one_channel_of_an_all_opt_out_keeps_the_others_on_every_address(client):
    a = await _contact(client, email="a@example.com", mobile="0611111111", fixed_phone=FIXED)
    await call(client, "optout_contact", {"contact_ids": [a], "reason": "unsubscribed"})
    await call(client, "restore_optout", {"contact_ids": [a], "channels": ["voice"], "reason": "may call again"})
    assert await _opted_out(client, a) == ["email", "sms", "voicemail"]
    await call(client, "create_contact", {"contact_id": a, "contact": {"mobile": "0622222222"}})
    b = await _contact(client, email="b@example.com", mobile="0611111111", fixed_phone=FIXED)
    assert await _opted_out(client, b) == ["email", "sms", "voicemail"]


async def test_restoring_a_contact_on_email_leaves_a_shared_phones_opt_out_alone(client):
    # The number is another contact's fixed phone, or (typed in that field) its mobile.
    for n, field in enumerate(("fixed_phone", "mobile")):
        number = f"+3361444444{n}"  # a mobile number may be typed as a fixed phone
        a = await _contact(client, email=f"a{n}@example.com", **{field: number})
        await call(client, "optout_contact", {"contact_ids": [a], "channels": ["all"], "reason": "complaint"})
        b = await _contact(client, email=f"b{n}@example.com", fixed_phone=number, email_blacklisted=True)
        assert await _opted_out(client, b) == ["email", "voice", "voicemail"]
        got = await call(client, "restore_optout", {"contact_ids": [b], "channels": ["email"],
                                                     "reason": "re-subscribed"})
        assert got == {"restored": 1, "contacts_changed": 1}
        assert await _opted_out(client, b) == ["voice", "voicemail"]
        assert await _opted_out(client, a) == ["email", "sms", "voice", "voicemail"]
        [kept] = (await call(client, "get_optouts", {"contact_id": a}))["optouts"]
        assert kept["channel"] == "all"


async def test_restoring_a_contact_lifts_another_contacts_opt_out_only_on_the_number_they_share(client):
    a = await _contact(client, email="a@example.com", mobile="0611111111", fixed_phone=FIXED)
    await call(client, "optout_contact", {"contact_ids": [a], "channels": ["all"], "reason": "complaint"})
    b = await _contact(client, email="b@example.com", fixed_phone=FIXED)
    assert await _opted_out(client, b) == ["voice", "voicemail"]
    got = await call(client, "restore_optout", {"contact_ids": [b], "channels": ["voice", "voicemail"],
                                                 "reason": "the household agreed", "restored_by": "support"})
    assert got == {"restored": 1, "contacts_changed": 1}
    assert await _opted_out(client, b) == []
    assert await _opted_out(client, a) == ["email", "sms", "voice", "voicemail"]
    [active] = (await call(client, "get_optouts", {"contact_id": a}))["optouts"]
    assert active["channel"] == "all" and active["other_addresses"] == ["+33611111111"]
    history = (await call(client, "get_optouts", {"contact_id": a, "include_restored": True}))["optouts"]
    assert [o["restored_by"] for o in history if o.get("restored_at")] == ["support"]
    # a's other addresses stay blocked for whoever takes them; the shared number no longer is.
    await call(client, "create_contact", {"contact_id": a, "contact": {"mobile": "0622222222"}})
    c = await _contact(client, email="c@example.com", mobile="0611111111")
    d = await _contact(client, email="d@example.com", fixed_phone=FIXED)
    assert await _opted_out(client, c) == ["email", "sms", "voice", "voicemail"]
    assert await _opted_out(client, d) == []


def _old_database(path: Path) -> None:
    """A database as the step before opt-out addresses left it: "all" recorded under the email only."""
    from contacts_mcp.storage.sqlite import migrations

    conn = sqlite3.connect(path, isolation_level=None)
    step = next(i for i, m in enumerate(migrations.MIGRATIONS) if m[1] == migrations.OPTOUT_ADDRESSES_STEP)
    original = migrations.MIGRATIONS
    migrations.MIGRATIONS = original[:step]
    try:
        migrations.migrate(conn)
    finally:
        migrations.MIGRATIONS = original
    conn.execute("INSERT INTO contacts (id, account_id, email, email_key, mobile, fixed_phone, source, created_at, "
                 "updated_at, optout_mask, optout_reasons) VALUES "
                 "(1, 1, 'a@x.fr', 'a@x.fr', '+33622222222', '+33144444444', 'api', 't', 't', 15, 1), "
                 "(2, 1, 'e@x.fr', 'e@x.fr', '+33655555555', NULL, 'api', 't', 't', 2, 1)")
    # Recorded when the contact's mobile was +33611111111 (an "sms" opt-out), and an "all" one.
    conn.execute("INSERT INTO optouts (account_id, contact_id, address, channel, reason, source, created_at) "
                 "VALUES (1, 1, '+33611111111', 'sms', 'unsubscribed', 'api', 't'), "
                 "(1, 1, 'a@x.fr', 'all', 'unsubscribed', 'api', 't'), "
                 # Recorded with no address: the contact had no mobile then.
                 "(1, 2, NULL, 'sms', 'unsubscribed', 'api', 't')")
    # As the writer of that version would have counted it.
    conn.execute(f"INSERT INTO group_counts (account_id, kind, group_id, profile, n) SELECT 1, 'base', 0, "
                 f"{PROFILE_SQL}, COUNT(*) FROM contacts c GROUP BY 4")
    conn.close()


@pytest.mark.sqlite_only  # a SQLite file made by an earlier release
async def test_an_upgraded_database_blocks_every_address_of_its_existing_opt_outs(tmp_path: Path, settings: Settings):
    from dataclasses import replace

    from mcp import Client

    from contacts_mcp.server.app import build_server

    db = tmp_path / "old.db"
    _old_database(db)
    async with Client(build_server(replace(settings, db_path=db))) as client:
        old_mobile = await _contact(client, email="b@x.fr", mobile="+33611111111")
        fixed = await _contact(client, email="c@x.fr", fixed_phone="+33144444444")
        assert await _opted_out(client, old_mobile) == ["sms"]
        assert await _opted_out(client, fixed) == ["voice", "voicemail"]
        stats = (await call(client, "get_stats"))["stats"]
        assert stats["subscribers"] == 4
        assert stats["opted_out"] == {"email": 1, "sms": 3, "voice": 2, "voicemail": 2}
        [record] = (await call(client, "get_optouts", {"contact_id": 2}))["optouts"]
        assert record["address"] == "+33655555555"
        await call(client, "restore_optout", {"contact_ids": [1], "reason": "consent recorded"})
        later = await _contact(client, email="d@x.fr", fixed_phone="+33144444444")
        assert await _opted_out(client, later) == []
