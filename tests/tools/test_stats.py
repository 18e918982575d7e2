"""get_stats, field statistics and the reachability chart; maintained counts equal a recount."""

from __future__ import annotations

import base64
import struct
import tempfile
from collections import Counter
from pathlib import Path

import anyio
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from contacts_mcp.server.lifespan import running
from contacts_mcp.core import bulk, contacts, lists, optouts, segments, stats, subscriptions
from contacts_mcp.core.erase import erase
from contacts_mcp.core.errors import ContactsError
from contacts_mcp.core.models import ContactInput, Filter
from contacts_mcp.core.optouts import hasher
from contacts_mcp.core.settings import Settings
from contacts_mcp.core.stats import figures
from tests.conftest import call, fails


async def _base(client) -> tuple[int, int, list[int]]:
    a = (await call(client, "manage_lists", {"action": "create", "name": "A"}))["list"]["id"]
    b = (await call(client, "manage_lists", {"action": "create", "name": "B"}))["list"]["id"]
    people = [
        {"email": "e1@example.com", "mobile": "0611111111", "list_ids": [a, b]},
        {"email": "e2@example.com", "list_ids": [a]},
        {"mobile": "0622222222", "list_ids": [a]},
        {"fixed_phone": "0144444444", "ext_id": "F1", "list_ids": [b]},
        {"email": "e5@example.com", "mobile": "0655555555", "list_ids": [b]},
    ]
    ids = [(await call(client, "create_contact", {"contact": p}))["contact"]["id"] for p in people]
    return a, b, ids


async def test_the_whole_base_is_counted_per_channel(client):
    _, _, ids = await _base(client)
    await call(client, "optout_contact", {"contact_ids": [ids[4]], "channels": ["sms"], "reason": "unsubscribed"})
    await call(client, "optout_contact", {"contact_ids": [ids[1]], "channels": ["email"], "reason": "hardbounce"})
    stats = (await call(client, "get_stats"))["stats"]
    assert stats["subscribers"] == 5
    assert stats["reachable"] == {"email": 2, "sms": 2, "voice": 4, "voicemail": 4}
    assert stats["opted_out"] == {"email": 1, "sms": 1, "voice": 0, "voicemail": 0}
    assert stats["opted_out_by_reason"] == {"unsubscribed": 1, "owner_blocked": 0, "hardbounce": 1, "complaint": 0}
    assert stats["blacklisted"] == 2
    assert stats["missing_address"] == {"email": 2, "sms": 2, "voice": 1, "voicemail": 1}


async def test_a_list_and_several_lists_give_their_own_and_unique_figures(client):
    a, b, ids = await _base(client)
    await call(client, "delete_contacts", {"contact_ids": [ids[2]]})  # a deleted contact counts nowhere
    one = await call(client, "get_stats", {"list_ids": [a]})
    assert one["stats"]["subscribers"] == 2 and "lists" not in one
    both = await call(client, "get_stats", {"list_ids": [a, b]})
    assert both["total_subscribers"] == 5 and both["unique_subscribers"] == 4
    assert [x["stats"]["subscribers"] for x in both["lists"]] == [2, 3]
    assert both["stats"]["reachable"]["email"] == 3
    listed = await call(client, "get_lists", {"list_ids": [b], "properties": ["stats"]})
    assert listed["lists"][0]["stats"] == both["lists"][1]["stats"]
    text = await fails(client, "get_stats", {"list_ids": [a, 9991, 9992]})
    assert "9991" in text and "9992" in text


async def test_a_deleted_list_and_removed_members_leave_the_counts(client):
    a, b, ids = await _base(client)
    await call(client, "update_list_members", {"list_id": b, "action": "remove", "contact_ids": [ids[0]]})
    assert (await call(client, "get_stats", {"list_ids": [b]}))["stats"]["subscribers"] == 2
    await call(client, "manage_lists", {"action": "delete", "list_ids": [a]})
    assert "list id" in await fails(client, "get_stats", {"list_ids": [a]})
    assert (await call(client, "get_stats"))["stats"]["subscribers"] == 5


