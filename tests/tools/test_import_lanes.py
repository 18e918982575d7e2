"""An import batch in two lanes (core/lanes.py) ends as if each line had been applied one by one.

Differential: the same random batches, over the same contacts, go through apply_lines in one account and
through apply_batch (every line one after the other, the reference) in another; outcomes, messages and the
contacts left must be the same, on both backends. The batches are drawn from small pools so that lines
repeat each other (in another case), take identities of existing or deleted contacts, and hit opted-out
addresses.
"""

from __future__ import annotations

import random
import re

import pytest

from contacts_mcp.core.errors import InvalidInput
from contacts_mcp.core.lanes import apply_lines
from contacts_mcp.core.optouts import EMAIL_MASK
from contacts_mcp.core.upsert import BatchOptions, apply_batch

pytestmark = pytest.mark.anyio

NOW = "2026-01-01T00:00:00.000000Z"
NAMES = ("email", "email_key", "mobile", "first_name")


def _line(rnd: random.Random) -> tuple | InvalidInput:
    if rnd.random() < 0.05:
        return InvalidInput("email", "is not an email address")
    n = rnd.randrange(40)
    email = f"p{n}@example.com" if rnd.random() < 0.9 else None
    if email and rnd.random() < 0.3:
        email = email.upper()
    mobile = f"+3361234{rnd.randrange(60):04d}" if rnd.random() < 0.6 else None
    if not email and not mobile:
        mobile = f"+3369{rnd.randrange(10**7):07d}"
    return (email, email.lower() if email else None, mobile, f"Name{rnd.randrange(5)}", None)


def _existing(w, rnd: random.Random, job: str) -> None:
    """The same contacts in every account: some live, some deleted, some imported by `job` already, some
    addresses opted out."""
    lines = []
    for n in range(0, 40, 3):
        lines.append((f"p{n}@example.com", f"p{n}@example.com", f"+3361234{n + 1:04d}" if n % 2 else None, "Old", None))
    ids = w.reserve_contact_ids(len(lines))
    w.insert_wire_rows(NAMES, ids, lines, source="t", now=NOW, last_import=None)
    w.set_deleted([ids[1], ids[4]], NOW, NOW)
    w.insert_optouts([(None, [("p5@example.com", EMAIL_MASK)], "email", "unsubscribed", "api"),
                      (None, [("+33612340020", 15)], "sms", "complaint", "api")], NOW)


def _options(rnd: random.Random, job: str) -> BatchOptions:
    return BatchOptions(match_keys=("email_key", "mobile"), update_enabled=rnd.random() < 0.7,
                        erase=rnd.random() < 0.2, source=f"import:{job}", now=NOW, repeats="skip", job_id=job,
                        skip_existing=True, restore_deleted=rnd.random() < 0.5)


def _state(r) -> list[tuple]:
    rows = r.list_contacts(list_id=None, segment_id=None, created_since=None, modified_since=None, search=[],
                           deleted="include", descending=False, after_id=None, limit=1000)
    return sorted((c["email_key"] or "", c["mobile"] or "", c["first_name"], c["deleted_at"] is None,
                   c["optout_mask"], c["last_import"] or "") for c in rows)


@pytest.mark.parametrize("seed", range(12))
async def test_a_batch_in_two_lanes_ends_as_its_lines_applied_one_by_one(state, seed):
    rnd = random.Random(seed)
    reference = await state.store.admin(lambda a: a.create_account("reference", NOW))
    lanes, ref = state.scope(), state.scope(reference)
    for scope in (lanes, ref):
        await scope.write(lambda w: _existing(w, random.Random(seed), "j1"))
    for batch in range(3):
        items = [_line(rnd) for _ in range(rnd.randrange(1, 60))]
        opts = _options(rnd, "j2")
        got = await lanes.write(lambda w: apply_lines(w, items, opts, NAMES))
        want = await ref.write(lambda w: apply_batch(w, items, opts, wire_names=NAMES))

        def described(results, r):
            """Each result with its contact, and the contacts its message names, told by their identities: the
            accounts' ids differ."""
            named = [int(n) for x in results for n in re.findall(r"contact (\d+)", x.error or "")]
            ids = {c["id"]: f"{c['email_key']}/{c['mobile']}"
                   for c in r.contacts_by_ids([x.id for x in results if x.id is not None] + named)}
            return [(x.outcome, re.sub(r"contact (\d+)", lambda m: ids[int(m[1])], x.error or ""), ids.get(x.id))
                    for x in results]

        assert await lanes.read(lambda r: described(got, r)) == await ref.read(lambda r: described(want, r)), batch
        assert await lanes.read(_state) == await ref.read(_state), batch
    # The maintained counts held through both lanes' inserts (ids of one block, in two statements).
    kept, recounted = await lanes.read(lambda r: (r.group_profiles("base", [0])[0], r.recount_profiles("base", 0)))
    assert kept == recounted


async def test_ids_of_new_contacts_follow_the_lines_whichever_lane_they_take(state):
    scope = state.scope()
    opts = BatchOptions(match_keys=("email_key", "mobile"), update_enabled=True, erase=False, source="import:j",
                        now=NOW, repeats="skip", job_id="j", skip_existing=True)
    items = [("a@example.com", "a@example.com", None, "A", None),
             ("B@example.com", "b@example.com", None, "B", None),
             ("b@example.com", "b@example.com", None, "B again", None),  # a repeat: both b lines go one by one
             ("c@example.com", "c@example.com", None, "C", None)]
    results = await scope.write(lambda w: apply_lines(w, items, opts, NAMES))
    assert [r.outcome for r in results] == ["created", "created", "duplicate", "created"]
    assert results[0].id < results[1].id < results[3].id
    assert results[2].id == results[1].id
