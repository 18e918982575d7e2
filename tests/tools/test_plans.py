"""Mass actions by filter (apply_to_contacts) run in two steps: a dry run that changes nothing and returns a
plan token the server signed, then the same call with the token. Wrong, forged, expired, replayed or
out-of-date tokens change nothing. Through an MCP client on both backends (the account test through core)."""

from __future__ import annotations

import pytest

from contacts_mcp.core import bulk, plans
from contacts_mcp.core.errors import InvalidInput
from contacts_mcp.core.models import Filter
from contacts_mcp.core.normalize import utc_now
from tests.conftest import call, fails

PARIS = {"field": "city", "op": "eq", "value": "Paris"}


async def _people(client, n: int = 6) -> list[int]:
    got = await call(client, "upsert_contacts", {"contacts": [
        {"email": f"p{i}@example.com", "mobile": f"+336123456{i:02d}", "city": "Paris" if i % 2 == 0 else "Lyon"}
        for i in range(n)]})
    return [item["id"] for item in got["items"]]


async def _stats(client, flt=None) -> dict:
    return (await call(client, "get_stats", {"filter": flt} if flt else {}))["stats"]


async def test_a_dry_run_changes_nothing_and_the_same_call_with_its_token_carries_it_out_once(client):
    ids = await _people(client)
    args = {"action": "optout", "filter": PARIS, "reason": "owner_blocked"}
    plan = await call(client, "apply_to_contacts", args)
    assert plan["done"] is False and plan["matching"] == 3 and plan["plan_token"].startswith("plan_")
    assert [c["id"] for c in plan["sample"]] == ids[0::2] and "Nothing changed" in plan["note"]
    assert (await _stats(client))["reachable"]["sms"] == 6  # the dry run changed nothing
    done = await call(client, "apply_to_contacts", {**args, "plan_token": plan["plan_token"]})
    assert done["done"] is True and done["matching"] == 3 and done["changed"] == 3 and "plan_token" not in done
    stats = await _stats(client)
    assert stats["reachable"]["sms"] == 3 and stats["opted_out_by_reason"]["owner_blocked"] == 3
    assert "carried out already" in await fails(client, "apply_to_contacts", {**args, "plan_token": plan["plan_token"]})


async def test_a_token_is_refused_for_other_arguments_another_action_or_when_tampered_with(client):
    await _people(client)
    args = {"action": "delete", "filter": PARIS}
    token = (await call(client, "apply_to_contacts", args))["plan_token"]
    for other in ({**args, "filter": {"field": "city", "op": "eq", "value": "Lyon"}},
                  {"action": "optout", "filter": PARIS, "reason": "unsubscribed"}):
        assert "not issued for this action" in await fails(client, "apply_to_contacts", {**other, "plan_token": token})
    forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
    assert "not issued" in await fails(client, "apply_to_contacts", {**args, "plan_token": forged})
    assert "not a plan token" in await fails(client, "apply_to_contacts", {**args, "plan_token": "yes-do-it"})
    assert (await _stats(client))["subscribers"] == 6


async def test_when_the_matching_contacts_change_nothing_happens_and_a_new_count_and_token_come_back(client):
    await _people(client)
    args = {"action": "delete", "filter": PARIS}
    first = await call(client, "apply_to_contacts", args)
    await call(client, "create_contact", {"contact": {"email": "late@example.com", "city": "PARIS"}})
    again = await call(client, "apply_to_contacts", {**args, "plan_token": first["plan_token"]})
    assert again["done"] is False and again["matching"] == 4 and "changed since the dry run" in again["note"]
    assert (await _stats(client))["subscribers"] == 7
    done = await call(client, "apply_to_contacts", {**args, "plan_token": again["plan_token"]})
    assert done["done"] and done["changed"] == 4
    assert (await _stats(client))["subscribers"] == 3


async def test_an_expired_token_is_refused(client, monkeypatch):
    await _people(client)
    monkeypatch.setattr(plans, "PLAN_TTL", -1)  # minted already expired
    token = (await call(client, "apply_to_contacts", {"action": "delete", "filter": PARIS}))["plan_token"]
    assert "expired" in await fails(client, "apply_to_contacts", {"action": "delete", "filter": PARIS,
                                                                  "plan_token": token})


