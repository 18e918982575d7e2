"""subscribe_contact / confirm_subscription, events and webhooks, through an MCP client."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3

import anyio

from tests.conftest import call, fails, raw_db


async def test_a_new_subscriber_is_unconfirmed_and_not_emailable_until_confirmed(client):
    lst = (await call(client, "manage_lists", {"action": "create", "name": "News"}))["list"]["id"]
    got = await call(client, "subscribe_contact", {"contact": {"email": "new@example.com", "list_ids": [lst]},
                                                   "form_type": "newsletter"})
    assert got["outcome"] == "created" and got["contact"]["status"] == "unconfirmed"
    assert got["contact"]["source"] == "subscribe:newsletter" and got["event"] == "subscribeFromApi-newsletter"
    stats = (await call(client, "get_stats", {"list_ids": [lst]}))["stats"]
    assert stats["reachable"]["email"] == 0 and stats["unconfirmed"] == 1
    confirmed = await call(client, "confirm_subscription", {"token": got["token"]})
    assert confirmed["contact"]["status"] == "confirmed"
    assert (await call(client, "get_stats", {"list_ids": [lst]}))["stats"]["reachable"]["email"] == 1
    assert "already used" in await fails(client, "confirm_subscription", {"token": got["token"]})
    assert "token" in await fails(client, "confirm_subscription", {"token": "made-up"})


async def test_an_existing_contact_is_updated_keeps_its_status_and_opt_outs(client):
    cid = (await call(client, "create_contact", {"contact": {"email": "old@example.com"}}))["contact"]["id"]
    await call(client, "optout_contact", {"contact_ids": [cid], "channels": ["email"], "reason": "unsubscribed"})
    got = await call(client, "subscribe_contact", {"contact": {"email": "OLD@example.com", "first_name": "Ann"}})
    assert got["outcome"] == "updated" and got["event"] == "subscribeUpdateFromApi"
    assert got["contact"]["status"] == "confirmed" and got["contact"]["opted_out"] == ["email"]
    await call(client, "confirm_subscription", {"token": got["token"]})
    after = await call(client, "get_contacts", {"contact_ids": [cid]})
    assert after["contacts"][0]["opted_out"] == ["email"] and after["contacts"][0]["first_name"] == "Ann"


async def test_an_expired_token_is_refused(client, settings):
    got = await call(client, "subscribe_contact", {"contact": {"mobile": "0612121212"}, "expires_hours": 1})
    with raw_db(settings) as conn:  # time travel: the token's expiry moved into the past
        conn.execute("UPDATE confirmations SET expires_at = '2000-01-01T00:00:00.000000Z'")
    assert "expired" in await fails(client, "confirm_subscription", {"token": got["token"]})


async def test_subscribing_joins_segments_and_needs_an_address(client):
    seg = (await call(client, "manage_segments", {"action": "create", "name": "Fair"}))["segment"]["id"]
    got = await call(client, "subscribe_contact", {"contact": {"email": "f@example.com"}, "segment_ids": [seg]})
    assert (await call(client, "get_segments", {"segment_ids": [seg]}))["segments"][0]["size"] == 1
    assert got["contact"]["id"]
    assert "email or a mobile" in await fails(client, "subscribe_contact", {"contact": {"first_name": "X"}})
    assert "segment id" in await fails(client, "subscribe_contact", {"contact": {"email": "g@example.com"},
                                                                     "segment_ids": [999]})


async def test_events_are_recorded_for_subscriptions_and_event_keys(client):
    await call(client, "subscribe_contact", {"contact": {"email": "e1@example.com"}, "form_type": "fair"})
    bulk = await call(client, "upsert_contacts", {"contacts": [{"email": "e1@example.com"}, {"email": "e2@example.com"}],
                                                  "event_key": "springFair2026"})
    assert bulk["created"] == 1
    keyed = await call(client, "get_events", {"type": "springFair2026"})
    assert [(e["email"], e["contact_id"]) for e in keyed["events"]] == [("e2@example.com", bulk["items"][1]["id"])]
    everything = await call(client, "get_events", {"limit": 1})
    assert everything["events"][0]["type"] == "subscribeFromApi-fair" and everything["next_cursor"]
    text = await fails(client, "upsert_contacts", {"contacts": [{"email": "x@example.com"}], "event_key": "bad key!"})
    assert "letters and digits" in text
    assert "letters and digits" in await fails(client, "import_file", {"csv_text": "email\na@b.fr\n",
                                                                      "event_key": "no-dash"})


async def test_an_import_with_an_event_key_records_one_event_per_new_contact(client):
    job = await call(client, "import_file", {"csv_text": "email\na@example.com\nb@example.com\n", "event_key": "crm",
                                             "wait_seconds": 10})
    assert job["status"] == "completed"
    assert len((await call(client, "get_events", {"type": "crm"}))["events"]) == 2


async def _delivered(client, webhook_id: int, want: int) -> dict:
    with anyio.fail_after(10):
        while True:
            hooks = (await call(client, "manage_webhooks", {"action": "list"}))["webhooks"]
            hook = next(h for h in hooks if h["id"] == webhook_id)
            if hook["deliveries"].get("delivered", 0) >= want:
                return hook
            await anyio.sleep(0.05)


async def test_a_webhook_gets_events_and_a_failing_receiver_is_retried(client_with, http_files):
    base, received, failures = http_files
    async with client_with(allow_private_urls=True, webhook_first_delay=0.05) as client:
        hook = (await call(client, "manage_webhooks", {"action": "create", "url": f"{base}/hook",
                                                       "event_types": ["subscribeFromApi"]}))["webhooks"][0]
        failures["left"] = 2  # the receiver fails twice, then accepts
        await call(client, "subscribe_contact", {"contact": {"email": "w@example.com"}})
        await call(client, "subscribe_contact", {"contact": {"email": "w@example.com"}})  # an update: not wanted
        done = await _delivered(client, hook["id"], 1)
        assert done["recent"][0]["attempts"] == 3 and done["recent"][0]["status"] == "delivered"
        assert [r["event"] for r in received] == ["subscribeFromApi"] and received[0]["email"] == "w@example.com"
        headers, body = received.raw[0]
        expected = hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Contacts-Signature"] == f"sha256={expected}"
        listed = (await call(client, "manage_webhooks", {"action": "list"}))["webhooks"][0]
        assert "secret" not in listed  # shown once, at creation
        assert done["deliveries"] == {"delivered": 1}
        assert (await call(client, "manage_webhooks", {"action": "delete", "webhook_id": hook["id"]}))["deleted"] == 1


async def test_a_webhook_on_loopback_is_refused_by_default(client, http_files):
    base, _, _ = http_files
    text = await fails(client, "manage_webhooks", {"action": "create", "url": f"{base}/hook"})
    assert "127.0.0.1" in text or "loopback" in text or "private" in text


async def test_a_new_contact_event_carries_the_email_and_the_sms_number_keyed_by_email_else_phone(client):
    bulk = await call(client, "upsert_contacts", {"event_key": "fair", "contacts": [
        {"email": "both@example.com", "mobile": "0612345678"}, {"mobile": "0698765432", "ext_id": "x"}]})
    events = (await call(client, "get_events", {"type": "fair"}))["events"]
    assert [(e["contact_id"], e.get("email"), e["data"]) for e in events] == [
        (bulk["items"][0]["id"], "both@example.com", {"key": "both@example.com", "sms": "+33612345678"}),
        (bulk["items"][1]["id"], None, {"key": "+33698765432", "sms": "+33698765432"})]


async def test_subscribing_takes_the_postal_address_and_groups_by_name(client):
    news = (await call(client, "manage_lists", {"action": "create", "name": "Newsletter"}))["list"]["id"]
    vip = (await call(client, "manage_segments", {"action": "create", "name": "VIP"}))["segment"]["id"]
    got = await call(client, "subscribe_contact", {"contact": {
        "email": "s@example.com", "address_1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris",
        "country": "FR", "groups": ["newsletter", "Vip"]}})
    contact = got["contact"]
    assert contact["city"] == "Paris" and contact["postal_code"] == "75002" and contact["list_ids"] == [news]
    members = await call(client, "get_contacts", {"segment_id": vip})
    assert [c["id"] for c in members["contacts"]] == [contact["id"]]
    text = await fails(client, "subscribe_contact", {"contact": {"email": "t@example.com", "groups": ["Nope"]}})
    assert "Nope" in text and "manage_lists" in text
    assert (await call(client, "get_contacts", {"emails": ["t@example.com"]}))["not_found"] == ["t@example.com"]


async def test_bulk_upserts_join_and_leave_lists_and_segments_by_name_and_an_unknown_name_fails_that_contact(client):
    a = (await call(client, "manage_lists", {"action": "create", "name": "A"}))["list"]["id"]
    s = (await call(client, "manage_segments", {"action": "create", "name": "S"}))["segment"]["id"]
    got = await call(client, "upsert_contacts", {"contacts": [
        {"email": "1@example.com", "groups": ["a", "s"]},
        {"email": "2@example.com", "groups": ["a", "Missing"]}]})
    assert got["created"] == 1 and got["failed"] == 1 and "'Missing'" in got["items"][1]["error"]
    left = await call(client, "upsert_contacts", {"contacts": [{"email": "1@example.com", "unlink_groups": ["S"]}]})
    assert left["updated"] == 1
    [contact] = (await call(client, "get_contacts", {"emails": ["1@example.com"]}))["contacts"]
    assert contact["list_ids"] == [a]
    assert (await call(client, "get_contacts", {"segment_id": s}))["contacts"] == []
    await call(client, "manage_segments", {"action": "create", "name": "a"})  # now "a" names a list and a segment
    twice = await call(client, "upsert_contacts", {"contacts": [{"email": "3@example.com", "groups": ["A"]}]})
    assert twice["failed"] == 1 and "more than one" in twice["items"][0]["error"]


async def test_a_list_or_segment_whose_name_has_accented_capitals_is_found_by_name_in_any_case(client):
    # SQLite's lower() folds ASCII only: "Événements" must still be found as itself and as "événements".
    events = (await call(client, "manage_lists", {"action": "create", "name": "Événements"}))["list"]["id"]
    summer = (await call(client, "manage_segments", {"action": "create", "name": "ÉTÉ"}))["segment"]["id"]
    got = await call(client, "upsert_contacts", {"contacts": [
        {"email": "1@example.com", "groups": ["Événements", "été"]},
        {"email": "2@example.com", "groups": ["événements"]}]})
    assert got["created"] == 2, got
    assert len((await call(client, "get_contacts", {"list_id": events}))["contacts"]) == 2
    assert len((await call(client, "get_contacts", {"segment_id": summer}))["contacts"]) == 1
