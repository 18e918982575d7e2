"""Segments (attach_to_segment, detach_from_segment) and merge_lists, through an MCP client."""

from __future__ import annotations

from tests.conftest import call, fails


async def _contacts(client, n: int, **extra) -> list[int]:
    got = await call(client, "upsert_contacts", {"contacts": [
        {"email": f"s{i}@example.com", "ext_id": f"X{i}", **extra} for i in range(n)]})
    return [item["id"] for item in got["items"]]


async def _segment(client, name: str = "VIP") -> int:
    return (await call(client, "manage_segments", {"action": "create", "name": name}))["segment"]["id"]


async def test_contacts_attach_by_id_or_ext_id_and_unknown_ones_come_back(client):
    ids = await _contacts(client, 3)
    seg = await _segment(client)
    got = await call(client, "attach_to_segment", {"segment_id": seg, "contact_ids": [ids[0], ids[1], 424242]})
    assert got == {"changed": 2, "not_found": [424242]}
    got = await call(client, "attach_to_segment", {"segment_id": seg, "ext_ids": ["X1", "X2", "NOPE"]})
    assert got == {"changed": 1, "not_found": ["NOPE"]}
    page = await call(client, "get_contacts", {"segment_id": seg, "sort": "asc"})
    assert [c["id"] for c in page["contacts"]] == ids
    assert (await call(client, "get_segments", {"segment_ids": [seg]}))["segments"][0]["size"] == 3
    stats = await call(client, "get_stats", {"segment_ids": [seg]})
    assert stats["stats"]["subscribers"] == 3 and stats["stats"]["reachable"]["email"] == 3


async def test_one_kind_of_id_per_call_and_at_most_500(client):
    seg = await _segment(client)
    assert "not both" in await fails(client, "attach_to_segment", {"segment_id": seg, "contact_ids": [1],
                                                                   "ext_ids": ["X1"]})
    text = await fails(client, "attach_to_segment", {"segment_id": seg, "contact_ids": list(range(1, 502))})
    assert "500" in text and "501" in text
    assert "segment id" in await fails(client, "attach_to_segment", {"segment_id": 999, "contact_ids": [1]})


async def test_detach_removes_the_given_contacts(client):
    ids = await _contacts(client, 4)
    seg = await _segment(client)
    await call(client, "attach_to_segment", {"segment_id": seg, "contact_ids": ids})
    assert (await call(client, "detach_from_segment", {"segment_id": seg, "ext_ids": ["X0"]}))["changed"] == 1
    assert (await call(client, "detach_from_segment", {"segment_id": seg, "contact_ids": ids}))["changed"] == 3
    assert (await call(client, "get_segments", {"segment_ids": [seg]}))["segments"][0]["size"] == 0


async def test_segments_are_renamed_listed_and_deleted_with_unique_names(client):
    seg = await _segment(client, "A")
    await _segment(client, "B")
    assert "already exists" in await fails(client, "manage_segments", {"action": "create", "name": "A"})
    renamed = await call(client, "manage_segments", {"action": "update", "segment_id": seg, "name": "C"})
    assert renamed["segment"]["name"] == "C"
    listed = await call(client, "get_segments", {"limit": 1})
    rest = await call(client, "get_segments", {"limit": 1, "cursor": listed["next_cursor"]})
    assert [s["name"] for s in listed["segments"] + rest["segments"]] == ["C", "B"]
    gone = await call(client, "manage_segments", {"action": "delete", "segment_ids": [seg, 777]})
    assert gone == {"deleted": 1, "not_found": [777]}


async def test_merging_lists_makes_a_new_list_of_unique_members(client):
    a = (await call(client, "manage_lists", {"action": "create", "name": "A"}))["list"]["id"]
    b = (await call(client, "manage_lists", {"action": "create", "name": "B"}))["list"]["id"]
    ids = await _contacts(client, 5, mobile=None)
    await call(client, "update_list_members", {"list_id": a, "action": "add", "contact_ids": ids[:3]})
    await call(client, "update_list_members", {"list_id": b, "action": "add", "contact_ids": ids[2:]})
    await call(client, "optout_contact", {"contact_ids": [ids[0]], "channels": ["email"], "reason": "unsubscribed"})
    await call(client, "delete_contacts", {"contact_ids": [ids[4]]})
    merged = await call(client, "merge_lists", {"list_ids": [a, b], "name": "Campaign"})
    assert merged["list"]["name"] == "Campaign" and merged["list"]["stats"]["subscribers"] == 4
    clean = await call(client, "merge_lists", {"list_ids": [a, b, a], "name": "Clean",
                                               "exclude_optout_channel": "email"})
    assert clean["list"]["stats"]["subscribers"] == 3
    assert clean["list"]["stats"]["reachable"]["email"] == 3
    members = await call(client, "get_contacts", {"list_id": clean["list"]["id"], "sort": "asc"})
    assert [c["id"] for c in members["contacts"]] == ids[1:4]


async def test_a_merge_with_unknown_lists_creates_nothing_and_names_them_all(client):
    a = (await call(client, "manage_lists", {"action": "create", "name": "A"}))["list"]["id"]
    text = await fails(client, "merge_lists", {"list_ids": [a, 8001, 8002], "name": "Nope"})
    assert "8001" in text and "8002" in text and "Nothing was created" in text
    assert [x["name"] for x in (await call(client, "get_lists"))["lists"]] == ["A"]
    assert "2 to 50" in await fails(client, "merge_lists", {"list_ids": [a, a], "name": "One"})


async def test_upserted_contacts_join_and_leave_segments_and_an_unknown_segment_fails_only_its_contact(client):
    seg = await _segment(client)
    other = await _segment(client, "Other")
    got = await call(client, "upsert_contacts", {"contacts": [
        {"email": "j1@example.com", "segment_ids": [seg, other]},
        {"email": "j2@example.com", "segment_ids": [seg]},
        {"email": "j3@example.com", "segment_ids": [4242]},
    ]})
    assert [i["outcome"] for i in got["items"]] == ["created", "created", "failed"]
    assert "segment id" in got["items"][2]["error"] and "4242" in got["items"][2]["error"]
    sizes = {s["id"]: s["size"] for s in (await call(client, "get_segments"))["segments"]}
    assert sizes == {seg: 2, other: 1}
    left = await call(client, "upsert_contacts", {"contacts": [{"email": "j1@example.com", "unlink_segment_ids": [seg]}]})
    assert left["items"][0]["outcome"] == "updated"
    page = await call(client, "get_contacts", {"segment_id": seg})
    assert [c["email"] for c in page["contacts"]] == ["j2@example.com"]
    assert (await call(client, "get_stats", {"segment_ids": [seg]}))["stats"]["subscribers"] == 1
