"""Filters: every operator on each kind of field, the predicates, nesting, and errors that name the node; through
an MCP client on both backends."""

from __future__ import annotations

import pytest

from tests.conftest import call, fails, raw_db

PEOPLE = [
    {"email": "elodie@paris.fr", "first_name": "Élodie", "city": "Paris", "mobile": "+33612345601",
     "postal_code": "75011", "company": "Crème & Co", "attributes": {"score": 12, "vip": True, "tier": "gold",
                                                                      "since": "2020-05-01", "note": "likes jazz"}},
    {"email": "marc@lyon.fr", "first_name": "Marc", "city": "LYON", "postal_code": "69002",
     "attributes": {"score": 3.5, "vip": False, "tier": "silver", "since": "2023-01-15"}},
    {"email": "zoe@example.com", "first_name": "Zoé", "city": "paris", "mobile": "+33612345603",
     "attributes": {"score": 40, "tier": "gold", "note": "JAZZ and rock"}},
    {"ext_id": "NC", "mobile": "+33612345604", "last_name": "Nocity", "attributes": {}},
]


async def _base(client) -> list[int]:
    for name, type_, extra in (("score", "number", {}), ("vip", "boolean", {}), ("since", "date", {}),
                               ("note", "text", {}), ("tier", "choice", {"choices": ["gold", "silver"]})):
        await call(client, "manage_fields", {"action": "create", "name": name, "type": type_, **extra})
    got = await call(client, "upsert_contacts", {"contacts": PEOPLE})
    assert all("id" in item for item in got["items"]), got["items"]
    return [item["id"] for item in got["items"]]


async def _match(client, flt: dict) -> list[int]:
    page = await call(client, "get_contacts", {"filter": flt, "sort": "asc", "limit": 100, "with_total": True})
    ids = [c["id"] for c in page["contacts"]]
    assert page["total"] == len(ids)
    stats = await call(client, "get_stats", {"filter": flt})
    assert stats["stats"]["subscribers"] == len(ids)
    return ids


def c(field: str, op: str, value=None) -> dict:
    return {"field": field, "op": op, **({"value": value} if value is not None else {})}


@pytest.mark.parametrize(("flt", "expected"), [
    (c("city", "eq", "PARIS"), [0, 2]),
    (c("city", "ne", "paris"), [1, 3]),
    (c("first_name", "eq", "elodie"), [0]),
    (c("first_name", "contains", "ZO"), [2]),
    (c("company", "starts_with", "creme"), [0]),
    (c("city", "in", ["lyon", "Marseille"]), [1]),
    (c("city", "is_set"), [0, 1, 2]),
    (c("city", "is_empty"), [3]),
    (c("postal_code", "starts_with", "75"), [0]),
    (c("email", "eq", "MARC@lyon.fr"), [1]),
    (c("email_domain", "eq", "Paris.fr"), [0]),
    (c("mobile", "eq", "06 12 34 56 03"), [2]),
    (c("score", "gt", 10), [0, 2]),
    (c("score", "lte", 12), [0, 1]),
    (c("score", "between", [3, 12]), [0, 1]),
    (c("score", "in", [3.5, 40]), [1, 2]),
    (c("score", "is_empty"), [3]),
    (c("vip", "eq", True), [0]),
    (c("vip", "ne", True), [1, 2, 3]),
    (c("since", "lt", "2021-01-01"), [0]),
    (c("since", "gte", "01/01/2021"), [1]),
    (c("tier", "eq", "GOLD"), [0, 2]),
    (c("note", "contains", "jazz"), [0, 2]),
    (c("reachable", "eq", "sms"), [0, 2, 3]),
    (c("reachable", "eq", "email"), [0, 1, 2]),
    (c("reachable", "in", ["email", "sms"]), [0, 1, 2, 3]),
    (c("status", "eq", "confirmed"), [0, 1, 2, 3]),
    (c("status", "ne", "confirmed"), []),
    (c("source", "eq", "BULK"), [0, 1, 2, 3]),
    (c("source", "starts_with", "import"), []),
    (c("created_at", "gt", "2000-01-01"), [0, 1, 2, 3]),
    (c("updated_at", "lt", "2000-01-01T00:00:00Z"), []),
    (c("created_at", "between", ["2000-01-01", "2999-12-31"]), [0, 1, 2, 3]),
    (c("ext_id", "eq", "NC"), [3]),
    (c("ext_id", "eq", "nc"), []),
    (c("postal_code", "eq", " 75011 "), [0]),
    (c("mobile", "starts_with", "+336123456"), [0, 2, 3]),
    (c("opted_out", "eq", "any"), []),
    ({"all": [c("city", "eq", "paris"), c("reachable", "eq", "sms")]}, [0, 2]),
    ({"any": [c("city", "eq", "lyon"), {"not": c("city", "is_set")}]}, [1, 3]),
    ({"not": {"any": [c("score", "gt", 10), c("vip", "eq", False)]}}, [3]),
])
async def test_each_operator_selects_the_contacts_a_person_would_expect(client, flt, expected):
    ids = await _base(client)
    assert await _match(client, flt) == [ids[i] for i in expected]


