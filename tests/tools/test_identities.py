"""No identity, no contact: a blank (whitespace-only or invisible) email, mobile or ext_id is a missing one,
on every way in, and a contact with none of them is refused with the identities accepted."""

from __future__ import annotations

from pathlib import Path

from contacts_mcp.core.normalize import normalize_ext_id
from tests.conftest import call, fails

BLANKS = (" ", "\t \n", "\u00a0", "\u200b", " \ufeff\u200b ")


async def _count(client) -> int:
    return len((await call(client, "get_contacts", {"deleted": "include"}))["contacts"])


async def test_subscribing_with_a_blank_email_is_refused_and_creates_nobody(client):
    for _ in range(2):
        text = await fails(client, "subscribe_contact", {"contact": {"email": " "}})
        assert "email or a mobile" in text and "blank" in text
    text = await fails(client, "subscribe_contact", {"contact": {"email": "\t", "mobile": "  ", "first_name": "X"}})
    assert "email or a mobile" in text
    assert await _count(client) == 0
    assert (await call(client, "get_events", {}))["events"] == []


async def test_creating_a_contact_with_only_blank_identities_is_refused(client):
    for blank in BLANKS:
        text = await fails(client, "create_contact", {"contact": {"email": blank, "mobile": blank, "ext_id": blank,
                                                                  "first_name": "Nobody"}})
        assert "email, mobile or ext_id" in text
    assert await _count(client) == 0


async def test_upserting_contacts_with_blank_identities_fails_each_and_creates_nobody(client):
    got = await call(client, "upsert_contacts", {"contacts": [{"email": " ", "first_name": "A"},
                                                              {"email": "\u200b", "ext_id": "\u200b"},
                                                              {"email": "ok@example.com"}]})
    assert (got["created"], got["failed"]) == (1, 2)
    assert "has no ext_id or email" in got["items"][0]["error"]
    by_ext = await call(client, "upsert_contacts", {"contacts": [{"ext_id": " \ufeff", "mobile": "0611111111"}],
                                                    "dedupe_on": "ext_id"})
    assert by_ext["failed"] == 1 and "has no ext_id" in by_ext["items"][0]["error"]
    assert await _count(client) == 1


async def test_an_import_line_with_a_blank_email_is_reported_and_creates_nobody(client_with, tmp_path: Path):
    (tmp_path / "blank.csv").write_text("email,ext_id,first_name\n ,\u200b,A\n\t, ,B\nok@example.com,,C\n")
    async with client_with(import_roots=(tmp_path,)) as c:
        job = await call(c, "import_file", {"path": str(tmp_path / "blank.csv")})
        done = (await call(c, "get_jobs", {"job_id": job["id"], "wait_seconds": 10}))["jobs"][0]
        assert (done["created"], done["invalid"]) == (1, 2)
        assert await _count(c) == 1


async def test_an_update_that_would_blank_every_identity_is_refused(client):
    cid = (await call(client, "create_contact", {"contact": {"email": "a@example.com"}}))["contact"]["id"]
    text = await fails(client, "create_contact", {"contact_id": cid, "contact": {"email": " "}, "empty_values_erase": True})
    assert "no identity" in text and "email, mobile or ext_id" in text
    # Without erasing, a blank value leaves the stored one alone.
    await call(client, "create_contact", {"contact_id": cid, "contact": {"email": " ", "first_name": "Ann"}})
    got = (await call(client, "get_contacts", {"contact_ids": [cid]}))["contacts"][0]
    assert got["email"] == "a@example.com" and got["first_name"] == "Ann"


async def test_a_blank_address_to_opt_out_is_refused_naming_it(client):
    text = await fails(client, "optout_contact", {"emails": ["a@example.com", " "], "mobiles": ["\t"],
                                                   "reason": "unsubscribed"})
    assert "emails[1]" in text and "mobiles[0]" in text and "blank" in text
    assert (await call(client, "get_optouts", {}))["optouts"] == []


async def test_a_blank_identity_is_missing_in_the_write_path_itself(state):
    """Below every entry point's own check: the one write path creates no contact without an identity."""
    from contacts_mcp.core.prepare import prepare
    from contacts_mcp.core.fields import registry
    from contacts_mcp.core.normalize import utc_now
    from contacts_mcp.core.upsert import BatchOptions, apply_batch

    scope = state.scope()
    p = prepare({"email": " ", "first_name": "X"}, "FR", await registry(scope))
    opts = BatchOptions(match_keys=("email_key", "mobile"), update_enabled=True, erase=False, source="t", now=utc_now())
    [result] = await scope.write(lambda w: apply_batch(w, [p], opts))
    assert result.outcome == "failed" and "email, mobile or ext_id" in result.error
    assert await scope.read(lambda r: r.list_contacts(list_id=None, segment_id=None, created_since=None,
                                                      modified_since=None, search=[], deleted="include",
                                                      descending=False, after_id=None, limit=10)) == []


def test_an_ext_id_of_spaces_and_invisible_characters_is_missing():
    for blank in BLANKS:
        assert normalize_ext_id(blank) is None
    assert normalize_ext_id("\u200b crm-1 \ufeff") == "crm-1"
    assert normalize_ext_id("crm\u200b1") == "crm\u200b1"  # inside a value, kept: it is the value
