"""Attributes named as people name them (FNAME, "Mobile Phone", any case, aliases included), in tool calls
and in v3-style JSON import rows with nested attributes."""

import base64
import json

from ..conftest import call, fails
from .test_imports import contacts, run_import


async def create(client, contact, **args):
    return (await call(client, "create_contact", {"contact": contact, **args}))["contact"]


# ---------------------------------------------------------------- tool calls


async def test_attributes_by_built_in_name_or_alias_in_any_case_set_the_built_in_fields(client):
    got = await create(client, {"email": "a@example.com",
                                "attributes": {"FNAME": "Elly", "lname": "Roger", "Mobile Phone": "06 12 34 56 78",
                                               "COUNTRY": "FR"}})
    assert (got["first_name"], got["last_name"], got["mobile"], got["country"]) == (
        "Elly", "Roger", "+33612345678", "FR")
    assert got.get("attributes", {}) == {}


async def test_a_custom_field_is_matched_by_name_or_alias_in_any_case(client):
    await call(client, "manage_fields", {"action": "create", "name": "loyalty_tier", "type": "text"})
    await call(client, "set_field_alias", {"field": "loyalty_tier", "alias": "Niveau fidélité"})
    got = await create(client, {"email": "a@example.com", "attributes": {"LOYALTY_TIER": "gold"}})
    assert got["attributes"] == {"loyalty_tier": "gold"}
    changed = await call(client, "create_contact", {"contact_id": got["id"],
                                                    "contact": {"attributes": {"NIVEAU FIDELITE": "silver",
                                                                               "lname": "Lee"}}})
    assert changed["contact"]["attributes"] == {"loyalty_tier": "silver"} and changed["contact"]["last_name"] == "Lee"


async def test_an_unknown_attribute_is_refused_naming_the_custom_fields_and_how_to_create_one(client):
    await call(client, "manage_fields", {"action": "create", "name": "tier", "type": "text"})
    text = await fails(client, "create_contact", {"contact": {"email": "a@example.com",
                                                              "attributes": {"Colour": "red", "FNAME": "Ann"}}})
    assert "attributes.Colour" in text and "custom fields: tier" in text and "manage_fields" in text
    assert "create_fields" in text
    assert (await call(client, "get_contacts", {}))["contacts"] == []


async def test_a_field_given_at_the_top_level_and_as_an_attribute_with_another_value_is_refused(client):
    text = await fails(client, "create_contact", {"contact": {"email": "a@example.com", "first_name": "Ann",
                                                              "attributes": {"FNAME": "Elly"}}})
    assert "attributes.FNAME" in text and "first_name" in text and "give it once" in text
    text = await fails(client, "create_contact", {"contact": {"email": "a@example.com",
                                                              "attributes": {"FNAME": "Elly", "First Name": "Ann"}}})
    assert "both set field 'first_name'" in text
    same = await create(client, {"email": "a@example.com", "first_name": "Ann", "attributes": {"FNAME": "Ann"}})
    assert same["first_name"] == "Ann"


async def test_upsert_with_create_fields_makes_unknown_attributes_text_fields(client):
    items = [{"email": "a@example.com", "attributes": {"Loyalty Tier": "gold", "FNAME": "Ann"}},
             {"email": "b@example.com", "attributes": {"loyalty tier": "silver"}}]
    refused = await call(client, "upsert_contacts", {"contacts": items})
    assert refused["failed"] == 2 and "create_fields=true" in refused["items"][0]["error"]
    done = await call(client, "upsert_contacts", {"contacts": items, "create_fields": True})
    assert done["created"] == 2, done
    field = (await call(client, "get_fields", {"names": ["loyalty_tier"]}))["fields"][0]
    assert (field["name"], field["type"], field["builtin"]) == ("loyalty_tier", "text", False)
    got = {c["email"]: c for c in await contacts(client)}
    assert got["a@example.com"]["attributes"] == {"loyalty_tier": "gold"}
    assert got["a@example.com"]["first_name"] == "Ann"
    assert got["b@example.com"]["attributes"] == {"loyalty_tier": "silver"}
    text = await fails(client, "upsert_contacts", {"contacts": [{"email": "c@example.com",
                                                                 "attributes": {"Shade": "x", "2nd phone": "x"}}],
                                                   "create_fields": True})
    assert "attributes.2nd phone" in text and "manage_fields" in text
    assert (await call(client, "get_fields", {"names": ["shade"]}))["not_found"] == ["shade"]  # none was made


# ---------------------------------------------------------------- JSON imports (v3-style bodies)

V3_ROWS = [
    {"email": "ann@example.com", "ext_id": "crm-1",
     "attributes": {"FNAME": "Ann", "LNAME": "Lee", "COUNTRY": "DE", "SMS": "+4915112345678", "Colour": "red"},
     "listIds": [2]},
    {"email": "bob@example.com", "attributes": {"FIRSTNAME": "Bob"}, "first_name": "Robert"},
    {"email": "cy@example.com", "attributes": {"FNAME": "Cy"}, "first_name": ""},
]


async def test_json_rows_with_nested_attributes_map_them_like_headers_and_report_unknown_ones(client):
    job = await run_import(client, json_rows=V3_ROWS)
    assert (job["status"], job["created"], job["invalid"]) == ("completed", 3, 0), job
    assert job["mapping"]["attributes.FNAME"] == "first_name" and job["mapping"]["attributes.SMS"] == "mobile"
    assert job["mapping"]["ext_id"] == "ext_id"
    assert set(job["unknown_columns"]) == {"attributes.Colour", "listIds"}
    got = {c["email"]: c for c in await contacts(client)}
    ann = got["ann@example.com"]
    assert (ann["ext_id"], ann["first_name"], ann["last_name"], ann["country"], ann["mobile"]) == (
        "crm-1", "Ann", "Lee", "DE", "+4915112345678")
    assert ann.get("list_ids", []) == []  # per-row listIds are not applied: use list_ids on the call
    # A field given at the top level and as an attribute: the top-level value wins, unless it is empty.
    assert got["bob@example.com"]["first_name"] == "Robert" and got["cy@example.com"]["first_name"] == "Cy"


async def test_a_json_file_with_nested_attributes_imports_them_and_custom_fields_by_alias(client):
    await call(client, "manage_fields", {"action": "create", "name": "tier", "type": "text"})
    await call(client, "set_field_alias", {"field": "tier", "alias": "LOYALTY"})
    data = json.dumps([{"email": "ann@example.com", "attributes": {"loyalty": "gold", "Prénom": "Ann"}}]).encode()
    job = await run_import(client, file_base64=base64.b64encode(data).decode(), filename="contacts.json")
    assert (job["status"], job["created"]) == ("completed", 1), job
    [ann] = await contacts(client)
    assert ann["attributes"] == {"tier": "gold"} and ann["first_name"] == "Ann"
    # An explicit mapping may name a nested attribute with or without its prefix.
    job = await run_import(client, json_rows=[{"email": "bob@example.com", "attributes": {"Shade": "blue"}}],
                           mapping={"Shade": "tier"})
    assert job["mapping"] == {"email": "email", "attributes.Shade": "tier"}
