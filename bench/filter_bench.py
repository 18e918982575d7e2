"""Filters on a big base, through the MCP tools in-process: prints figures, asserts nothing.

    .venv/bin/python bench/filter_bench.py [--contacts 1000000] [--postgres URL]

Builds a base of --contacts contacts with varied cities (200, some accented), postal codes, countries,
companies, email domains and three custom fields (score: number, tier: choice, note: text), imported as two
overlapping lists A (the first 60%) and B (the last 60%), then prints p50 (and p99 where repeated enough) of:
- get_contacts, first page of an indexed condition (city eq), and with its exact total (target < 50 ms p50);
- get_stats of a filter, every figure: indexed conditions (city, email domain, postal code prefix; target
  < 300 ms p50) and full scans (contains on a custom text field, a custom number range; target < 1.5 s);
- get_stats of lists A and B together, unique subscribers across them (target < 300 ms);
- a dynamic segment's get_stats; a mass action's dry run and the run with its plan token.

--postgres URL (a server, postgresql://user@host:port): the same on a new database `filter_bench` there
after the SQLite run; both columns side by side, and the database's top statements.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).parent))
from pg_watch import analyze, on_both  # noqa: E402

from contacts_mcp.core.settings import Settings  # noqa: E402
from contacts_mcp.server.app import build_server  # noqa: E402

HEADER = ["email", "mobile", "first_name", "last_name", "city", "postal_code", "country", "company", "score",
          "tier", "note"]
_CITIES = ["Paris", "Lyon", "Marseille", "Orléans", "Besançon", "Nîmes", "Saint-Étienne", "Angoulême", "Sète",
           "Évry"] + [f"Ville{i}" for i in range(190)]
_WORDS = ["jazz", "rock", "opera", "tennis", "golf", "cinema", "cuisine", "voyage", "lecture", "musique"]


def row(i: int) -> list[str]:
    city = _CITIES[(i * 7) % len(_CITIES)]
    note = f"aime {_WORDS[i % 10]} et {_WORDS[(i // 10) % 10]}" if i % 3 else ""
    return [f"user{i}@domain{i % 500}.com", f"06{i:08d}", f"Prénom{i % 1000}", f"Nom{i}", city,
            f"{(i * 13) % 95 + 1:02d}{i % 1000:03d}", "France" if i % 10 else "Belgique", f"Société {i % 2000}",
            str(i % 100), ("gold", "silver", "bronze")[i % 3], note]


def write_csv(path: Path, start: int, stop: int) -> None:
    import csv

    with path.open("w", newline="") as out:
        w = csv.writer(out)
        w.writerow(HEADER)
        for i in range(start, stop):
            w.writerow(row(i))


async def call(client: Client, name: str, args: dict) -> dict:
    result = await client.call_tool(name, args)
    if result.is_error:
        raise SystemExit(f"{name}: {result.content[0].text}")
    return result.structured_content


async def timed(client: Client, name: str, args: dict, n: int) -> tuple[float, float, dict]:
    times, got = [], {}
    for _ in range(n):
        t = time.perf_counter()
        got = await call(client, name, args)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.99) - 1)], got


def cond(field: str, op: str, value=None) -> dict:
    return {"field": field, "op": op, **({"value": value} if value is not None else {})}


async def scenario(settings: Settings, files: tuple[Path, Path], n: int, label: str) -> dict[str, str]:
    out: dict[str, str] = {}

    def report(key: str, value: str, line: str) -> None:
        out[key] = value
        print(f"  {label}: {line}", flush=True)

    async with Client(build_server(settings)) as client:
        for name, type_, extra in (("score", "number", {}), ("tier", "choice", {"choices": ["gold", "silver", "bronze"]}),
                                   ("note", "text", {})):
            await call(client, "manage_fields", {"action": "create", "name": name, "type": type_, **extra})
        t = time.perf_counter()
        ids = []
        for path, name in zip(files, ("A", "B")):
            job = await call(client, "import_file", {"path": str(path), "new_list_name": name})
            while job["status"] not in ("completed", "failed", "cancelled"):
                job = (await call(client, "get_jobs", {"job_id": job["id"], "wait_seconds": 60}))["jobs"][0]
            assert job["status"] == "completed", job
            ids.append(job["list_id"])
        s = time.perf_counter() - t
        report("build (2 imports)", f"{s:.1f} s", f"built {n:,} contacts in two overlapping lists in {s:.1f} s")
        if settings.db_url:
            analyze(settings.db_url)  # as autovacuum would a database in service
        else:
            wal = settings.db_path.with_name(settings.db_path.name + "-wal")
            print(f"  {label}: database {settings.db_path.stat().st_size / 1e6:,.0f} MB, its WAL "
                  f"{wal.stat().st_size / 1e6 if wal.exists() else 0:,.0f} MB", flush=True)

        lyon = cond("city", "eq", "lyon")
        p50, p99, got = await timed(client, "get_contacts", {"filter": lyon, "limit": 25}, 50)
        report("get_contacts city eq, first page p50/p99", f"{p50:.1f} / {p99:.1f} ms",
               f"get_contacts, city eq 'lyon', first page of 25: p50 {p50:.1f} ms, p99 {p99:.1f} ms (target < 50 ms)")
        p50, p99, got = await timed(client, "get_contacts", {"filter": lyon, "limit": 25, "with_total": True}, 20)
        report("get_contacts city eq + total p50", f"{p50:.1f} ms",
               f"get_contacts, city eq 'lyon' with its exact total ({got['total']:,}): p50 {p50:.1f} ms")
        for key, flt, runs, target in (
                ("city eq (indexed)", cond("city", "eq", "ORLEANS"), 20, "< 300 ms"),
                ("email_domain eq (full scan)", cond("email_domain", "eq", "domain7.com"), 5, "< 1.5 s"),
                ("city in 3 + reachable sms", {"all": [cond("city", "in", ["Paris", "Lyon", "Sète"]),
                                                       cond("reachable", "eq", "sms")]}, 20, "< 300 ms"),
                ("note contains (full scan)", cond("note", "contains", "jazz"), 5, "< 1.5 s"),
                ("score between (full scan)", cond("score", "between", [10, 19]), 5, "< 1.5 s"),
                ("first_name contains (full scan)", cond("first_name", "contains", "nom12"), 5, "< 1.5 s")):
            p50, p99, got = await timed(client, "get_stats", {"filter": flt}, runs)
            report(f"get_stats {key} p50", f"{p50:.0f} ms", f"get_stats of a filter, {key}: "
                   f"{got['stats']['subscribers']:,} contacts, p50 {p50:.0f} ms (target {target})")
        p50, p99, got = await timed(client, "get_stats", {"list_ids": ids}, 5)
        report("get_stats lists A+B (unique) p50", f"{p50:.0f} ms", f"get_stats of lists A and B: "
               f"{got['unique_subscribers']:,} unique of {got['total_subscribers']:,}, p50 {p50:.0f} ms (target < 300 ms)")
        seg = (await call(client, "manage_segments", {"action": "create", "name": "Gold in Paris", "filter": {
            "all": [cond("tier", "eq", "gold"), cond("city", "eq", "paris")]}}))["segment"]
        p50, p99, got = await timed(client, "get_stats", {"segment_ids": [seg["id"]]}, 20)
        report("get_stats dynamic segment p50", f"{p50:.0f} ms", f"get_stats of a dynamic segment "
               f"({got['stats']['subscribers']:,} contacts): p50 {p50:.0f} ms")
        args = {"action": "optout", "filter": cond("tier", "eq", "bronze"), "reason": "owner_blocked",
                "channels": ["sms"]}
        t = time.perf_counter()
        plan = await call(client, "apply_to_contacts", args)
        dry = time.perf_counter() - t
        t = time.perf_counter()
        done = await call(client, "apply_to_contacts", {**args, "plan_token": plan["plan_token"]})
        run = time.perf_counter() - t
        report("apply_to_contacts optout: dry run / run", f"{dry:.2f} / {run:.1f} s",
               f"apply_to_contacts optout of {plan['matching']:,} contacts (tier eq bronze): dry run {dry:.2f} s, "
               f"run {run:.1f} s ({done['changed']:,} changed)")
    return out


def write_files(tmp: Path, n: int) -> tuple[Path, Path]:
    """Lists A (the first 60%) and B (the last 60%)."""
    files = tmp / "a.csv", tmp / "b.csv"
    write_csv(files[0], 0, n * 6 // 10)
    write_csv(files[1], n * 4 // 10, n)
    return files


async def main(n: int, postgres: str | None) -> None:
    await on_both(lambda tmp: write_files(tmp, n), lambda settings, files, label: scenario(settings, files, n, label),
                  postgres, "filter_bench")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--postgres", metavar="URL", help="also run on a new database filter_bench on this "
                        "PostgreSQL server (postgresql://user@host:port) and print both side by side")
    args = parser.parse_args()
    anyio.run(main, args.contacts, args.postgres)
