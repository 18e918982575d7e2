"""The storage contract (storage/api.py), run against every backend: what core may rely on from a Store,
its Readers and its Writers, whatever the database: each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from contacts_mcp.storage.api import Store
from contacts_mcp.storage.sqlite import Store as SQLiteStore

NOW = "2026-01-01T00:00:00.000000Z"
pytestmark = pytest.mark.anyio


async def _open_sqlite(tmp_path: Path) -> Store:
    store = await SQLiteStore.open(tmp_path / "contract.db")
    with sqlite3.connect(store.path) as db:  # a second account, as the CLI would make it
        db.execute("INSERT INTO accounts (id, name, created_at) VALUES (2, 'other', ?)", [NOW])
    return store


async def _open_postgres(url: str) -> Store:
    from contacts_mcp.storage.postgres import Store as PostgresStore

    store = await PostgresStore.open(url)
    await store.admin(lambda a: a.create_account("other", NOW))  # account 2, as the CLI would make it
    return store


BACKENDS = {"sqlite": _open_sqlite, "postgres": _open_postgres}


@pytest.fixture(params=sorted(BACKENDS))
async def store(request, tmp_path) -> AsyncIterator[Store]:
    where = request.getfixturevalue("pg_url") if request.param == "postgres" else tmp_path
    opened = await BACKENDS[request.param](where)
    try:
        yield opened
    finally:
        await opened.close()


def _contact(w, **columns) -> int:
    """A contact inserted the way core's batch does: an id handed out inside the unit, then the row."""
    [contact_id] = w.reserve_contact_ids(1)
    w.insert_contacts([{"id": contact_id, "attributes": {}, "blocked_senders": [], "status": "confirmed",
                        "source": "api", "created_at": NOW, "updated_at": NOW, "deleted_at": None,
                        "optout_mask": 0, "optout_reasons": 0, **columns}])
    return contact_id


async def test_a_write_unit_that_raises_leaves_nothing_behind(store: Store):
    def half(w):
        _contact(w, email="a@example.com", email_key="a@example.com")
        w.insert_list(name="half", description=None, folder_id=None, now=NOW)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store.write(1, half)
    assert await store.read(1, lambda r: r.contacts_by_key("email_key", ["a@example.com"])) == []
    assert await store.read(1, lambda r: r.list_lists(folder_id=None, after_id=None, limit=10)) == []


async def test_another_accounts_ids_behave_like_unknown_ones(store: Store):
    mine = await store.write(1, lambda w: (_contact(w, email_key="a@example.com"),
                                           w.insert_list(name="L", description=None, folder_id=None, now=NOW)))
    contact_id, list_id = mine
    assert await store.read(2, lambda r: r.contacts_by_ids([contact_id])) == []
    assert await store.read(2, lambda r: r.existing_list_ids([list_id])) == set()
    assert await store.read(2, lambda r: r.contacts_by_key("email_key", ["a@example.com"])) == []
    assert await store.read(2, lambda r: r.groups_named(["L"])) == []


async def test_an_identity_is_unique_within_an_account_and_free_in_another(store: Store):
    await store.write(1, lambda w: _contact(w, email_key="a@example.com"))
    with pytest.raises(Exception):  # the backend's integrity error: the unit is rolled back
        await store.write(1, lambda w: _contact(w, email_key="a@example.com"))
    other = await store.write(2, lambda w: _contact(w, email_key="a@example.com"))
    assert [r["id"] for r in await store.read(2, lambda r: r.contacts_by_key("email_key", ["a@example.com"]))] == [other]


async def test_ids_reserved_in_a_unit_are_never_reused_not_even_an_erased_ones(store: Store):
    first = await store.write(1, lambda w: _contact(w, email_key="a@example.com"))
    second = await store.write(1, lambda w: _contact(w, email_key="b@example.com"))
    assert second > first
    await store.write(1, lambda w: (w.erase_contacts([second]),
                                    w.insert_erasure(erased_by="t", reason="asked", contact_ids=[second], now=NOW)))
    third = await store.write(1, lambda w: _contact(w, email_key="c@example.com"))
    assert third > second


