"""Prompts as an assistant sees them: listed with their arguments, rendered into steps naming real tools."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from mcp import Client, MCPError
from mcp.server.mcpserver import MCPServer

from contacts_mcp.server import prompts

# The conftest adds the anyio marker after collection, too late for parametrized coroutine tests.
pytestmark = pytest.mark.anyio


def prompts_only() -> MCPServer:
    # A bare server: the prompts must not depend on the rest of the app being registered.
    server = MCPServer("t")
    prompts.register(server)
    return server


@asynccontextmanager
async def client() -> AsyncIterator[Client]:
    async with Client(prompts_only()) as c:
        yield c


async def render(name: str, arguments: dict[str, str]) -> str:
    async with client() as c:
        result = await c.get_prompt(name, arguments)
    assert result.messages and all(m.role == "user" for m in result.messages)
    return "\n".join(m.content.text for m in result.messages)


def assert_compact(text: str) -> None:
    # The whole text lands in the model's context: keep it a checklist, not an essay.
    assert len(text.split()) <= 300, len(text.split())


async def test_the_three_prompts_are_listed_with_described_arguments():
    async with client() as c:
        listed = {p.name: p for p in (await c.list_prompts()).prompts}
    assert set(listed) == {"import_crm_export", "clean_list_for_sms", "build_campaign_list"}
    expected = {
        "import_crm_export": {"source": True, "list_name": False},
        "clean_list_for_sms": {"list_id": True},
        "build_campaign_list": {"list_ids": True, "name": True, "channel": False},
    }
    for name, arguments in expected.items():
        prompt = listed[name]
        assert prompt.description and "\n" not in prompt.description, name
        assert {a.name: bool(a.required) for a in prompt.arguments} == arguments, name
        assert all(a.description for a in prompt.arguments), name


async def test_import_crm_export_follows_the_job_and_reviews_its_errors():
    text = await render("import_crm_export", {"source": "/data/exports/hubspot.csv", "list_name": "Q3 leads"})
    for expected in ('path="/data/exports/hubspot.csv"', 'new_list_name="Q3 leads"', "get_jobs",
                     "unknown_columns", "set_field_alias", "mapping", "contacts://imports/<job id>/errors",
                     "errors.csv", "created", "updated", "invalid", "duplicates", "json_rows"):
        assert expected in text, expected
    assert_compact(text)


async def test_import_crm_export_reads_a_url_and_names_the_list_after_the_file():
    text = await render("import_crm_export", {"source": "https://crm.example.com/exp/contacts.xlsx?x=1"})
    assert 'url="https://crm.example.com/exp/contacts.xlsx?x=1"' in text
    assert 'new_list_name="Import contacts"' in text


async def test_clean_list_for_sms_checks_reach_and_keeps_opt_outs():
    text = await render("clean_list_for_sms", {"list_id": "42"})
    for expected in ("get_stats with list_ids=[42]", "reachable.sms", "missing_address.sms", "opted_out.sms",
                     'get_fields with names=["mobile"], with_stats=true, list_id=42',
                     'get_optouts with channel="sms", list_id=42', "restore_optout", "consent",
                     'exclude_optout_channel="sms"', "merge_lists", "contacts://stats/42/chart.png"):
        assert expected in text, expected
    assert_compact(text)


async def test_build_campaign_list_merges_without_opt_outs_and_reports_reach():
    text = await render("build_campaign_list", {"list_ids": "12, 34,12", "name": "Spring sale", "channel": "sms"})
    for expected in ('merge_lists with list_ids=[12, 34], name="Spring sale", exclude_optout_channel="sms"',
                     "get_stats with list_ids=[12, 34]", "get_stats with list_ids=[<new list id>]",
                     "reachable.sms", "total_subscribers", "unique_subscribers", "without a mobile"):
        assert expected in text, expected
    assert "unconfirmed" not in text
    assert_compact(text)


async def test_build_campaign_list_defaults_to_email():
    text = await render("build_campaign_list", {"list_ids": "1,2", "name": "News"})
    assert 'exclude_optout_channel="email"' in text and "reachable.email" in text and "unconfirmed" in text
    assert_compact(text)


@pytest.mark.parametrize(("name", "arguments", "message"), [
    ("import_crm_export", {}, "source"),
    ("clean_list_for_sms", {}, "list_id"),
    ("build_campaign_list", {"list_ids": "1,2"}, "name"),
])
async def test_a_missing_required_argument_is_an_error(name, arguments, message):
    async with client() as c:
        with pytest.raises(MCPError):
            await c.get_prompt(name, arguments)
    # The SDK hides the reason from remote clients ("Internal server error"); in process it names the argument.
    async with Client(prompts_only(), raise_exceptions=True) as c:
        with pytest.raises(MCPError, match=f"Missing required arguments.*{message}"):
            await c.get_prompt(name, arguments)


@pytest.mark.parametrize(("name", "arguments", "message"), [
    ("clean_list_for_sms", {"list_id": "abc"}, "list_id: must be a list id"),
    ("build_campaign_list", {"list_ids": "7", "name": "N"}, "list_ids: give two or more"),
    ("build_campaign_list", {"list_ids": "1,x", "name": "N"}, "list_ids: must be a list id"),
    ("build_campaign_list", {"list_ids": "1,2", "name": "N", "channel": "fax"}, "channel: must be one of"),
    ("import_crm_export", {"source": "  "}, "source: give a file path"),
])
async def test_a_bad_argument_is_an_error_naming_it(name, arguments, message):
    async with client() as c:
        with pytest.raises(MCPError, match=message):
            await c.get_prompt(name, arguments)
