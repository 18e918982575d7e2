"""Statistics on a big base, through the MCP tools in-process: prints figures, asserts nothing.

    .venv/bin/python bench/stats_bench.py [--contacts 1000000]

Builds a base of --contacts contacts in two lists of half each, 10% of them opted out of email and sms
(imported with import_file, the last tenth as a suppression import), merges the two lists into one
(merge_lists: target < 3 s for two 500,000-member lists), then prints:
- get_stats for that list through the tool: p50 / p99 over 200 calls (target < 5 ms p50), and the same
  for the whole base and for two lists together (their union is counted, not kept: slower);
- the naive way for comparison: one COUNT with joins over the members, in SQLite directly;
- optout_contact of 10,000 contacts by id in one call (target < 1 s), three times;
- field statistics (get_fields with_stats): a full scan.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).parent))
from import_bench import write_csv  # noqa: E402

from contacts_mcp.core.settings import Settings  # noqa: E402
from contacts_mcp.server.app import build_server  # noqa: E402


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


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        half, plain, blocked = tmp / "half.csv", tmp / "plain.csv", tmp / "blocked.csv"
        write_csv(half, n // 2)
        write_csv(plain, n - n // 10, start=n // 2)
        write_csv(blocked, n, start=n - n // 10)
        settings = Settings(db_path=tmp / "stats.db", import_roots=(tmp,), max_file_bytes=1 << 30)
        async with Client(build_server(settings)) as client:
            t = time.perf_counter()
            first = await call(client, "import_file", {"path": str(half), "new_list_name": "A"})
            second = await call(client, "import_file", {"path": str(plain), "new_list_name": "B"})
            third = await call(client, "import_file", {"path": str(blocked), "list_ids": [second["list_id"]],
                                                       "optout_channels": ["email", "sms"]})
            for j in (first, second, third):
                while j["status"] not in ("completed", "failed", "cancelled"):
                    j = (await call(client, "get_import_jobs", {"job_id": j["id"], "wait_seconds": 60}))["jobs"][0]
                assert j["status"] == "completed", j
            print(f"built a base of {n:,} contacts in two lists of {n // 2:,}, 10% opted out of email and sms, in "
                  f"{time.perf_counter() - t:.1f} s")
            t = time.perf_counter()
            merged = await call(client, "merge_lists", {"list_ids": [first["list_id"], second["list_id"]],
                                                        "name": "Everyone"})
            print(f"merge_lists of two {n // 2:,}-member lists into one: {time.perf_counter() - t:.2f} s "
                  f"(target < 3 s)")
            list_id = merged["list"]["id"]
            other = (await call(client, "manage_lists", {"action": "create", "name": "Few"}))["list"]["id"]
            await call(client, "update_list_members", {"list_id": other, "action": "add",
                                                        "contact_ids": list(range(1, 3001))})
            stats = await call(client, "get_stats", {"list_ids": [list_id]})
            print(f"list figures: subscribers {stats['stats']['subscribers']:,}, reachable "
                  f"{stats['stats']['reachable']}, blacklisted {stats['stats']['blacklisted']:,}")
            p50, p99 = await timed(client, "get_stats", {"list_ids": [list_id]}, 200)
            print(f"get_stats, one list of {n:,} members: p50 {p50:.2f} ms, p99 {p99:.2f} ms (target < 5 ms p50)")
            p50, p99 = await timed(client, "get_stats", {}, 200)
            print(f"get_stats, whole base: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
            p50, p99 = await timed(client, "get_stats", {"list_ids": [list_id, other]}, 5)
            print(f"get_stats, two lists (union counted at read time): p50 {p50:.0f} ms")

            conn = sqlite3.connect(settings.db_path)
            t = time.perf_counter()
            conn.execute(
                "SELECT COUNT(*), SUM(c.email_key IS NOT NULL AND c.optout_mask & 1 = 0), "
                "SUM(c.mobile IS NOT NULL AND c.optout_mask & 2 = 0) FROM list_members m "
                "JOIN contacts c ON c.id = m.contact_id WHERE m.list_id = ? AND c.deleted_at IS NULL",
                (list_id,)).fetchall()
            print(f"naive COUNT with joins over the members, for comparison: {(time.perf_counter() - t) * 1000:.0f} ms")
            conn.close()

            for k in range(3):
                ids = list(range(1 + k * 10_000, 1 + (k + 1) * 10_000))
                t = time.perf_counter()
                got = await call(client, "optout_contact", {"contact_ids": ids, "channels": ["voice"],
                                                            "reason": "owner_blocked"})
                print(f"optout_contact of 10,000 contacts by id: {time.perf_counter() - t:.2f} s "
                      f"({got['opted_out']:,} newly blocked; target < 1 s)")
            t = time.perf_counter()
            await call(client, "get_fields", {"with_stats": True})
            print(f"field statistics over the whole base (a full scan): {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    anyio.run(main, parser.parse_args().contacts)
