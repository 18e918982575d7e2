"""manage_lists, get_lists, update_list_members through an MCP client."""

from ..conftest import call, fails


async def new_list(client, name="L", **extra):
    return (await call(client, "manage_lists", {"action": "create", "name": name, **extra}))["list"]


async def new_contacts(client, n):
    result = await call(client, "upsert_contacts", {"contacts": [{"email": f"m{i}@example.com"} for i in range(n)]})
    return [item["id"] for item in result["items"]]


async def test_a_created_list_comes_back_with_its_properties_and_empty_stats(client):
    lst = await new_list(client, "Newsletter", description="Monthly")
    assert lst["name"] == "Newsletter" and lst["description"] == "Monthly"
    assert lst["stats"]["subscribers"] == 0 and lst["created_at"]


async def test_a_list_needs_a_name(client):
    assert "name" in await fails(client, "manage_lists", {"action": "create", "name": "  "})


async def test_listing_returns_the_default_properties_unless_more_are_asked(client):
    await new_list(client, "A", description="d")
    default = await call(client, "get_lists", {})
    assert default["lists"] == [{"id": 1, "name": "A", "description": "d"}]
    more = await call(client, "get_lists", {"properties": ["DEFAULT", "created_at", "stats"]})
    assert set(more["lists"][0]) == {"id", "name", "description", "created_at", "stats"}
    only = await call(client, "get_lists", {"properties": ["name"]})
    assert only["lists"] == [{"id": 1, "name": "A"}]


async def test_an_unknown_property_is_refused_with_the_allowed_values(client):
    text = await fails(client, "get_lists", {"properties": ["colour"]})
    assert "colour" in text and "stats" in text


async def test_lists_are_read_by_ids_with_unknown_ids_named(client):
    a = await new_list(client, "A")
    got = await call(client, "get_lists", {"list_ids": [a["id"], 42]})
    assert [x["id"] for x in got["lists"]] == [a["id"]] and got["not_found"] == [42]


async def test_lists_page_in_creation_order(client):
    for i in range(7):
        await new_list(client, f"L{i}")
    seen, cursor = [], None
    while True:
        page = await call(client, "get_lists", {"limit": 3} | ({"cursor": cursor} if cursor else {}))
        seen += [x["name"] for x in page["lists"]]
        if not (cursor := page.get("next_cursor")):
            break
    assert seen == [f"L{i}" for i in range(7)]


async def test_updating_a_list_changes_only_what_is_given(client):
    lst = await new_list(client, "A", description="keep")
    updated = (await call(client, "manage_lists", {"action": "update", "list_id": lst["id"], "name": "B"}))["list"]
    assert updated["name"] == "B" and updated["description"] == "keep"
    cleared = (await call(client, "manage_lists", {"action": "update", "list_id": lst["id"], "description": ""}))
    assert "description" not in cleared["list"]
    assert "nothing to change" in await fails(client, "manage_lists", {"action": "update", "list_id": lst["id"]})
    assert "list_id" in await fails(client, "manage_lists", {"action": "update", "name": "x"})
    assert "77" in await fails(client, "manage_lists", {"action": "update", "list_id": 77, "name": "x"})


async def test_deleting_lists_counts_them_names_unknown_ids_and_keeps_the_contacts(client):
    a, b = await new_list(client, "A"), await new_list(client, "B")
    ids = await new_contacts(client, 2)
    await call(client, "update_list_members", {"list_id": a["id"], "action": "add", "contact_ids": ids})
    result = await call(client, "manage_lists", {"action": "delete", "list_ids": [a["id"], b["id"], 99]})
    assert result == {"deleted": 2, "not_found": [99]}
    assert len((await call(client, "get_contacts", {}))["contacts"]) == 2
    assert "list_ids" in await fails(client, "manage_lists", {"action": "delete"})


