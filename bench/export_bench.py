"""Exports of a big base through a real server over stdio: prints figures, asserts nothing.

    .venv/bin/python bench/export_bench.py [--contacts 1000000] [--formats csv,xlsx,jsonl] [--postgres URL]
                                           [--columns email,mobile,…]

Builds a base of --contacts contacts in-process (filter_bench's data: built-in fields, three custom fields,
two overlapping lists A and B), opts 5% out by email with a reason and puts a third in a static segment.
Then, for each format, starts a new server process (`contacts-mcp` over stdio, as a desktop client does),
exports every contact with the default columns (every field, custom fields, lists, segments, opt-out per
channel, status, id, source, dates) and prints rows/s from the call to the job's end, the file's size and
the server process's peak RSS (VmHWM). Targets: CSV >= 250,000 rows/s, XLSX >= 30,000 rows/s, RSS < 250 MB.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import os
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

sys.path.insert(0, str(Path(__file__).parent))
from filter_bench import call, write_files  # noqa: E402
from pg_watch import fresh_database  # noqa: E402

from contacts_mcp.core.settings import Settings  # noqa: E402
from contacts_mcp.server.app import build_server  # noqa: E402

COMMAND = str(Path(sys.executable).with_name("contacts-mcp"))
FINISHED = ("completed", "failed", "cancelled")


async def until_done(client: Client, job: dict) -> dict:
    while job["status"] not in FINISHED:
        job = (await call(client, "get_jobs", {"job_id": job["id"], "wait_seconds": 60}))["jobs"][0]
    assert job["status"] == "completed", job
    return job


async def two_step(client: Client, args: dict) -> None:
    plan = await call(client, "apply_to_contacts", args)
    await call(client, "apply_to_contacts", {**args, "plan_token": plan["plan_token"]})


async def build(settings: Settings, files: tuple[Path, Path]) -> None:
    t = time.perf_counter()
    async with Client(build_server(settings)) as client:
        for name, type_, extra in (("score", "number", {}), ("tier", "choice", {"choices": ["gold", "silver", "bronze"]}),
                                   ("note", "text", {})):
            await call(client, "manage_fields", {"action": "create", "name": name, "type": type_, **extra})
        for path, name in zip(files, ("A", "B")):
            await until_done(client, await call(client, "import_file", {"path": str(path), "new_list_name": name}))
        await two_step(client, {"action": "optout", "reason": "hardbounce", "channels": ["email"],
                                "filter": {"field": "score", "op": "lt", "value": 5}})
        segment = (await call(client, "manage_segments", {"action": "create", "name": "Gold"}))["segment"]["id"]
        await two_step(client, {"action": "attach_to_segment", "segment_id": segment,
                                "filter": {"field": "tier", "op": "eq", "value": "gold"}})
    print(f"built in {time.perf_counter() - t:.0f} s", flush=True)


def _server_pid() -> int:
    """The stdio server this process started (its child running contacts-mcp)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"contacts-mcp" in cmd:
                return int(entry.name)
    raise RuntimeError("the server process was not found")


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def export(db: str, fmt: str, n: int, columns: list[str] | None) -> None:
    env = dict(os.environ, CONTACTS_MCP_DB=db)
    async with Client(StdioServerParameters(command=COMMAND, args=["serve"], env=env), read_timeout_seconds=120) as client:
        pid = _server_pid()
        start_mb = _peak_mb(pid)
        t = time.perf_counter()
        job = await until_done(client, await call(client, "export_contacts", {"format": fmt, "columns": columns}))
        s = time.perf_counter() - t
        peak = _peak_mb(pid)
    print(f"{fmt} export: {job['rows']:,} rows x {len(job['columns'])} columns in {s:.1f} s = {job['rows'] / s:,.0f} "
          f"rows/s, {job['bytes'] / 1e6:.0f} MB; server peak RSS {peak:.0f} MB (at start {start_mb:.0f} MB)",
          flush=True)
    Path(job["file"]).unlink()


async def main(n: int, formats: list[str], postgres: str | None, columns: list[str] | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = write_files(Path(tmp), n)
        db = fresh_database(postgres, "export_bench") if postgres else str(Path(tmp) / "bench.db")
        settings = (Settings(db_path=Path(tmp) / "unused.db", db_url=db, files_dir=Path(tmp) / "files")
                    if postgres else Settings(db_path=Path(db)))
        settings = replace(settings, import_roots=(Path(tmp),), max_file_bytes=2**31)
        await build(settings, files)
        for fmt in formats:
            await export(db, fmt, n, columns)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,xlsx,jsonl")
    parser.add_argument("--postgres", metavar="URL", help="run on a new database export_bench on this PostgreSQL "
                        "server (postgresql://user@host:port) instead of a SQLite file")
    parser.add_argument("--columns", help="comma-separated columns (default: every column)")
    args = parser.parse_args()
    anyio.run(main, args.contacts, args.formats.split(","), args.postgres, args.columns.split(",") if args.columns else None)
