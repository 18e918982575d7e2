"""What an assistant sees: tools with descriptions, annotations, schemas; resources; instructions."""

import json

from ..conftest import call

CARD_TOOLS_SO_FAR = {"create_contact", "import_file", "set_field_alias"}
MAX_TOOLS = 30


async def test_every_tool_is_described_annotated_and_typed_in_and_out(client):
    tools = (await client.list_tools()).tools
    assert len(tools) <= MAX_TOOLS
    assert CARD_TOOLS_SO_FAR <= {t.name for t in tools}
    for tool in tools:
        d = tool.model_dump(by_alias=True, exclude_none=True)
        assert len(d["description"]) >= 40, tool.name
        assert "readOnlyHint" in d["annotations"], tool.name
        if not d["annotations"]["readOnlyHint"]:
            assert "destructiveHint" in d["annotations"], tool.name
        assert d["outputSchema"]["type"] == "object", tool.name
        for name, schema in d["inputSchema"]["properties"].items():
            assert "description" in schema or "$ref" in schema, f"{tool.name}.{name}"


async def test_the_tool_listing_stays_within_thirty_tools_and_fourteen_thousand_tokens(client):
    tools = (await client.list_tools()).tools
    tokens = len(json.dumps([t.model_dump(by_alias=True, exclude_none=True) for t in tools])) // 4
    # The whole listing is paid in every conversation: 14k tokens for at most 30 tools (the filters issue).
    assert len(tools) <= 30 and tokens <= 14_000


async def test_each_tool_taking_a_filter_describes_it_once_as_a_recursive_definition(client):
    tools = {t.name: t.input_schema for t in (await client.list_tools()).tools}
    takers = {name for name, schema in tools.items() if "filter" in schema["properties"]}
    assert {"get_contacts", "get_stats", "apply_to_contacts", "manage_segments"} <= takers
    for name in takers:
        node = tools[name]["$defs"]["Filter"]
        assert node["properties"]["all"]["items"] == {"$ref": "#/$defs/Filter"}, name
        assert "contacts://filters" in node["description"], name
        assert len(json.dumps(node)) < 800, name


async def test_a_contact_and_a_list_are_readable_as_resources(client):
    created = await call(client, "create_contact", {"contact": {"email": "r@example.com"}})
    lst = await call(client, "manage_lists", {"action": "create", "name": "R"})
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert {"contacts://contacts/{id}", "contacts://lists/{id}"} <= templates
    contact = json.loads((await client.read_resource(f"contacts://contacts/{created['contact']['id']}")).contents[0].text)
    assert contact["email"] == "r@example.com"
    got = json.loads((await client.read_resource(f"contacts://lists/{lst['list']['id']}")).contents[0].text)
    assert got["name"] == "R" and got["stats"]["subscribers"] == 0 and got["stats"]["reachable"]["email"] == 0


async def test_an_unknown_resource_id_is_a_not_found_error(client):
    import pytest
    from mcp import MCPError

    with pytest.raises(MCPError, match="unknown contact id: 999"):
        await client.read_resource("contacts://contacts/999")
    with pytest.raises(MCPError, match="must be a number"):
        await client.read_resource("contacts://lists/abc")


async def test_the_server_explains_its_model_to_the_assistant(client):
    text = client.instructions or ""
    for word in ("Deduplication", "list", "folder", "next_cursor"):
        assert word in text