async def test_adding_and_removing_members_counts_only_real_changes(client):
    lst = await new_list(client)
    ids = await new_contacts(client, 3)
    added = await call(client, "update_list_members", {"list_id": lst["id"], "action": "add",
                                                       "contact_ids": ids + [ids[0], 999]})
    assert added == {"changed": 3, "not_found": [999]}
    again = await call(client, "update_list_members", {"list_id": lst["id"], "action": "add", "contact_ids": ids})
    assert again["changed"] == 0
    removed = await call(client, "update_list_members", {"list_id": lst["id"], "action": "remove",
                                                         "contact_ids": ids[:2]})
    assert removed["changed"] == 2
    members = await call(client, "get_contacts", {"list_id": lst["id"]})
    assert [c["id"] for c in members["contacts"]] == [ids[2]]


async def test_membership_changes_refuse_unknown_lists_and_oversized_calls(client):
    assert "404" in await fails(client, "update_list_members", {"list_id": 404, "action": "add", "contact_ids": [1]})
    lst = await new_list(client)
    text = await fails(client, "update_list_members", {"list_id": lst["id"], "action": "add",
                                                       "contact_ids": list(range(1, 3002))})
    assert "3000" in text and "3001" in text


async def test_list_stats_leave_out_deleted_members(client):
    lst = await new_list(client)
    ids = await new_contacts(client, 3)
    await call(client, "update_list_members", {"list_id": lst["id"], "action": "add", "contact_ids": ids})
    await call(client, "delete_contacts", {"contact_ids": [ids[0]]})
    got = await call(client, "get_lists", {"list_ids": [lst["id"]], "properties": ["stats"]})
    assert got["lists"][0]["stats"]["subscribers"] == 2


async def test_a_list_can_be_created_in_a_folder_and_moved_out(client):
    folder = (await call(client, "manage_folders", {"action": "create", "name": "Campaigns"}))["folder"]
    lst = await new_list(client, "Spring", folder_id=folder["id"])
    assert lst["folder_id"] == folder["id"]
    in_folder = await call(client, "get_lists", {"folder_id": folder["id"]})
    assert [x["id"] for x in in_folder["lists"]] == [lst["id"]]
    moved = await call(client, "manage_lists", {"action": "update", "list_id": lst["id"], "folder_id": 0})
    assert "folder_id" not in moved["list"]
    assert "get_folders" in await fails(client, "manage_lists", {"action": "create", "name": "X", "folder_id": 5})


async def test_a_contact_unsubscribed_from_a_list_stays_out_until_an_audited_resubscribe(client):
    lst, other = await new_list(client, "News"), await new_list(client, "Promo")
    ids = await new_contacts(client, 3)
    for list_id in (lst["id"], other["id"]):
        await call(client, "update_list_members", {"list_id": list_id, "action": "add", "contact_ids": ids})
    gone = await call(client, "update_list_members", {"list_id": lst["id"], "action": "unsubscribe",
                                                      "contact_ids": [ids[0]], "reason": "footer link"})
    assert gone["changed"] == 1
    stats = (await call(client, "get_stats", {"list_ids": [lst["id"]]}))["stats"]
    assert stats["subscribers"] == 2 and stats["reachable"]["email"] == 2
    [contact] = (await call(client, "get_contacts", {"contact_ids": [ids[0]]}))["contacts"]
    assert contact["list_unsubscribed"] == [lst["id"]] and contact["list_ids"] == [other["id"]]
    assert "opted_out" not in contact  # a list unsubscribe is no channel opt-out
    # Nothing puts it back: an add, a bulk upsert, an import into the list.
    added = await call(client, "update_list_members", {"list_id": lst["id"], "action": "add", "contact_ids": ids})
    assert added == {"changed": 0, "unsubscribed": [ids[0]]}
    await call(client, "upsert_contacts", {"contacts": [{"email": "m0@example.com", "list_ids": [lst["id"]]}]})
    await call(client, "import_file", {"csv_text": "email\nm0@example.com\n", "list_ids": [lst["id"]],
                                       "wait_seconds": 30})
    assert (await call(client, "get_stats", {"list_ids": [lst["id"]]}))["stats"]["subscribers"] == 2
    # Only a resubscribe with a stated reason does.
    text = await fails(client, "update_list_members", {"list_id": lst["id"], "action": "resubscribe",
                                                       "contact_ids": [ids[0]]})
    assert "reason" in text
    back = await call(client, "update_list_members", {"list_id": lst["id"], "action": "resubscribe",
                                                      "contact_ids": [ids[0]], "reason": "asked by phone"})
    assert back["changed"] == 1
    [contact] = (await call(client, "get_contacts", {"contact_ids": [ids[0]]}))["contacts"]
    assert sorted(contact["list_ids"]) == sorted([lst["id"], other["id"]]) and "list_unsubscribed" not in contact


