"""Statistics on a big base, through the MCP tools in-process: prints figures, asserts nothing.

    .venv/bin/python bench/stats_bench.py [--contacts 1000000] [--postgres URL]

Builds a base of --contacts contacts in two lists of half each, 10% of them opted out of email and sms
(imported with import_file, the last tenth as a suppression import), merges the two lists into one
(merge_lists: target < 3 s on SQLite, < 5 s on PostgreSQL, for two 500,000-member lists), then prints:
- get_stats for that list through the tool: p50 / p99 over 200 calls (target < 5 ms p50), and the same
  for the whole base and for two lists together (their union is counted, not kept: slower);
- the naive way for comparison: one COUNT with joins over the members, in the database directly;
- optout_contact of 10,000 contacts by id in one call (target < 1 s), three times;
- field statistics (get_fields with_stats): a full scan.

--postgres URL (a server, postgresql://user@host:port, no database name): the same scenario on a new
database `stats_bench` there after the SQLite run; the figures of both are then printed side by side, and
the database's top statements by total time (pg_stat_statements, when the extension is installed).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).parent))
from import_bench import write_csv  # noqa: E402
from pg_watch import on_both  # noqa: E402

from contacts_mcp.core.settings import Settings  # noqa: E402
from contacts_mcp.server.app import build_server  # noqa: E402

NAIVE_SQLITE = ("SELECT COUNT(*), SUM(c.email_key IS NOT NULL AND c.optout_mask & 1 = 0), "
                "SUM(c.mobile IS NOT NULL AND c.optout_mask & 2 = 0) FROM list_members m "
                "JOIN contacts c ON c.id = m.contact_id WHERE m.list_id = ? AND c.deleted_at IS NULL")
NAIVE_POSTGRES = ("SELECT COUNT(*), COUNT(*) FILTER (WHERE c.email_key IS NOT NULL AND c.optout_mask & 1 = 0), "
                  "COUNT(*) FILTER (WHERE c.mobile IS NOT NULL AND c.optout_mask & 2 = 0) FROM list_members m "
                  "JOIN contacts c ON c.id = m.contact_id WHERE m.list_id = %s AND c.deleted_at IS NULL")


async def call(client: Client, name: str, args: dict) -> dict:
    result = await client.call_tool(name, args)
    if result.is_error:
        raise SystemExit(f"{name}: {result.content[0].text}")
    return result.structured_content


async def timed(client: Client, name: str, args: dict, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        await call(client, name, args)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def naive_count(settings: Settings, list_id: int) -> float:
    """ms of one COUNT with joins over the list's members, straight in the database."""
    if settings.db_url:
        import psycopg

        with psycopg.connect(settings.db_url) as conn:
            t = time.perf_counter()
            conn.execute(NAIVE_POSTGRES, (list_id,)).fetchall()
            return (time.perf_counter() - t) * 1000
    conn = sqlite3.connect(settings.db_path)
    try:
        t = time.perf_counter()
        conn.execute(NAIVE_SQLITE, (list_id,)).fetchall()
        return (time.perf_counter() - t) * 1000
    finally:
        conn.close()


