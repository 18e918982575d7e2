"""Import throughput through the import_file tool: prints figures, asserts nothing.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--xlsx-rows 200000] [--files real,ideal]
                                           [--ways stdio,in-process] [--postgres URL]

Generates (seeded, bench/import_data.py) a realistic CRM export of --rows lines (mobiles in five formats,
invalid emails and mobiles, repeats in another case, quoted cells with commas and line breaks, accents, four
unknown columns) and an ideal file (one phone format, all valid, no repeat, no quoting), and imports each:

  * stdio: a new `contacts-mcp serve` process, as a desktop client starts it, through a real MCP client;
  * in-process: the server in this process, through the same client API (no pipe in between).

For each it prints rows/s from the call to the job's end, the job's counts, and peak RSS: the server's, its
reader child's (sampled every 50 ms) and their sum. In the same run it times the floor: a bare csv.reader of
the realistic file and executemany into a table with a unique email index, and prints each rate's ratio to it.
Then a --xlsx-rows XLSX of the realistic rows (written by openpyxl in a child, with shared strings as
spreadsheet apps write them). --postgres URL also imports the realistic file into a new database there.
Targets: realistic over stdio >= 100,000 rows/s and >= 45% of the floor; ideal >= 120,000 rows/s; 200k-row
XLSX >= 60,000 rows/s; peak RSS (server + reader) < 250 MB.
"""

from __future__ import annotations

import argparse
import csv
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

sys.path.insert(0, str(Path(__file__).parent))
from import_data import REAL_HEADER, write_ideal, write_real, write_xlsx  # noqa: E402
from pg_watch import fresh_database, top_statements  # noqa: E402

from contacts_mcp.core.settings import Settings  # noqa: E402
from contacts_mcp.server.app import build_server  # noqa: E402
from contacts_mcp.storage.sqlite.store import _configure  # noqa: E402

COMMAND = str(Path(sys.executable).with_name("contacts-mcp"))
FINISHED = ("completed", "failed", "cancelled")