async def test_field_statistics_tell_how_filled_each_field_is(client):
    a, _, _ = await _base(client)
    await call(client, "manage_fields", {"action": "create", "name": "tier", "type": "text"})
    await call(client, "create_contact", {"contact": {"email": "t@example.com", "attributes": {"tier": "gold"},
                                                      "first_name": "Anne-Sophie"}})
    got = await call(client, "get_fields", {"with_stats": True, "limit": 200})
    by_name = {f["field"]: f for f in got["stats"]["fields"]}
    assert got["stats"]["contacts"] == 6
    assert by_name["email"]["set"] == 4 and by_name["email"]["max_length"] == len("e1@example.com")
    assert by_name["first_name"] == {"field": "first_name", "set": 1, "share": round(100 / 6, 2), "max_length": 11}
    assert by_name["tier"]["set"] == 1 and by_name["tier"]["max_length"] == 4
    in_list = await call(client, "get_fields", {"with_stats": True, "list_id": a, "names": ["mobile"]})
    assert in_list["stats"]["contacts"] == 3 and in_list["stats"]["fields"] == [
        {"field": "mobile", "set": 2, "share": 66.67, "max_length": 12}]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


async def test_reachability_is_readable_as_a_png_chart(client):
    a, _, _ = await _base(client)
    for target in ("all", str(a)):
        got = await client.read_resource(f"contacts://stats/{target}/chart.png")
        content = got.contents[0]
        assert content.mime_type == "image/png"
        assert _png_size(base64.b64decode(content.blob)) == (640, 360)
    import pytest
    from mcp.shared.exceptions import MCPError

    with pytest.raises(MCPError, match="list id"):
        await client.read_resource("contacts://stats/777/chart.png")


# ---------------------------------------------------------------- invariants

_op = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 5), st.sampled_from(["email", "mobile", "both", "fixed"]),
              st.lists(st.integers(0, 1), max_size=2)),
    st.tuples(st.just("update"), st.integers(0, 5), st.sampled_from(["email", "mobile", "fixed", "none"])),
    st.tuples(st.just("optout"), st.integers(0, 5), st.sampled_from(["email", "sms", "voice", "all"]),
              st.sampled_from(list(optouts.REASONS))),
    st.tuples(st.just("restore"), st.integers(0, 5), st.sampled_from(["email", "sms", "all"])),
    st.tuples(st.just("delete"), st.integers(0, 5)),
    st.tuples(st.just("undelete"), st.integers(0, 5)),
    st.tuples(st.just("add"), st.integers(0, 5), st.integers(0, 1)),
    st.tuples(st.just("remove"), st.integers(0, 5), st.integers(0, 1)),
    st.tuples(st.just("upsert"), st.lists(st.integers(0, 5), min_size=1, max_size=4, unique=True)),
    st.tuples(st.just("drop_list"), st.integers(0, 1)),
    st.tuples(st.just("attach"), st.integers(0, 5), st.integers(1, 2)),
    st.tuples(st.just("detach"), st.integers(0, 5), st.integers(1, 2)),
    st.tuples(st.just("subscribe"), st.integers(0, 7), st.integers(1, 2), st.booleans()),
    st.tuples(st.just("merge"), st.just(0), st.sampled_from([None, "email", "sms", "all"])),
    st.tuples(st.just("share"), st.integers(0, 5), st.integers(0, 1)),  # a new contact with n's fixed phone
    st.tuples(st.just("erase"), st.integers(0, 5)),
    st.tuples(st.just("unsub"), st.integers(0, 5), st.integers(0, 1)),
    st.tuples(st.just("resub"), st.integers(0, 5), st.integers(0, 1)),
    st.tuples(st.just("clear"), st.integers(0, 1)),
    st.tuples(st.just("optout_list"), st.integers(0, 1), st.sampled_from(list(optouts.REASONS))),
    st.tuples(st.just("recreate"), st.integers(0, 5), st.booleans()),
)


def _fields(n: int, kind: str) -> dict:
    return {"email": {"email": f"p{n}@example.com"}, "mobile": {"mobile": f"+336{n:08d}"},
            "both": {"email": f"p{n}@example.com", "mobile": f"+336{n:08d}"},
            "fixed": {"email": f"p{n}@example.com", "fixed_phone": f"+3314{n:07d}"}, "none": {}}[kind]


