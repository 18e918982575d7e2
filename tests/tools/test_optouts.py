"""optout_contact, restore_optout, get_optouts: per-channel opt-outs that nothing but a restore lifts."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import call, fails


async def _contact(client, **fields) -> int:
    return (await call(client, "create_contact", {"contact": fields}))["contact"]["id"]


async def _opted_out(client, contact_id: int) -> list[str]:
    got = await call(client, "get_contacts", {"contact_ids": [contact_id], "deleted": "include"})
    return got["contacts"][0].get("opted_out", [])


async def test_an_opt_out_blocks_the_channel_and_is_listed_with_its_reason(client):
    cid = await _contact(client, email="a@example.com", mobile="0612345678")
    got = await call(client, "optout_contact", {"contact_ids": [cid], "channels": ["sms"], "reason": "unsubscribed",
                                                 "source": "STOP reply"})
    assert got["opted_out"] == 1 and got["already"] == 0
    assert await _opted_out(client, cid) == ["sms"]
    listed = await call(client, "get_optouts", {"reason": "unsubscribed"})
    [record] = listed["optouts"]
    assert record["contact_id"] == cid and record["channel"] == "sms" and record["address"] == "+33612345678"
    assert record["source"] == "STOP reply"
    assert (await call(client, "get_optouts", {"reason": "complaint"}))["optouts"] == []
    assert (await call(client, "get_optouts", {"channel": "email"}))["optouts"] == []
    again = await call(client, "optout_contact", {"contact_ids": [cid], "channels": ["sms"], "reason": "unsubscribed"})
    assert again == {"opted_out": 0, "already": 1, "suppressed_count": 0}


async def test_all_channels_block_every_channel(client):
    cid = await _contact(client, email="b@example.com")
    await call(client, "optout_contact", {"emails": ["B@Example.com"], "channels": ["all"], "reason": "complaint"})
    assert await _opted_out(client, cid) == ["email", "sms", "voice", "voicemail"]


async def test_a_hardbounce_or_complaint_without_channels_blocks_email_only(client):
    bounced = await _contact(client, email="hb@example.com", mobile="0612340001")
    spam = await _contact(client, email="sp@example.com", mobile="0612340002")
    asked = await _contact(client, email="un@example.com", mobile="0612340003")
    await call(client, "optout_contact", {"contact_ids": [bounced], "reason": "hardbounce"})
    await call(client, "optout_contact", {"contact_ids": [spam], "reason": "complaint"})
    await call(client, "optout_contact", {"contact_ids": [asked], "reason": "unsubscribed"})
    assert await _opted_out(client, bounced) == ["email"]
    assert await _opted_out(client, spam) == ["email"]
    assert await _opted_out(client, asked) == ["email", "sms", "voice", "voicemail"]
    stats = (await call(client, "get_stats", {}))["stats"]
    assert stats["reachable"]["sms"] == 2 and stats["reachable"]["email"] == 0


async def test_an_unknown_contact_id_fails_the_call_and_changes_nothing(client):
    cid = await _contact(client, email="c@example.com")
    text = await fails(client, "optout_contact", {"contact_ids": [cid, 999999], "reason": "hardbounce"})
    assert "999999" in text and "get_contacts" in text
    assert await _opted_out(client, cid) == []


async def test_an_address_that_is_no_contact_yet_is_blocked_when_it_becomes_one(client):
    got = await call(client, "optout_contact", {"emails": ["later@example.com"], "mobiles": ["06 99 88 77 66"],
                                                 "channels": ["email", "sms"], "reason": "owner_blocked"})
    assert got["suppressed_count"] == 2 and "later@example.com" in got["suppressed_addresses"]
    cid = await _contact(client, email="Later@example.com")
    assert await _opted_out(client, cid) == ["email", "sms"]
    mid = (await call(client, "upsert_contacts", {"contacts": [{"mobile": "+33699887766"}], "dedupe_on": "mobile"}))
    assert await _opted_out(client, mid["items"][0]["id"]) == ["email", "sms"]
    bound = await call(client, "get_optouts", {"contact_id": cid})
    assert {o["address"] for o in bound["optouts"]} == {"later@example.com"}


async def test_an_invalid_address_is_refused_naming_it(client):
    text = await fails(client, "optout_contact", {"emails": ["not-an-email"], "reason": "unsubscribed"})
    assert "emails[0]" in text


async def test_more_than_ten_thousand_targets_are_refused(client):
    text = await fails(client, "optout_contact", {"contact_ids": list(range(1, 10_002)), "reason": "unsubscribed"})
    assert "10,000" in text and "10,001" in text


async def test_nothing_but_a_restore_lifts_an_opt_out(client, client_with, tmp_path: Path):
    cid = await _contact(client, email="keep@example.com", mobile="0611111111", email_blacklisted=True)
    await call(client, "optout_contact", {"contact_ids": [cid], "channels": ["sms"], "reason": "unsubscribed"})
    expected = ["email", "sms"]
    await call(client, "create_contact", {"contact": {"email": "keep@example.com", "email_blacklisted": False,
                                                      "sms_blacklisted": False, "first_name": "K"}})
    await call(client, "create_contact", {"contact_id": cid, "contact": {"email_blacklisted": False, "mobile": "0622222222"}})
    await call(client, "upsert_contacts", {"contacts": [{"email": "keep@example.com", "sms_blacklisted": False}],
                                           "empty_values_erase": True})
    await call(client, "delete_contacts", {"contact_ids": [cid]})
    await call(client, "delete_contacts", {"contact_ids": [cid], "action": "restore"})
    assert await _opted_out(client, cid) == expected
    # And an import that updates the contact, with a row that says nothing of opt-outs.
    (tmp_path / "again.csv").write_text("email,first_name\nkeep@example.com,Again\n")
    async with client_with(import_roots=(tmp_path,)) as c2:
        job = await call(c2, "import_file", {"path": str(tmp_path / "again.csv"), "update_enabled": True})
        done = await call(c2, "get_jobs", {"job_id": job["id"], "wait_seconds": 10})
        assert done["jobs"][0]["updated"] == 1
        assert await _opted_out(c2, cid) == expected


async def test_a_restore_needs_a_reason_and_leaves_an_audit_trail(client):
    cid = await _contact(client, email="r@example.com", mobile="0633333333")
    await call(client, "optout_contact", {"contact_ids": [cid], "reason": "unsubscribed"})
    assert "reason" in await fails(client, "restore_optout", {"contact_ids": [cid], "reason": ""})
    got = await call(client, "restore_optout", {"contact_ids": [cid], "channels": ["email"],
                                                 "reason": "asked again by phone", "restored_by": "support"})
    assert got == {"restored": 1, "contacts_changed": 1}
    # The "all" opt-out lost email only: the other channels stay blocked.
    assert await _opted_out(client, cid) == ["sms", "voice", "voicemail"]
    history = await call(client, "get_optouts", {"contact_id": cid, "include_restored": True})
    lifted = [o for o in history["optouts"] if o.get("restored_at")]
    assert len(lifted) == 1 and lifted[0]["restored_by"] == "support"
    assert lifted[0]["restore_reason"] == "asked again by phone" and lifted[0]["channel"] == "all"
    await call(client, "restore_optout", {"contact_ids": [cid], "reason": "consent recorded"})
    assert await _opted_out(client, cid) == []
    assert (await call(client, "get_optouts", {"contact_id": cid}))["optouts"] == []


async def test_restoring_an_address_lifts_its_suppression_entry(client):
    await call(client, "optout_contact", {"emails": ["s@example.com"], "channels": ["email"], "reason": "hardbounce"})
    await call(client, "restore_optout", {"emails": ["s@example.com"], "reason": "mailbox fixed"})
    cid = await _contact(client, email="s@example.com")
    assert await _opted_out(client, cid) == []


async def test_opt_outs_page_newest_first_and_filter_by_list_and_date(client):
    lst = (await call(client, "manage_lists", {"action": "create", "name": "L"}))["list"]["id"]
    ids = [await _contact(client, email=f"p{i}@example.com", list_ids=[lst] if i < 3 else []) for i in range(5)]
    for cid in ids:
        await call(client, "optout_contact", {"contact_ids": [cid], "channels": ["email"], "reason": "unsubscribed"})
    first = await call(client, "get_optouts", {"limit": 2})
    assert [o["contact_id"] for o in first["optouts"]] == [ids[4], ids[3]]
    rest = await call(client, "get_optouts", {"limit": 10, "cursor": first["next_cursor"]})
    assert [o["contact_id"] for o in rest["optouts"]] == [ids[2], ids[1], ids[0]] and "next_cursor" not in rest
    in_list = await call(client, "get_optouts", {"list_id": lst})
    assert sorted(o["contact_id"] for o in in_list["optouts"]) == ids[:3]
    assert (await call(client, "get_optouts", {"since": "2999-01-01"}))["optouts"] == []
    assert "list id" in await fails(client, "get_optouts", {"list_id": 424242})