async def test_a_list_unsubscribe_keeps_the_contact_out_of_every_later_join(store: Store):
    def setup(w):
        list_id = w.insert_list(name="L", description=None, folder_id=None, now=NOW)
        contact_id = _contact(w, email_key="a@example.com")
        w.add_members(list_id, [contact_id], NOW)
        w.unsubscribe_members(list_id, [contact_id], "api", NOW)
        return list_id, contact_id

    list_id, contact_id = await store.write(1, setup)
    assert await store.write(1, lambda w: w.add_members(list_id, [contact_id], NOW)) == 0
    assert await store.read(1, lambda r: r.unsubscribed_among([contact_id], [list_id])) == {(contact_id, list_id)}
    assert await store.write(1, lambda w: w.resubscribe_members(list_id, [contact_id], by="t", reason="asked",
                                                                   now=NOW)) == 1
    assert await store.read(1, lambda r: r.member_ids(list_id)) == [contact_id]


async def test_maintained_group_counts_equal_a_recount_after_joins_leaves_and_deletes(store: Store):
    def setup(w):
        list_id = w.insert_list(name="L", description=None, folder_id=None, now=NOW)
        ids = [_contact(w, email_key=f"{i}@example.com", mobile=f"+3361234000{i}" if i % 2 else None)
               for i in range(6)]
        w.add_members(list_id, ids, NOW)
        w.remove_members(list_id, ids[:1])
        w.set_deleted(ids[1:2], NOW, NOW)
        return list_id

    list_id = await store.write(1, setup)
    kept = await store.read(1, lambda r: r.group_profiles("list", [list_id]))
    recounted = await store.read(1, lambda r: r.recount_profiles("list", list_id))
    assert kept[list_id] == recounted
    assert sum(recounted.values()) == 4  # one left the list, one is deleted: figures count neither


async def test_cache_versions_rise_with_every_change_whoever_makes_it(store: Store):
    fields, tokens = store.version("fields", 1), store.version("tokens")
    await store.write(1, lambda w: w.insert_field("tier", "text", None, NOW))
    assert store.version("fields", 1) > fields and store.version("fields", 2) == 0
    raised = store.version("fields", 1)
    await store.write(1, lambda w: w.insert_aliases([("tier", "Niveau", "niveau")], NOW))
    assert store.version("fields", 1) > raised

    await store.admin(lambda a: a.insert_token("abcdefabcdef", 1, "read", "hash", NOW, None))
    assert store.version("tokens") == tokens  # a new token invalidates nothing
    await store.admin(lambda a: a.revoke_token("abcdefabcdef", NOW))
    assert store.version("tokens") > tokens


async def _soon(check: Callable[[], Awaitable[bool]]) -> bool:
    """True once `check` is. Another PostgreSQL process hears of a raised version by NOTIFY, a fraction of a
    millisecond after the commit: a client's next request comes later than that, a test's next line may not.
    The second is only a deadline for this test's scheduling; SQLite's processes read the version each time."""
    with anyio.move_on_after(1.0):
        while not await check():
            await anyio.sleep(0.002)
        return True
    return False


async def test_a_field_made_by_another_process_is_seen_at_the_next_call(settings):
    # Two servers on one database: a field created through one is known to the other's next import call,
    # because the registry memo is checked against the fields version (no restart, no stale cache).
    from contacts_mcp.core import fields
    from contacts_mcp.server.lifespan import running

    async with running(settings, jobs=False) as one, running(settings, jobs=False) as two:
        assert "tier" not in (await fields.registry(two.scope())).fields
        await fields.create_field(one.scope(), "tier", "text", None)
        assert await _soon(lambda: _has_field(fields, two, "tier"))


async def _has_field(fields: Any, state: Any, name: str) -> bool:
    return name in (await fields.registry(state.scope())).fields


async def test_a_token_revoked_through_one_process_is_refused_by_another_at_once(settings):
    # The verifier's cache of each process is checked against the tokens version on every request.
    from contacts_mcp.core import accounts
    from contacts_mcp.server.auth import Verifier
    from contacts_mcp.server.lifespan import running

    async with running(settings, jobs=False) as one, running(settings, jobs=False) as two:
        token, row = await accounts.create_token(one.store, "local", "write", None)
        other = Verifier(state=two)
        assert await other.verify_token(token) is not None
        await accounts.revoke_token(one.store, row["id"])
        assert await Verifier(state=one).verify_token(token) is None  # the revoking process: at once
        assert await _soon(lambda: _refused(other, token))