async def test_every_member_leaves_a_list_only_through_a_planned_mass_action(client):
    lst = await new_list(client)
    ids = await new_contacts(client, 4)
    await call(client, "update_list_members", {"list_id": lst["id"], "action": "add", "contact_ids": ids})
    text = await fails(client, "update_list_members", {"list_id": lst["id"], "action": "remove"})
    assert "contact_ids" in text and "apply_to_contacts" in text
    args = {"action": "remove_from_list", "list_id": lst["id"],
            "filter": {"field": "list", "op": "eq", "value": lst["id"]}}
    plan = await call(client, "apply_to_contacts", args)
    emptied = await call(client, "apply_to_contacts", {**args, "plan_token": plan["plan_token"]})
    assert plan["matching"] == 4 and emptied["changed"] == 4
    assert (await call(client, "get_stats", {"list_ids": [lst["id"]]}))["stats"]["subscribers"] == 0
    assert (await call(client, "get_stats", {}))["stats"]["subscribers"] == 4  # the contacts stay


async def test_a_whole_list_is_opted_out_in_two_calls(client):
    lst = await new_list(client)
    ids = await new_contacts(client, 5)
    await call(client, "update_list_members", {"list_id": lst["id"], "action": "add", "contact_ids": ids[:3]})
    args = {"action": "optout", "filter": {"field": "list", "op": "eq", "value": lst["id"]}, "reason": "owner_blocked"}
    plan = await call(client, "apply_to_contacts", args)
    got = await call(client, "apply_to_contacts", {**args, "plan_token": plan["plan_token"]})
    assert got["changed"] == 3
    stats = (await call(client, "get_stats", {}))["stats"]
    assert stats["reachable"]["email"] == 2 and stats["opted_out_by_reason"]["owner_blocked"] == 3
    assert "404" in await fails(client, "apply_to_contacts", {**args, "filter": {"field": "list", "op": "eq",
                                                                                "value": 404}})


async def test_lists_of_a_folder_sort_both_ways_page_by_offset_and_count_their_total(client):
    folder = (await call(client, "manage_folders", {"action": "create", "name": "F"}))["folder"]["id"]
    made = [(await new_list(client, f"L{i}", folder_id=folder))["id"] for i in range(5)]
    await new_list(client, "elsewhere")
    newest = await call(client, "get_lists", {"folder_id": folder, "sort": "desc", "limit": 2, "with_total": True})
    assert [x["id"] for x in newest["lists"]] == made[:-3:-1] and newest["total"] == 5
    rest = await call(client, "get_lists", {"folder_id": folder, "sort": "desc", "cursor": newest["next_cursor"]})
    assert [x["id"] for x in rest["lists"]] == made[2::-1]
    skipped = await call(client, "get_lists", {"folder_id": folder, "offset": 3})
    assert [x["id"] for x in skipped["lists"]] == made[3:] and "total" not in skipped
    assert "not both" in await fails(client, "get_lists", {"offset": 1, "cursor": newest["next_cursor"]})