async def test_another_accounts_token_is_refused(state):
    other = await state.store.admin(lambda a: a.create_account("other", utc_now()))
    mine, theirs = state.scope(), state.scope(other)
    flt = Filter.model_validate({"field": "city", "op": "is_empty"})
    token = (await bulk.apply(theirs, "delete", flt, plan_token=None)).plan_token
    with pytest.raises(InvalidInput, match="not issued"):
        await bulk.apply(mine, "delete", flt, plan_token=token)


async def test_lists_and_segments_are_filled_and_emptied_by_filter(client):
    ids = await _people(client)
    lst = (await call(client, "manage_lists", {"action": "create", "name": "L"}))["list"]["id"]
    seg = (await call(client, "manage_segments", {"action": "create", "name": "S"}))["segment"]["id"]

    async def both_steps(args: dict) -> dict:
        plan = await call(client, "apply_to_contacts", args)
        return await call(client, "apply_to_contacts", {**args, "plan_token": plan["plan_token"]})

    assert (await both_steps({"action": "add_to_list", "filter": PARIS, "list_id": lst}))["changed"] == 3
    # contacts already in the list are not covered again
    assert (await call(client, "apply_to_contacts", {"action": "add_to_list", "filter": PARIS,
                                                     "list_id": lst}))["matching"] == 0
    assert (await both_steps({"action": "attach_to_segment", "filter": {"field": "list", "op": "eq", "value": lst},
                              "segment_id": seg}))["changed"] == 3
    page = await call(client, "get_contacts", {"segment_id": seg, "sort": "asc"})
    assert [c["id"] for c in page["contacts"]] == ids[0::2]
    emptied = await both_steps({"action": "remove_from_list", "filter": {"field": "list", "op": "eq", "value": lst},
                                "list_id": lst})
    assert emptied["changed"] == 3
    assert (await call(client, "get_stats", {"list_ids": [lst]}))["stats"]["subscribers"] == 0
    assert (await both_steps({"action": "detach_from_segment", "filter": {"field": "segment", "op": "eq",
                                                                            "value": seg}, "segment_id": seg}))["changed"] == 3
    assert (await call(client, "get_segments", {"segment_ids": [seg]}))["segments"][0]["size"] == 0
    assert "list_id" in await fails(client, "apply_to_contacts", {"action": "add_to_list", "filter": PARIS})
    assert "reason" in await fails(client, "apply_to_contacts", {"action": "optout", "filter": PARIS})


async def test_other_contacts_in_the_same_number_are_a_change_too(client):
    # ids 1..4; the plan covers 1 and 4, then 2 and 3 match instead: same count, same sum of ids
    ids = [(await call(client, "create_contact", {"contact": {"email": f"s{i}@example.com", "city": city}}))
           ["contact"]["id"] for i, city in enumerate(["Paris", "Lyon", "Lyon", "Paris"])]
    args = {"action": "delete", "filter": PARIS}
    plan = await call(client, "apply_to_contacts", args)
    assert plan["matching"] == 2 and [c["id"] for c in plan["sample"]] == [ids[0], ids[3]]
    for i, city in enumerate(["Lyon", "Paris", "Paris", "Lyon"]):
        await call(client, "create_contact", {"contact_id": ids[i], "contact": {"city": city}})
    again = await call(client, "apply_to_contacts", {**args, "plan_token": plan["plan_token"]})
    assert again["done"] is False and [c["id"] for c in again["sample"]] == [ids[1], ids[2]]
    assert (await _stats(client))["subscribers"] == 4


async def test_a_malformed_token_is_refused_in_words_not_as_a_crash(client):
    await _people(client)
    for token in ("plan_１２３_x_y_z", "plan_1_" + "é" * 16 + "_" + "0" * 16 + "_" + "0" * 32, "plan_" + "9" * 400):
        text = await fails(client, "apply_to_contacts", {"action": "delete", "filter": PARIS, "plan_token": token[:200]})
        assert "not a plan token" in text
