"""Arguments are strict: an unknown name is refused before anything is done, naming what is accepted."""

from __future__ import annotations

from ..conftest import call, fails


async def _segment_of_three(client) -> int:
    seg = (await call(client, "manage_segments", {"action": "create", "name": "vip"}))["segment"]["id"]
    ids = [(await call(client, "create_contact", {"contact": {"email": f"s{i}@example.com"}}))["contact"]["id"]
           for i in range(3)]
    await call(client, "attach_to_segment", {"segment_id": seg, "contact_ids": ids})
    return seg


async def _size(client, seg: int) -> int:
    return (await call(client, "get_segments", {"segment_ids": [seg]}))["segments"][0]["size"]


async def test_a_misspelt_ids_argument_is_refused_and_the_segment_keeps_its_members(client):
    seg = await _segment_of_three(client)
    text = await fails(client, "detach_from_segment", {"segment_id": seg, "contact_id": [1]})
    assert "'contact_id' (did you mean 'contact_ids'?)" in text and "nothing was done" in text
    assert "segment_id, contact_ids, ext_ids, all" in text
    assert await _size(client, seg) == 3


async def test_emptying_a_segment_takes_an_explicit_all(client):
    seg = await _segment_of_three(client)
    for args in ({}, {"contact_ids": []}, {"ext_ids": []}):
        assert "all: true" in await fails(client, "detach_from_segment", {"segment_id": seg, **args})
    assert await _size(client, seg) == 3
    assert "not both" in await fails(client, "detach_from_segment", {"segment_id": seg, "all": True,
                                                                     "contact_ids": [1]})
    assert (await call(client, "detach_from_segment", {"segment_id": seg, "all": True}))["changed"] == 3


async def test_a_filter_the_tool_does_not_have_is_refused_not_ignored(client):
    await call(client, "create_contact", {"contact": {"email": "p@example.com", "city": "Lyon"}})
    text = await fails(client, "get_contacts", {"city": "Paris"})
    assert "'city'" in text and "It accepts: contact_ids, ext_ids, emails" in text


async def test_a_huge_unknown_argument_name_is_not_echoed_whole(client):
    text = await fails(client, "get_contacts", {"x" * 100_000: 1})
    assert len(text) < 1000


async def test_every_tool_schema_declares_it_takes_no_other_arguments(client):
    tools = (await client.list_tools()).tools
    assert tools and all(t.input_schema.get("additionalProperties") is False for t in tools)


async def test_id_arguments_are_named_for_their_resource_on_every_tool(client):
    bare = {(t.name, p) for t in (await client.list_tools()).tools
            for p in t.input_schema.get("properties", {}) if p in ("id", "ids")}
    assert bare == set()