async def _refused(verifier: Any, token: str) -> bool:
    return await verifier.verify_token(token) is None


async def test_a_unit_handed_to_a_closed_store_fails_at_once_instead_of_waiting_forever(store: Store):
    await store.close()
    attempts = {"write": lambda: store.write(1, lambda w: w.custom_fields()),
                "small write": lambda: store.write(1, lambda w: w.custom_fields(), small=True),
                "read": lambda: store.read(1, lambda r: r.custom_fields()),
                "admin": lambda: store.admin(lambda a: None),
                "pending jobs": lambda: store.pending_jobs(),
                "close again": lambda: store.close()}
    for name, attempt in attempts.items():
        with anyio.fail_after(5):  # a hang fails the test instead of stalling the suite
            if name == "close again":
                await attempt()  # closing twice is harmless
            else:
                with pytest.raises(Exception, match="closed"):
                    await attempt()


async def test_a_unit_that_raises_stop_iteration_fails_its_caller_instead_of_leaving_it_waiting(store: Store):
    def exhausted(w):
        return next(iter(w.custom_fields()))  # no field yet: StopIteration, a bug in the unit

    with anyio.fail_after(5):
        with pytest.raises(RuntimeError, match="StopIteration"):
            await store.write(1, exhausted)
        with pytest.raises(RuntimeError, match="StopIteration"):
            await store.read(1, exhausted)
    assert await store.write(1, lambda w: "still serving") == "still serving"


def _conforms(row: dict, shape: type) -> list[str]:
    """What is wrong with `row` as a `shape` (a TypedDict of storage/rows.py): missing keys, wrong types."""
    import types
    import typing

    problems = []
    for key, hint in typing.get_type_hints(shape).items():
        if key not in row:
            problems.append(f"{shape.__name__}.{key} missing")
            continue
        allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        classes = tuple(typing.get_origin(a) or a for a in allowed)
        classes = tuple(type(None) if c is None else c for c in classes)
        if not isinstance(row[key], classes) or (isinstance(row[key], bool) and bool not in classes):
            problems.append(f"{shape.__name__}.{key} is {type(row[key]).__name__} {row[key]!r}, not {hint}")
    return problems


