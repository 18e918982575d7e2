"""Arguments are strict: an unknown name is refused before anything is done, naming what is accepted."""

from __future__ import annotations

from mcp import Client
from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel

from contacts_mcp.tools.common import Toolbox, tool

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
    assert "segment_id, contact_ids, ext_ids" in text
    assert await _size(client, seg) == 3


async def test_emptying_a_segment_is_never_a_detach_without_ids_but_a_planned_mass_action(client):
    seg = await _segment_of_three(client)
    for args in ({}, {"contact_ids": []}, {"ext_ids": []}):
        assert "apply_to_contacts" in await fails(client, "detach_from_segment", {"segment_id": seg, **args})
    assert "'all'" in await fails(client, "detach_from_segment", {"segment_id": seg, "all": True})
    assert await _size(client, seg) == 3
    args = {"action": "detach_from_segment", "segment_id": seg,
            "filter": {"field": "segment", "op": "eq", "value": seg}}
    plan = await call(client, "apply_to_contacts", args)
    assert plan["matching"] == 3 and await _size(client, seg) == 3
    assert (await call(client, "apply_to_contacts", {**args, "plan_token": plan["plan_token"]}))["changed"] == 3
    assert await _size(client, seg) == 0


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


async def test_numbers_past_storage_and_nul_characters_are_refused_naming_the_argument(client):
    # Fuzzing found these reaching SQLite and coming back as a bare "Error executing tool X".
    big = 2**63
    for tool, args, named in (
        ("get_contacts", {"contact_ids": [1, big]}, "contact_ids[1]"),
        ("get_lists", {"list_ids": [big]}, "list_ids[0]"),
        ("create_contact", {"contact_id": big, "contact": {"city": "Lyon"}}, "contact_id"),
        ("optout_contact", {"contact_ids": [2**64], "reason": "complaint"}, "contact_ids[0]"),
        ("get_contacts", {"emails": ["a\x00b@example.com"]}, "emails[0]"),
        ("import_file", {"path": "/tmp/a\x00.csv"}, "path"),
        ("create_contact", {"contact": {"email": "a@example.com", "attributes": {"x": big}}}, "contact.attributes.x"),
    ):
        text = await fails(client, tool, args)
        assert text.startswith(named + ":") and "Error executing tool" not in text, text


async def test_integer_arguments_are_bounded_in_the_schema(client):
    def integers(node):
        if isinstance(node, dict):
            if node.get("type") == "integer":
                yield node
            for v in node.values():
                yield from integers(v)
        elif isinstance(node, list):
            for v in node:
                yield from integers(v)

    found = [n for t in (await client.list_tools()).tools for n in integers(t.input_schema)]
    assert found and all(n.get("maximum", 2**63) <= 2**63 - 1 for n in found)


async def test_an_error_never_quotes_more_than_200_characters_of_a_value(client):
    text = await fails(client, "import_file", {"csv_text": "email\n", "encoding": "x" * 100_000})
    assert "encoding" in text and len(text) < 600


async def test_a_prompt_called_without_its_required_argument_is_told_which(client):
    import pytest
    from mcp.shared.exceptions import MCPError

    with pytest.raises(MCPError) as err:
        await client.get_prompt("clean_list_for_sms", {})
    assert "needs the argument list_id" in str(err.value)
    with pytest.raises(MCPError) as err:
        await client.get_prompt("clean_list_for_sms", {"list_id": "1", "lists": "2"})
    assert "does not take lists" in str(err.value)


class _Out(BaseModel):
    ok: bool


def _exploding_server() -> MCPServer:
    box = Toolbox()

    @tool(box, read_only=True)
    async def explode(ctx: Context, size: int = 1) -> _Out:
        """Fails."""
        raise MemoryError if size > 1 else ZeroDivisionError("boom")

    return MCPServer("t", tools=box.tools)


async def test_an_unexpected_failure_names_the_tool_and_its_arguments_not_just_error():
    # Whatever a bug raises reaches the caller as something it can act on, never a bare "Error executing".
    async with Client(_exploding_server()) as c:
        text = (await c.call_tool("explode", {"size": 1})).content[0].text
        assert "explode could not complete" in text and "ZeroDivisionError" in text and "size" in text
        text = (await c.call_tool("explode", {"size": 2})).content[0].text
        assert "needs more memory" in text


async def test_an_oversized_array_is_refused_before_an_object_is_built_per_item(client):
    # The attack: 2.7 million {} in a legal-size body made 2.7 million contact models (20 s, 3 GB) before
    # the 3,000 limit was checked.
    text = await fails(client, "upsert_contacts", {"contacts": [{}] * 200_000})
    assert "contacts: at most 3,000 items per call, received 200,000" in text
    text = await fails(client, "get_contacts", {"emails": ["a@example.com"] * 20_000})
    assert "emails: at most 10,000 items" in text


async def test_a_prompt_whose_arguments_are_not_an_object_is_told_so():
    # The SDK client only sends objects; a raw client sent a list and got code 0 and a traceback.
    import pytest
    from mcp.shared.exceptions import MCPError

    from contacts_mcp.server.guard import Guard

    guard = Guard(server=None)  # type: ignore[arg-type]
    guard._prompts = {"clean_list_for_sms": {"list_id": True}}
    with pytest.raises(MCPError) as err:
        await guard._check_prompt({"name": "clean_list_for_sms", "arguments": ["x"]})
    assert "must be an object" in str(err.value)
