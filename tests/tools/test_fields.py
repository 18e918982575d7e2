"""set_field_alias, manage_fields and get_fields through an MCP client."""

import json

from ..conftest import call, fails
from .test_imports import contacts, run_import


async def field(client, name):
    return (await call(client, "get_fields", {"names": [name]}))["fields"][0]


async def test_built_in_fields_come_in_canonical_order_with_default_aliases(client):
    page = await call(client, "get_fields", {})
    names = [f["name"] for f in page["fields"]]
    assert names[:4] == ["ext_id", "civility", "first_name", "last_name"] and names[-1] == "reference"
    email = next(f for f in page["fields"] if f["name"] == "email")
    assert {"E-mail", "Courriel"} <= set(email["aliases"]) and email["type"] == "email" and email["builtin"]
    assert "Portable" in next(f for f in page["fields"] if f["name"] == "mobile")["aliases"]


async def test_fields_page_with_a_cursor(client):
    first = await call(client, "get_fields", {"limit": 5})
    second = await call(client, "get_fields", {"limit": 50, "cursor": first["next_cursor"]})
    assert len(first["fields"]) == 5 and len(first["fields"]) + len(second["fields"]) == 17
    assert "next_cursor" not in second


async def test_an_alias_is_unique_across_fields_and_the_clash_names_its_owner(client):
    text = await fails(client, "set_field_alias", {"field": "fixed_phone", "alias": "portable"})
    assert "field 'mobile'" in text and "remove=true" in text
    text = await fails(client, "set_field_alias", {"field": "city", "alias": "first name"})
    assert "the name of field 'first_name'" in text


async def test_aliases_match_ignoring_case_accents_and_punctuation(client):
    got = await call(client, "set_field_alias", {"field": "company", "alias": "Dénomination sociale"})
    assert "Dénomination sociale" in got["field"]["aliases"]
    text = await fails(client, "set_field_alias", {"field": "city", "alias": "DENOMINATION-SOCIALE"})
    assert "field 'company'" in text
    again = await call(client, "set_field_alias", {"field": "company", "alias": "denomination sociale"})
    assert again["field"]["aliases"].count("Dénomination sociale") == 1


async def test_an_alias_can_be_removed_and_moved_to_another_field(client):
    await call(client, "set_field_alias", {"field": "mobile", "alias": "Portable", "remove": True})
    assert "Portable" not in (await field(client, "mobile"))["aliases"]
    await call(client, "set_field_alias", {"field": "fixed_phone", "alias": "Portable"})
    assert "Portable" in (await field(client, "fixed_phone"))["aliases"]
    text = await fails(client, "set_field_alias", {"field": "mobile", "alias": "Nope", "remove": True})
    assert "unknown alias of field 'mobile'" in text


async def test_an_alias_for_an_unknown_field_is_refused(client):
    assert "get_fields" in await fails(client, "set_field_alias", {"field": "shoe", "alias": "Shoe"})


async def test_custom_fields_are_typed_named_and_limited_to_their_choices(client):
    created = await call(client, "manage_fields", {"action": "create", "name": "tier", "type": "choice",
                                                   "choices": ["gold", "silver"]})
    assert created["field"] == {"name": "tier", "type": "choice", "builtin": False, "choices": ["gold", "silver"]}
    assert "already exists" in await fails(client, "manage_fields", {"action": "create", "name": "tier",
                                                                     "type": "text"})
    assert "not a field name" in await fails(client, "manage_fields", {"action": "create", "name": "Bad Name",
                                                                       "type": "text"})
    assert "at least one choice" in await fails(client, "manage_fields", {"action": "create", "name": "c",
                                                                          "type": "choice"})
    assert "alias of field 'email'" in await fails(client, "manage_fields", {"action": "create", "name": "courriel",
                                                                             "type": "text"})
    text = await fails(client, "create_contact", {"contact": {"email": "a@example.com", "attributes": {"tier": "bronze"}}})
    assert "gold, silver" in text


async def test_a_choice_fields_choices_change_but_its_type_does_not(client):
    await call(client, "manage_fields", {"action": "create", "name": "tier", "type": "choice", "choices": ["gold"]})
    updated = await call(client, "manage_fields", {"action": "update", "name": "tier", "choices": ["gold", "bronze"]})
    assert updated["field"]["choices"] == ["gold", "bronze"]
    assert "cannot change" in await fails(client, "manage_fields", {"action": "update", "name": "tier",
                                                                    "type": "text"})
    assert "built-in" in await fails(client, "manage_fields", {"action": "update", "name": "email",
                                                               "choices": ["x"]})


async def test_deleting_a_custom_field_removes_its_values_from_contacts(client):
    await call(client, "manage_fields", {"action": "create", "name": "score", "type": "number"})
    await call(client, "set_field_alias", {"field": "score", "alias": "Points"})
    c = await call(client, "create_contact", {"contact": {"email": "a@example.com", "attributes": {"score": 7}}})
    deleted = await call(client, "manage_fields", {"action": "delete", "name": "score"})
    assert deleted == {"deleted_field": "score", "contacts_changed": 1}
    got = await call(client, "get_contacts", {"contact_ids": [c["contact"]["id"]]})
    assert "attributes" not in got["contacts"][0]
    assert (await call(client, "get_fields", {"names": ["score"]}))["not_found"] == ["score"]
    await call(client, "set_field_alias", {"field": "reference", "alias": "Points"})  # the alias is free again


async def test_a_custom_field_cannot_take_a_reserved_name(client):
    text = await fails(client, "manage_fields", {"action": "create", "name": "list_ids", "type": "text"})
    assert "reserved" in text


async def test_a_number_field_refuses_infinity_and_nan_on_an_import_line_and_imports_the_others(client):
    # PostgreSQL's jsonb has no Infinity or NaN (json.dumps writes them): the whole job failed there with an
    # internal error, while SQLite stored a value no JSON reader takes and showed it as null.
    await call(client, "manage_fields", {"action": "create", "name": "score", "type": "number"})
    job = await run_import(client, csv_text="email,score\na@example.com,inf\nb@example.com,NaN\nc@example.com,2.5\n")
    assert (job["status"], job["created"], job["invalid"]) == ("completed", 1, 2), job
    page = json.loads((await client.read_resource(job["error_report"])).contents[0].text)
    assert all("score" in e["reason"] and "not a number" in e["reason"] for e in page["errors"]), page
    assert [c["attributes"] for c in await contacts(client)] == [{"score": 2.5}]