async def test_every_repository_returns_rows_of_the_shapes_storage_rows_names(store: Store):
    # One of everything, with optional columns both filled and empty, then every row-returning query.
    from contacts_mcp.storage import rows as R

    def build(w):
        folder = w.insert_folder("F", NOW)
        list_id = w.insert_list(name="L", description=None, folder_id=folder, now=NOW)
        w.insert_segment("S", "about", NOW)
        full = _contact(w, email="A@example.com", email_key="a@example.com", mobile="+33612345678",
                        attributes={"score": 3, "tags": ["x"]}, blocked_senders=["acme"], last_import=NOW)
        bare = _contact(w, ext_id="X1")
        w.add_memberships([(full, list_id)], NOW)
        w.insert_field("score", "number", None, NOW)
        w.insert_field("tier", "choice", ["gold", "silver"], NOW)
        w.insert_aliases([("first_name", "Prénom", "prenom")], NOW)
        w.insert_optouts([(full, [("a@example.com", 1)], "email", "unsubscribed", "api"),
                          (None, [("+33699999999", 2)], "sms", "owner_blocked", "api")], NOW)
        w.insert_job({"id": "job1", "status": "queued", "source_kind": "path", "source_name": "f.csv",
                      "file_path": None, "options": {"a": 1}, "list_id": list_id, "notify_url": None, "created_at": NOW})
        w.insert_errors("job1", [(2, {"email": "bad"}, "not an email")])
        hook = w.insert_webhook("https://example.com/h", ["*"], "secret", NOW)
        w.insert_events([("contact.created", full, "a@example.com", {"k": 1}), ("list.merged", None, None, {})], NOW)
        w.insert_confirmation("tok", bare, None, NOW, NOW)
        return folder, list_id, full, bare, hook

    folder, list_id, full, bare, hook = await store.write(1, build)

    def queries(r):
        return [
            (R.ContactRow, r.contacts_by_ids([full, bare])),
            (R.ContactRow, r.contacts_by_key("email_key", ["a@example.com"])),
            (R.ContactRow, r.list_contacts(descending=False, after_id=None, limit=10, list_id=None, segment_id=None,
                                           created_since=None, modified_since=None, search=[], deleted="exclude")),
            (R.ListRow, r.lists_by_ids([list_id])),
            (R.ListRow, r.list_lists(folder_id=None, after_id=None, limit=10)),
            (R.FolderRow, r.folders_by_ids([folder])),
            (R.FolderRow, r.list_folders(after_id=None, limit=10)),
            (R.FolderRow, [r.folder_by_name("F")]),
            (R.FolderListRow, r.first_lists_of_folders([folder], 5)),
            (R.SegmentRow, r.list_segments(after_id=None, limit=10)),
            (R.SegmentRow, [r.segment_by_name("S")]),
            (R.FieldRow, r.custom_fields()),
            (R.AliasRow, r.aliases()),
            (R.OptoutRecordRow, r.active_optouts([full], ["+33699999999"])),
            (R.OptoutRecordRow, r.list_optouts(reason=None, channel=None, since=None, until=None, list_id=None,
                                               contact_id=None, include_restored=True, before_id=None, limit=10)),
            (R.JobRow, [r.job("job1")]),
            (R.JobRow, r.jobs(status=None, after_seq=None, limit=10)),
            (R.JobRow, list(r.jobs_of_lists([list_id]).values())),
            (R.ImportErrorRow, r.errors("job1", after_line=0, limit=10)),
            (R.EventRow, r.list_events(type=None, contact_id=None, since=None, until=None, after_id=None, limit=10)),
            (R.WebhookRow, r.webhooks()),
            (R.DeliveryRow, r.recent_deliveries(hook, 10)),
            (R.ConfirmationRow, [r.confirmation("tok")]),
        ]

    results = await store.read(1, queries)
    problems = [p for shape, rows in results for row in rows for p in _conforms(row, shape)]
    assert problems == []
    assert all(rows for _, rows in results), [shape.__name__ for shape, rows in results if not rows]

    accounts = await store.admin(lambda a: a.accounts(), write=False)
    assert [p for row in accounts for p in _conforms(row, R.AccountRow)] == []


async def test_a_leased_delivery_is_claimed_once_until_its_lease_runs_out(store: Store):
    def hook_and_event(w):
        w.insert_webhook("https://example.com/h", ["*"], "secret", NOW)
        w.insert_events([("contact.created", None, "a@example.com", {})], NOW)

    await store.write(1, hook_and_event)
    later, lease = "2026-01-01T00:00:01.000000Z", "2026-01-01T00:03:00.000000Z"
    [first] = await store.claim_deliveries(later, lease, 10)
    assert first["type"] == "contact.created" and first["url"] == "https://example.com/h"
    assert await store.claim_deliveries(later, lease, 10) == []  # another sender, meanwhile: nothing
    after = "2026-01-01T00:03:00.500000Z"  # the first sender died: once the lease is over, it is due again
    assert [d["id"] for d in await store.claim_deliveries(after, "2026-01-01T00:06:00.000000Z", 10)] == [first["id"]]


async def test_a_lookup_by_key_finds_identities_made_of_any_characters(store: Store):
    odd = ['a"b', "c\\d", "e,f", "{x}", "NULL", " sp ", "é'ü"]
    ids = await store.write(1, lambda w: [_contact(w, ext_id=v) for v in odd])
    found = await store.read(1, lambda r: r.contacts_by_key("ext_id", [*odd, "absent"]))
    assert sorted((r["ext_id"], r["id"]) for r in found) == sorted(zip(odd, ids))
    assert await store.read(1, lambda r: r.existing_contact_ids([*ids, 10**12])) == set(ids)