async def scenario(settings: Settings, files: tuple[Path, Path, Path], n: int, label: str) -> dict[str, str]:
    """The whole scenario on one database; prints as it goes and returns the figures by row name."""
    half, plain, blocked = files
    out: dict[str, str] = {}

    def report(key: str, value: str, line: str) -> None:
        out[key] = value
        print(f"  {label}: {line}", flush=True)

    async with Client(build_server(settings)) as client:
        t = time.perf_counter()
        first = await call(client, "import_file", {"path": str(half), "new_list_name": "A"})
        second = await call(client, "import_file", {"path": str(plain), "new_list_name": "B"})
        third = await call(client, "import_file", {"path": str(blocked), "list_ids": [second["list_id"]],
                                                   "optout_channels": ["email", "sms"]})
        for j in (first, second, third):
            while j["status"] not in ("completed", "failed", "cancelled"):
                j = (await call(client, "get_jobs", {"job_id": j["id"], "wait_seconds": 60}))["jobs"][0]
            assert j["status"] == "completed", j
        s = time.perf_counter() - t
        report("build (3 imports)", f"{s:.1f} s", f"built a base of {n:,} contacts in two lists of {n // 2:,}, "
               f"10% opted out of email and sms, in {s:.1f} s")
        t = time.perf_counter()
        merged = await call(client, "merge_lists", {"list_ids": [first["list_id"], second["list_id"]],
                                                    "name": "Everyone"})
        s = time.perf_counter() - t
        report(f"merge_lists 2 x {n // 2:,}", f"{s:.2f} s", f"merge_lists of two {n // 2:,}-member lists into one: "
               f"{s:.2f} s (target < 3 s SQLite, < 5 s PostgreSQL)")
        list_id = merged["list"]["id"]
        other = (await call(client, "manage_lists", {"action": "create", "name": "Few"}))["list"]["id"]
        await call(client, "update_list_members", {"list_id": other, "action": "add",
                                                    "contact_ids": list(range(1, 3001))})
        st = (await call(client, "get_stats", {"list_ids": [list_id]}))["stats"]
        report("list: subscribers / reachable email / blacklisted",
               f"{st['subscribers']:,} / {st['reachable']['email']:,} / {st['blacklisted']:,}",
               f"list figures: subscribers {st['subscribers']:,}, reachable {st['reachable']}, "
               f"blacklisted {st['blacklisted']:,}")
        p50, p99 = await timed(client, "get_stats", {"list_ids": [list_id]}, 200)
        report(f"get_stats 1 list of {n:,} p50/p99", f"{p50:.2f} / {p99:.2f} ms",
               f"get_stats, one list of {n:,} members: p50 {p50:.2f} ms, p99 {p99:.2f} ms (target < 5 ms p50)")
        p50, p99 = await timed(client, "get_stats", {}, 200)
        report("get_stats whole base p50/p99", f"{p50:.2f} / {p99:.2f} ms",
               f"get_stats, whole base: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        p50, p99 = await timed(client, "get_stats", {"list_ids": [list_id, other]}, 5)
        report("get_stats 2 lists (union) p50", f"{p50:.0f} ms",
               f"get_stats, two lists (union counted at read time): p50 {p50:.0f} ms")
        ms = naive_count(settings, list_id)
        report("naive COUNT with joins", f"{ms:.0f} ms", f"naive COUNT with joins over the members, for "
               f"comparison: {ms:.0f} ms")
        for k in range(3):
            ids = list(range(1 + k * 10_000, 1 + (k + 1) * 10_000))
            t = time.perf_counter()
            got = await call(client, "optout_contact", {"contact_ids": ids, "channels": ["voice"],
                                                        "reason": "owner_blocked"})
            s = time.perf_counter() - t
            report(f"optout_contact 10,000 by id #{k + 1}", f"{s:.2f} s", f"optout_contact of 10,000 contacts "
                   f"by id: {s:.2f} s ({got['opted_out']:,} newly blocked; target < 1 s)")
        t = time.perf_counter()
        await call(client, "get_fields", {"with_stats": True})
        s = time.perf_counter() - t
        report("get_fields with_stats (full scan)", f"{s:.2f} s",
               f"field statistics over the whole base (a full scan): {s:.2f} s")
    return out


def write_files(tmp: Path, n: int) -> tuple[Path, Path, Path]:
    """Two lists' halves, and the last tenth again as a suppression file."""
    files = tmp / "half.csv", tmp / "plain.csv", tmp / "blocked.csv"
    write_csv(files[0], n // 2)
    write_csv(files[1], n - n // 10, start=n // 2)
    write_csv(files[2], n, start=n - n // 10)
    return files


async def main(n: int, postgres: str | None) -> None:
    await on_both(lambda tmp: write_files(tmp, n), lambda settings, files, label: scenario(settings, files, n, label),
                  postgres, "stats_bench")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--postgres", metavar="URL", help="also run the scenario on a new database stats_bench "
                        "on this PostgreSQL server (postgresql://user@host:port) and print both side by side")
    args = parser.parse_args()
    anyio.run(main, args.contacts, args.postgres)