async def test_predicates_follow_lists_segments_opt_outs_and_reasons(client):
    ids = await _base(client)
    lst = (await call(client, "manage_lists", {"action": "create", "name": "L"}))["list"]["id"]
    await call(client, "update_list_members", {"list_id": lst, "action": "add", "contact_ids": ids[:2]})
    seg = (await call(client, "manage_segments", {"action": "create", "name": "S"}))["segment"]["id"]
    await call(client, "attach_to_segment", {"segment_id": seg, "contact_ids": [ids[1], ids[2]]})
    await call(client, "optout_contact", {"contact_ids": [ids[0]], "reason": "complaint", "channels": ["sms"]})
    assert await _match(client, c("list", "eq", lst)) == ids[:2]
    assert await _match(client, c("list", "ne", lst)) == ids[2:]
    assert await _match(client, c("segment", "in", [seg])) == ids[1:3]
    assert await _match(client, c("opted_out", "eq", "sms")) == [ids[0]]
    assert await _match(client, c("opted_out", "eq", "email")) == []
    assert await _match(client, c("optout_reason", "eq", "complaint")) == [ids[0]]
    assert await _match(client, c("reachable", "eq", "sms")) == [ids[2], ids[3]]
    stats = await call(client, "get_stats", {"filter": c("city", "eq", "paris"), "list_ids": [lst]})
    assert stats["stats"]["subscribers"] == 1 and stats["stats"]["reachable"]["sms"] == 0


async def test_bad_filters_are_refused_naming_the_node_and_what_it_accepts(client):
    await _base(client)
    text = await fails(client, "get_contacts", {"filter": {"all": [c("city", "eq", "x"), c("citty", "eq", "x")]}})
    assert "filter.all[1].field" in text and "unknown field 'citty'" in text and "city" in text
    text = await fails(client, "get_contacts", {"filter": {"any": [{"not": c("score", "contains", 1)}]}})
    assert "filter.any[0].not.op" in text and "gt" in text
    text = await fails(client, "get_stats", {"filter": c("score", "gt", "lots")})
    assert "filter.value" in text and "number" in text
    text = await fails(client, "get_contacts", {"filter": {"all": [], "field": "city"}})
    assert "exactly one of" in text
    text = await fails(client, "get_contacts", {"filter": c("reachable", "eq", "fax")})
    assert "email, sms, voice, voicemail" in text
    text = await fails(client, "get_contacts", {"filter": c("list", "eq", 999)})
    assert "999" in text and "get_lists" in text
    text = await fails(client, "get_contacts", {"filter": c("city", "in", "Paris")})
    assert "list of 1 to 1000" in text
    text = await fails(client, "get_contacts", {"filter": {"field": "city", "op": "eq", "value": "x", "extra": 1}})
    assert "extra" in text


async def test_dynamic_segments_hold_whoever_matches_now_and_refuse_hand_picked_members(client):
    ids = await _base(client)
    made = await call(client, "manage_segments", {"action": "create", "name": "Paris",
                                                  "filter": c("city", "eq", "paris")})
    seg = made["segment"]["id"]
    assert made["segment"]["size"] == 2 and made["segment"]["filter"] == c("city", "eq", "paris")
    await call(client, "create_contact", {"contact_id": ids[1], "contact": {"city": "Paris"}})
    page = await call(client, "get_contacts", {"segment_id": seg, "sort": "asc"})
    assert [x["id"] for x in page["contacts"]] == ids[:3]
    assert (await call(client, "get_stats", {"segment_ids": [seg]}))["stats"]["subscribers"] == 3
    assert await _match(client, c("segment", "eq", seg)) == ids[:3]
    assert "dynamic" in await fails(client, "attach_to_segment", {"segment_id": seg, "contact_ids": [ids[3]]})
    text = await fails(client, "manage_segments", {"action": "update", "segment_id": seg,
                                                   "filter": c("segment", "eq", seg)})
    assert "refers to itself" in text
    await call(client, "manage_segments", {"action": "update", "segment_id": seg, "filter": c("city", "eq", "lyon")})
    assert (await call(client, "get_segments", {"segment_ids": [seg]}))["segments"][0]["size"] == 0