async def test_deleting_lists_and_segments_deletes_their_memberships_and_keeps_their_contacts(store: Store):
    def setup(w):
        ids = [_contact(w, email_key=f"{i}@example.com") for i in range(3)]
        kept, gone = (w.insert_list(name=n, description=None, folder_id=None, now=NOW) for n in ("kept", "gone"))
        segment = w.insert_segment("S", None, NOW)
        for list_id in (kept, gone):
            w.add_members(list_id, ids, NOW)
        w.attach(segment, ids, NOW)
        w.delete_groups("list", [gone])
        w.delete_groups("segment", [segment])
        return ids, kept, gone, segment

    ids, kept, gone, segment = await store.write(1, setup)

    def left(r):
        return (r.memberships(ids), r.member_ids(gone), r.memberships_among(ids, [segment], "segment"),
                len(r.contacts_by_ids(ids)))

    assert await store.read(1, left) == ({i: [kept] for i in ids}, [], set(), 3)


async def test_an_active_opt_out_is_recorded_once_per_contact_or_address_channel_and_reason(store: Store):
    def build(w):
        a, b = _contact(w, email_key="a@example.com"), _contact(w, email_key="b@example.com")
        w.insert_optouts([(a, [("a@example.com", 1)], "email", "unsubscribed", "api")], NOW)
        # One batch: a repeat of a's active record, b twice, b for another reason, an address-only record twice.
        w.insert_optouts([(a, [("a@example.com", 1)], "email", "unsubscribed", "import"),
                          (b, [("b@example.com", 1)], "email", "unsubscribed", "api"),
                          (b, [("b@example.com", 1)], "email", "unsubscribed", "import"),
                          (b, [("b@example.com", 1)], "email", "complaint", "api"),
                          (None, [("+33699999999", 2), ("+33699999998", 2)], "sms", "owner_blocked", "api"),
                          (None, [("+33699999999", 2)], "sms", "owner_blocked", "import")], NOW)
        return a, b

    a, b = await store.write(1, build)
    records = await store.read(1, lambda r: r.active_optouts([a, b], ["+33699999999"]))
    got = sorted((r["contact_id"] or 0, r["reason"], r["source"], [x[0] for x in r["addresses"]])
                 for r in records)
    assert got == [(0, "owner_blocked", "api", ["+33699999999", "+33699999998"]),
                   (a, "unsubscribed", "api", ["a@example.com"]),
                   (b, "complaint", "api", ["b@example.com"]),
                   (b, "unsubscribed", "api", ["b@example.com"])]


async def test_new_import_lines_are_inserted_together_but_those_whose_identity_is_taken_are_left_out(store: Store):
    names = ("email", "email_key", "mobile")

    def lines(w, *lines):
        ids = w.reserve_contact_ids(len(lines))
        rows = [(e.upper(), e, f"+3361234{m:04d}", {}) for e, m in lines]
        refused = w.insert_wire_rows(names, ids, rows, source="import:j", now=NOW, last_import="j", skip_taken=True)
        return list(ids), refused

    taken = await store.write(1, lambda w: _contact(w, email_key="taken@example.com"))
    ids, refused = await store.write(1, lambda w: lines(w, ("a@example.com", 1), ("taken@example.com", 2),
                                                        ("c@example.com", 3)))
    assert refused == {ids[1]}
    # By email, by mobile (a's), by neither: only the last one goes in.
    ids, refused = await store.write(1, lambda w: lines(w, ("c@example.com", 4), ("d@example.com", 1),
                                                        ("e@example.com", 2)))
    assert refused == {ids[0], ids[1]}
    ids, refused = await store.write(1, lambda w: lines(w, ("f@example.com", 5)))
    assert refused == set()

    def state(r):
        found = r.contacts_by_key("email_key", ["a@example.com", "c@example.com", "d@example.com", "e@example.com",
                                                "f@example.com", "taken@example.com"])
        return sorted(row["email_key"] for row in found), r.group_profiles("base", [0])[0], r.recount_profiles("base", 0)

    keys, kept, recounted = await store.read(1, state)
    assert keys == ["a@example.com", "c@example.com", "e@example.com", "f@example.com", "taken@example.com"]
    assert kept == recounted and sum(kept.values()) == 5 and taken