class Peaks:
    """Peak RSS of a process and of its descendants, sampled in a thread (VmHWM of each, and the sum of VmRSS)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.server, self.reader, self.total = pid, 0.0, 0.0, 0.0
        self._stop = threading.Event()
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM: this run's peak only
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.sample()
            except OSError:
                pass

    def sample(self) -> None:
        hwm, rss = _status(self.pid)
        self.server = max(self.server, hwm)
        now = rss
        for child in _children(self.pid):
            try:
                c_hwm, c_rss = _status(child)
            except OSError:
                continue
            self.reader = max(self.reader, c_hwm)
            now += c_rss
        self.total = max(self.total, now, self.server)

    def stop(self) -> str:
        self._stop.set()
        self._thread.join()
        return (f"peak RSS: server {self.server:.0f} MB, reader {self.reader:.0f} MB, "
                f"together {self.total:.0f} MB (sampled; at most {self.server + self.reader:.0f} MB)")


def _status(pid: int) -> tuple[float, float]:
    hwm = rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
        elif line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return hwm, rss


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


async def _import(client: Client, path: Path) -> dict:
    result = await client.call_tool("import_file", {"path": str(path)})
    if result.is_error:
        raise SystemExit(result.content[0].text)
    job = result.structured_content
    while job["status"] not in FINISHED:
        got = await client.call_tool("get_jobs", {"job_id": job["id"], "wait_seconds": 60})
        job = got.structured_content["jobs"][0]
    assert job["status"] == "completed", job
    return job


def _server_pid() -> int:
    for pid in _children(os.getpid()):
        if b"contacts-mcp" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise RuntimeError("the server process was not found")


async def run_import(tmp: Path, path: Path, label: str, way: str, n: int, db_url: str | None = None) -> float:
    db = tmp / f"{label.replace(' ', '_')}_{way}.db"
    if way == "stdio":
        env = dict(os.environ, CONTACTS_MCP_DB=db_url or str(db), CONTACTS_MCP_IMPORT_ROOTS=str(tmp),
                   CONTACTS_MCP_MAX_FILE_MB="4096", CONTACTS_MCP_FILES_DIR=str(tmp / "files"))
        server: StdioServerParameters | object = StdioServerParameters(command=COMMAND, args=["serve"], env=env)
    else:
        server = build_server(Settings(db_path=db, db_url=db_url, files_dir=tmp / "files", import_roots=(tmp,),
                                       max_file_bytes=1 << 32))
    async with Client(server, read_timeout_seconds=120) as client:
        peaks = Peaks(_server_pid() if way == "stdio" else os.getpid())
        start = time.perf_counter()
        job = await _import(client, path)
        elapsed = time.perf_counter() - start
        memory = peaks.stop()
    rate = n / elapsed
    print(f"{label} import ({way}): {n:,} rows in {elapsed:.1f} s = {rate:,.0f} rows/s (created {job['created']:,}, "
          f"invalid {job['invalid']:,}, duplicates {job['duplicates']:,}); {memory}", flush=True)
    return rate


def floor(path: Path, tmp: Path) -> float:
    """rows/s of a bare csv.reader of the file and executemany into a table with a unique email index."""
    db = tmp / "floor.db"
    conn = sqlite3.connect(db, isolation_level=None)
    _configure(conn, True)
    cols = [f"c{i}" for i in range(len(REAL_HEADER))]
    conn.execute(f"CREATE TABLE rows (id INTEGER PRIMARY KEY, {', '.join(cols)})")
    conn.execute("CREATE UNIQUE INDEX rows_email ON rows (c3)")
    sql = f"INSERT OR IGNORE INTO rows ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    start = time.perf_counter()
    n = 0
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        conn.execute("BEGIN")
        batch = []
        for row in reader:
            batch.append(row)
            if len(batch) == 5000:
                conn.executemany(sql, batch)
                n += len(batch)
                batch = []
        conn.executemany(sql, batch)
        n += len(batch)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    db.unlink()
    return n / elapsed


async def main(args: argparse.Namespace) -> None:
    files, ways = args.files.split(","), args.ways.split(",")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        paths = {"realistic": tmp / "crm_export.csv", "ideal": tmp / "contacts.csv"}
        rates: dict[str, float] = {}
        for kind in files:
            kind = {"real": "realistic"}.get(kind, kind)
            t = time.perf_counter()
            (write_real if kind == "realistic" else write_ideal)(paths[kind], args.rows)
            print(f"generated the {kind} {args.rows:,}-row CSV ({paths[kind].stat().st_size / 2**20:.0f} MB) "
                  f"in {time.perf_counter() - t:.1f} s", flush=True)
            for way in ways:
                rates[f"{kind} ({way})"] = await run_import(tmp, paths[kind], kind, way, args.rows)
        if args.postgres and paths["realistic"].exists():
            url = fresh_database(args.postgres, f"import_bench_{os.getpid()}")
            rates["realistic on PostgreSQL (stdio)"] = await run_import(
                tmp, paths["realistic"], "realistic on PostgreSQL", "stdio", args.rows, url)
            top_statements(args.postgres, url.rsplit("/", 1)[1])
        if paths["realistic"].exists():
            base = floor(paths["realistic"], tmp)
            print(f"floor: csv.reader + executemany of the realistic file into a table with a unique email index: "
                  f"{base:,.0f} rows/s", flush=True)
            for label, rate in rates.items():
                print(f"  {label}: {rate:,.0f} rows/s = {rate / base:.2f} of the floor")
        for path in paths.values():
            path.unlink(missing_ok=True)
        if args.xlsx_rows:
            xlsx = tmp / "crm_export.xlsx"
            t = time.perf_counter()
            # In a child process: openpyxl's memory must not count in this process's peak RSS.
            subprocess.run([sys.executable, __file__, "--write-xlsx", str(xlsx), str(args.xlsx_rows)], check=True)
            print(f"generated the realistic {args.xlsx_rows:,}-row XLSX ({xlsx.stat().st_size / 2**20:.0f} MB) in "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
            for way in ways:
                await run_import(tmp, xlsx, "xlsx", way, args.xlsx_rows)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write-xlsx"]:
        write_xlsx(Path(sys.argv[2]), int(sys.argv[3]), realistic=True)
        sys.exit()
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--files", default="realistic,ideal", help="which CSV files: realistic, ideal or both")
    parser.add_argument("--ways", default="stdio,in-process", help="stdio (a server process), in-process, or both")
    parser.add_argument("--postgres", metavar="URL", help="also import the realistic file into a new database on "
                        "this PostgreSQL server (postgresql://user@host:port)")
    anyio.run(main, parser.parse_args())