async def _planned(scope, action: str, of_list: int, **args) -> None:
    """A mass action on a list's members, both steps (the dry run, then its plan token)."""
    members = Filter(field="list", op="eq", value=of_list)
    plan = await bulk.apply(scope, action, members, plan_token=None, **args)
    await bulk.apply(scope, action, members, plan_token=plan.plan_token, **args)


# A dynamic segment's filter, and the same rule over a row (its members: the lists it is in).
_DYNAMIC = {"any": [{"field": "reachable", "op": "eq", "value": "sms"},
                    {"all": [{"field": "list", "op": "eq", "value": 1}, {"field": "email", "op": "contains",
                                                                          "value": "P1"}]}]}


def _in_dynamic(c: dict, lists_of: set[int]) -> bool:
    return bool(c["mobile"] and not c["optout_mask"] & 2) or (1 in lists_of and "p1" in (c["email"] or "").lower())


async def _apply(scope, op: tuple, ids: dict[int, int], list_ids: list) -> None:
    kind, n = op[0], op[1]
    cid = ids.get(n) if isinstance(n, int) else None
    if kind == "create":
        joined = [list_ids[i] for i in op[3] if list_ids[i] is not None]
        made = await contacts.create_contact(scope, ContactInput(**_fields(n, op[2]), list_ids=joined))
        ids[n] = made.contact.id
    elif kind == "share":
        joined = [list_ids[op[2]]] if list_ids[op[2]] is not None else []
        await contacts.create_contact(scope, ContactInput(email=f"s{n}.{len(ids)}@example.com",
                                                          fixed_phone=f"+3314{n:07d}", list_ids=joined))
    elif kind == "recreate":
        joined = [i for i in list_ids[:2] if i is not None]
        made = await contacts.create_contact(scope, ContactInput(**_fields(n, "both"), list_ids=joined),
                                             restore_deleted=op[2])
        ids[n] = made.contact.id
    elif kind == "clear" and list_ids[n] is not None:
        await _planned(scope, "remove_from_list", list_ids[n], list_id=list_ids[n])
    elif kind == "optout_list" and list_ids[n] is not None:
        await _planned(scope, "optout", list_ids[n], reason=op[2], channels=["all"])
    elif kind in ("unsub", "resub") and cid is not None and list_ids[op[2]] is not None:
        await lists.change_members(scope, list_ids[op[2]], [cid], "unsubscribe" if kind == "unsub" else "resubscribe",
                                   reason="test reason")
    elif cid is None and kind not in ("upsert", "drop_list", "subscribe", "merge", "clear", "optout_list"):
        return
    elif kind == "update":
        await contacts.update_contact(scope, cid, ContactInput(**_fields(n + 100, op[2])))
    elif kind == "optout":
        await optouts.optout(scope, contact_ids=[cid], emails=[], mobiles=[], channels=[op[2]], reason=op[3],
                             source="test")
    elif kind == "restore":
        await optouts.restore(scope, contact_ids=[cid], emails=[], mobiles=[], channels=[op[2]],
                              reason="test restore", restored_by="test")
    elif kind == "erase":
        await erase(scope, [ids.pop(n)], confirm="erase 1 contact", reason="test erase", by="test")
    elif kind in ("delete", "undelete"):
        await contacts.set_deleted(scope, [cid], restore=kind == "undelete")
    elif kind in ("add", "remove") and list_ids[op[2]] is not None:
        await lists.change_members(scope, list_ids[op[2]], [cid], kind)
    elif kind == "upsert":
        await contacts.upsert_contacts(scope, [ContactInput(email=f"p{m}@example.com", sms_blacklisted=m % 3 == 0)
                                               for m in n])
    elif kind == "drop_list" and list_ids[n] is not None:
        await lists.delete_lists(scope, [list_ids[n]])
        list_ids[n] = None
    elif kind in ("attach", "detach"):
        await segments.change(scope, kind, op[2], contact_ids=[cid], ext_ids=None)
    elif kind == "subscribe":
        done = await subscriptions.subscribe(scope, ContactInput(**_fields(n, "email")), segment_ids=[op[2]],
                                             form_type=None, expires_hours=1)
        ids[n] = done.contact.id
        if op[3]:
            await subscriptions.confirm(scope, done.token)
    elif kind == "merge" and None not in list_ids[:2]:
        made = await lists.merge_lists(scope, list_ids[:2], f"M{len(list_ids)}", None, None,
                                       [op[2]] if op[2] else [])
        list_ids.append(made.list_.id)


