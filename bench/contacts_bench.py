"""Contact paths through the MCP tools, in-process (no transport): prints figures, asserts nothing.

    .venv/bin/python bench/contacts_bench.py [--base 30000]

create_contact calls/s (one client, sequential), upsert_contacts of 3,000 new then 3,000 existing
contacts, and get_contacts page latency (list filter, search) on a base of --base contacts.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client

from contacts_mcp.core.settings import Settings
from contacts_mcp.server.app import build_server


async def call(client: Client, name: str, args: dict) -> dict:
    result = await client.call_tool(name, args)
    if result.is_error:
        raise RuntimeError(result.content[0].text)
    return result.structured_content


def p50_ms(samples: list[float]) -> str:
    return f"p50 {statistics.median(samples) * 1000:.1f} ms, p99 {sorted(samples)[int(len(samples) * .99) - 1] * 1000:.1f} ms"


async def main(base: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db_path=Path(tmp) / "bench.db")
        async with Client(build_server(settings)) as client:
            n = 2000
            start = time.perf_counter()
            for i in range(n):
                await call(client, "create_contact", {"contact": {"email": f"single{i}@example.com",
                                                                  "mobile": f"+3361{i:07d}", "first_name": "A"}})
            elapsed = time.perf_counter() - start
            print(f"create_contact: {n / elapsed:,.0f} calls/s ({n} sequential calls, in-process)")

            lst = (await call(client, "manage_lists", {"action": "create", "name": "bench"}))["list"]["id"]
            batch = [{"email": f"bulk{i}@example.com", "mobile": f"+3362{i:07d}", "last_name": "B",
                      "list_ids": [lst]} for i in range(3000)]
            start = time.perf_counter()
            await call(client, "upsert_contacts", {"contacts": batch})
            created_s = time.perf_counter() - start
            for item in batch:
                item["city"] = "Paris"
            start = time.perf_counter()
            await call(client, "upsert_contacts", {"contacts": batch})
            updated_s = time.perf_counter() - start
            print(f"upsert_contacts 3,000 new: {created_s:.2f} s ({3000 / created_s:,.0f} contacts/s); "
                  f"3,000 updates: {updated_s:.2f} s ({3000 / updated_s:,.0f} contacts/s)")

            done = 5000
            while done < base:
                size = min(3000, base - done)
                await call(client, "upsert_contacts", {"contacts": [
                    {"email": f"fill{done + i}@example.com", "first_name": f"N{done + i}"} for i in range(size)]})
                done += size
            for label, args in (("first page of all", {"limit": 100}),
                                ("list filter", {"list_id": lst, "limit": 100}),
                                ("search", {"search": "fill123", "limit": 25}),
                                ("lookup 50 emails", {"emails": [f"fill{i}@example.com" for i in range(50)]})):
                samples = []
                for _ in range(30):
                    start = time.perf_counter()
                    await call(client, "get_contacts", args)
                    samples.append(time.perf_counter() - start)
                print(f"get_contacts {label} on {done:,} contacts: {p50_ms(samples)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=int, default=30000)
    anyio.run(main, parser.parse_args().base)
