"""Export, import into an empty database, export again: the same file, over random contacts with every kind
of field, opt-outs with their reasons, lists and static segments, names that look like formulas."""

from __future__ import annotations

import random
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import pytest
from mcp import Client

from contacts_mcp.server.app import build_server

from ..conftest import call

FIELDS = (("score", "number", None), ("vip", "boolean", None), ("renewal", "date", None), ("note", "text", None),
          ("tier", "choice", ["gold", "silver", "=bronze"]))
LISTS = ("Customers", "=SUM(A1)", "Pipe | list", "Back\\slash", "+Plus", "Élèves")
SEGMENTS = ("Hot", "-Cold", "'Quoted")
TRICKY = ("=1+1", "+33", "-x", "@home", "'=already", "''+twice", "'plain", "O'Neil", "Zoë, \"the\" best",
          "multi\nline", "car\rriage", "Ünïcødé ✓", "  spaced  ", "semi;colon", "pipe|d")
REASONS = ("unsubscribed", "owner_blocked", "hardbounce", "complaint")
CHANNELS = ("email", "sms", "voice", "voicemail")


def _text(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.3:
        return None
    return rng.choice(TRICKY) if roll < 0.55 else rng.choice(["Ann", "Bob", "Chloé", "Dmitri", "Eve"]) + str(rng.randint(1, 99))


def _contacts(rng: random.Random, n: int) -> list[dict]:
    out = []
    for i in range(n):
        attributes = {"score": rng.choice([None, rng.randint(-5, 500), round(rng.uniform(0, 100), 2)]),
                      "vip": rng.choice([None, True, False]),
                      "renewal": rng.choice([None, f"2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"]),
                      "note": _text(rng), "tier": rng.choice([None, "gold", "silver", "=bronze"])}
        contact = {"email": f"user{i}@example{rng.randint(1, 3)}.com" if rng.random() < 0.9 else None,
                   "mobile": f"+3361234{i:04d}" if rng.random() < 0.6 else None,
                   "fixed_phone": f"+3314567{i:04d}" if rng.random() < 0.3 else None,
                   "ext_id": f"crm-{i}" if rng.random() < 0.5 else None,
                   "first_name": _text(rng), "last_name": _text(rng), "company": _text(rng), "city": _text(rng),
                   "civility": rng.choice([None, "Mr", "Ms"]), "address_1": _text(rng), "postal_code": rng.choice(
                       [None, "75001", "-01"]), "birth_date": rng.choice([None, "1980-02-29", "2001-12-31"]),
                   "attributes": {k: v for k, v in attributes.items() if v is not None}}
        if not contact["email"]:  # the key both imports deduplicate on
            contact["email"] = f"fallback{i}@example.com"
        out.append({k: v for k, v in contact.items() if v})
    return out


async def _source(client: Client, rng: random.Random) -> None:
    for name, kind, choices in FIELDS:
        await call(client, "manage_fields", {"action": "create", "name": name, "type": kind,
                                             **({"choices": choices} if choices else {})})
    made = await call(client, "upsert_contacts", {"contacts": _contacts(rng, 60)})
    assert made["failed"] == 0, [i for i in made["items"] if i["outcome"] == "failed"]
    ids = [item["id"] for item in made["items"]]
    for name in LISTS:
        list_id = (await call(client, "manage_lists", {"action": "create", "name": name}))["list"]["id"]
        await call(client, "update_list_members", {"list_id": list_id, "action": "add",
                                                   "contact_ids": rng.sample(ids, rng.randint(1, 30))})
    for name in SEGMENTS:
        segment = (await call(client, "manage_segments", {"action": "create", "name": name}))["segment"]["id"]
        await call(client, "attach_to_segment", {"segment_id": segment, "contact_ids": rng.sample(ids, 10)})
    await call(client, "manage_segments", {"action": "create", "name": "Dynamic",  # not a column: a filter
                                           "filter": {"field": "city", "op": "is_set"}})
    for _ in range(8):
        await call(client, "optout_contact", {"contact_ids": rng.sample(ids, 5), "reason": rng.choice(REASONS),
                                              "channels": rng.sample(CHANNELS, rng.randint(1, 2))})


async def _export(client: Client, fmt: str, columns: list[str]) -> bytes:
    job = await call(client, "export_contacts", {"format": fmt, "columns": columns, "wait_seconds": 30})
    assert job["status"] == "completed", job
    return Path(job["file"]).read_bytes()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
@pytest.mark.parametrize("seed", [1, 2])
async def test_an_export_imported_into_an_empty_database_exports_the_same_file(client, settings, tmp_path, request,
                                                                               fmt, seed):
    rng = random.Random(seed)
    await _source(client, rng)
    columns = [c for c in (await call(client, "export_contacts", {"columns": None, "wait_seconds": 30}))["columns"]
               if c not in ("id", "source", "created_at", "updated_at")]  # this database's own records
    first = await _export(client, fmt, columns)
    exported = tmp_path / f"contacts.{fmt}"
    exported.write_bytes(first)
    with ExitStack() as stack:
        if settings.db_url is not None:
            other = replace(settings, db_url=stack.enter_context(request.getfixturevalue("pg_cluster").fresh_database()),
                            export_dir=tmp_path / "other-exports", import_roots=(tmp_path,))
        else:
            other = replace(settings, db_path=tmp_path / "other.db", import_roots=(tmp_path,))
        async with Client(build_server(other)) as empty:
            for name, kind, choices in FIELDS:  # fields are created by people, not by imports
                await call(empty, "manage_fields", {"action": "create", "name": name, "type": kind,
                                                    **({"choices": choices} if choices else {})})
            job = await call(empty, "import_file", {"path": str(exported), "wait_seconds": 30})
            assert job["status"] == "completed" and job["invalid"] == 0 and not job.get("unknown_columns"), job
            again = await _export(empty, fmt, columns)
    if fmt == "xlsx":  # the same cells
        from python_calamine import CalamineWorkbook
        import io

        def cells(data: bytes) -> list:
            return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
        assert cells(again) == cells(first)
    else:
        assert again == first