async def _play(ops: list[tuple], db: Path) -> None:
    async with running(Settings(db_path=db), jobs=False) as app:
        scope = app.scope()
        list_ids = [(await lists.create_list(scope, f"L{i}", None, None)).list_.id for i in range(2)]
        for i in (1, 2):
            await segments.manage(scope, "create", segment_id=None, segment_ids=None, name=f"S{i}", description=None)
        dynamic = (await segments.manage(scope, "create", segment_id=None, segment_ids=None, name="D", description=None,
                                         filter=Filter.model_validate(_DYNAMIC))).segment.id
        ids: dict[int, int] = {}
        # Four contacts to start with, so that most operations act on someone.
        for n, kind in enumerate(("email", "both", "mobile", "fixed")):
            made = await contacts.create_contact(scope, ContactInput(**_fields(n, kind), list_ids=list_ids[: n % 3]))
            ids[n] = made.contact.id
        for op in ops:
            try:
                await _apply(scope, op, ids, list_ids)
            except ContactsError:  # a refused operation (e.g. a conflict) must leave the counts right too
                pass

        def check(r) -> None:
            kept = r.group_profiles("base", [0])[0]
            assert +kept == r.recount_profiles("base", 0)
            for list_id in [i for i in list_ids if i is not None]:
                assert +r.group_profiles("list", [list_id])[list_id] == r.recount_profiles("list", list_id)
            for segment_id in (1, 2):
                assert +r.group_profiles("segment", [segment_id])[segment_id] == r.recount_profiles("segment", segment_id)
            # And the figures agree with a contact-by-contact count of the spec's definitions.
            rows = r._all("SELECT * FROM contacts WHERE deleted_at IS NULL")
            s = figures(kept)
            assert s.subscribers == len(rows)
            assert s.reachable.email == sum(1 for c in rows if c["email"] and not c["optout_mask"] & 1
                                            and c["status"] == "confirmed")
            assert s.reachable.sms == sum(1 for c in rows if c["mobile"] and not c["optout_mask"] & 2)
            assert s.reachable.voice == sum(1 for c in rows if (c["mobile"] or c["fixed_phone"])
                                            and not c["optout_mask"] & 4)
            # No contact is reachable at an email or mobile an active opt-out blocks, in clear or (erased) as a hash.
            token = hasher(r.address_secret())
            active = {}
            for a in r._all("SELECT a.address, a.mask FROM optout_addresses a JOIN optouts o ON o.id = a.optout_id "
                            "WHERE o.restored_at IS NULL"):
                active[a["address"]] = active.get(a["address"], 0) | a["mask"]
            for c in r._all("SELECT * FROM contacts"):
                for col in ("email_key", "mobile"):
                    if c[col]:
                        for key in (c[col], token(c[col])):
                            m = active.get(key, 0)
                            assert m & c["optout_mask"] == m, (c, col, key, m)

        await scope.read(check)

        # A dynamic segment's figures are its filter's now: equal to the rule applied contact by contact.
        def members(r) -> list[dict]:
            rows = r._all("SELECT * FROM contacts WHERE deleted_at IS NULL")
            lists_of: dict[int, set[int]] = {}
            for m in r._all("SELECT contact_id, list_id FROM list_members"):
                lists_of.setdefault(m["contact_id"], set()).add(m["list_id"])
            return [c for c in rows if _in_dynamic(c, lists_of.get(c["id"], set()))]

        if list_ids[0] is None:  # its filter names a list deleted since: reading it says so
            with pytest.raises(ContactsError, match="list id"):
                await stats.get_stats(scope, None, [dynamic])
            return
        expected = await scope.read(members)
        got = (await stats.get_stats(scope, None, [dynamic])).stats
        assert got.subscribers == len(expected)
        assert got.reachable.email == sum(1 for c in expected if c["email"] and not c["optout_mask"] & 1
                                          and c["status"] == "confirmed")


@hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_op, min_size=1, max_size=25))
def test_maintained_statistics_always_equal_a_recount(ops):
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(_play, ops, Path(tmp) / "c.db")


def test_figures_of_no_contacts_are_all_zero():
    s = figures(Counter())
    assert s.subscribers == 0 and s.reachable.email == 0 and s.blacklisted == 0