def test_postgresql_folds_text_with_the_very_tables_sqlite_uses():
    from importlib import resources

    from contacts_mcp.storage.tree import FOLD_FROM, FOLD_TO, fold
    sql = (resources.files("contacts_mcp.storage.postgres.migrations")
           / "006_filters_dynamic_segments_indexes.sql").read_text(encoding="utf-8")
    assert f"translate(lower($1), '{FOLD_FROM}', '{FOLD_TO}')" in sql and "THEN lower($1)" in sql
    assert len(FOLD_FROM) == len(FOLD_TO) and fold("ÉLODIE Crème Łódź") == "elodie creme lodz" == fold("elodie creme lodz")


async def test_accented_and_cased_text_matches_alike_on_the_database_side(client):
    await call(client, "upsert_contacts", {"contacts": [{"email": f"f{i}@example.com", "last_name": name}
                                                        for i, name in enumerate(["Łódź", "ÇAĞRI", "Smith"])]})
    for value, n in (("lodz", 1), ("cagri", 1), ("SMITH", 1), ("ç", 1), ("I", 2)):
        op = "contains" if len(value) == 1 else "eq"
        assert (await call(client, "get_stats", {"filter": c("last_name", op, value)}))["stats"]["subscribers"] == n


async def test_what_a_dynamic_segment_names_is_not_deleted_from_under_it(client):
    await _base(client)
    lst = (await call(client, "manage_lists", {"action": "create", "name": "L"}))["list"]["id"]
    other = (await call(client, "manage_segments", {"action": "create", "name": "O"}))["segment"]["id"]
    seg = (await call(client, "manage_segments", {"action": "create", "name": "D", "filter": {"all": [
        c("list", "in", [lst]), {"not": c("segment", "eq", other)}, c("score", "gt", 1)]}}))["segment"]["id"]
    for tool, args, named in (("manage_lists", {"action": "delete", "list_ids": [lst]}, f"list {lst}"),
                              ("manage_segments", {"action": "delete", "segment_ids": [other]}, f"segment {other}"),
                              ("manage_fields", {"action": "delete", "name": "score"}, "field score")):
        text = await fails(client, tool, args)
        assert f"segment {seg} names {named}" in text and "manage_segments update" in text
    folder = (await call(client, "manage_folders", {"action": "create", "name": "F"}))["folder"]["id"]
    await call(client, "manage_lists", {"action": "update", "list_id": lst, "folder_id": folder})
    text = await fails(client, "manage_folders", {"action": "delete", "folder_id": folder, "cascade": True})
    assert f"segment {seg} names list {lst}" in text
    # deleting the segment with what it names, in one call, is fine
    assert (await call(client, "manage_segments", {"action": "delete", "segment_ids": [seg, other]}))["deleted"] == 2
    assert (await call(client, "manage_lists", {"action": "delete", "list_ids": [lst]}))["deleted"] == 1


async def test_a_dynamic_segment_whose_list_went_anyway_says_so_and_the_others_still_list(client, settings):
    await _base(client)
    lst = (await call(client, "manage_lists", {"action": "create", "name": "Gone"}))["list"]["id"]
    broken = (await call(client, "manage_segments", {"action": "create", "name": "B",
                                                     "filter": c("list", "eq", lst)}))["segment"]["id"]
    fine = (await call(client, "manage_segments", {"action": "create", "name": "F",
                                                   "filter": c("city", "eq", "paris")}))["segment"]["id"]
    with raw_db(settings) as db:  # deleted behind the server's back (another tool, a restore of an old backup)
        db.execute("DELETE FROM lists WHERE id = ?", (lst,))
    listed = {s["id"]: s for s in (await call(client, "get_segments", {}))["segments"]}
    assert str(lst) in listed[broken]["note"] and "manage_segments update" in listed[broken]["note"]
    assert listed[fine]["size"] == 2 and "note" not in listed[fine]
    assert "list id" in await fails(client, "get_stats", {"segment_ids": [broken]})


async def test_dynamic_segments_are_never_joined_by_hand_nor_fields_named_like_predicates(client):
    seg = (await call(client, "manage_segments", {"action": "create", "name": "D",
                                                  "filter": c("city", "is_set")}))["segment"]["id"]
    text = await fails(client, "subscribe_contact", {"contact": {"email": "n@example.com"}, "segment_ids": [seg]})
    assert "static segment id" in text and str(seg) in text
    for name in ("segment", "reachable", "created_at"):
        assert name in await fails(client, "manage_fields", {"action": "create", "name": name, "type": "text"})


async def test_segments_naming_segments_count_towards_the_depth_limit(client):
    seg = (await call(client, "manage_segments", {"action": "create", "name": "S0",
                                                  "filter": c("city", "is_set")}))["segment"]["id"]
    text = ""
    for i in range(1, 12):
        got = await client.call_tool("manage_segments", {"action": "create", "name": f"S{i}",
                                                         "filter": c("segment", "eq", seg)})
        if got.is_error:
            text = got.content[0].text
            break
        seg = got.structured_content["segment"]["id"]
    assert "too big" in text and "depth 8" in text
