"""Import throughput through the MCP tool, in-process: prints figures, asserts nothing.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--xlsx-rows 200000] [--postgres URL]

Generates a CSV of --rows lines and 16 columns (unique emails and mobiles) and an XLSX of --xlsx-rows
lines, imports each with import_file (path source) and waits for the job; prints rows/s, the peak RSS
of this process (the server runs in it; the XLSX is written by a child process so openpyxl does not
count) and of the largest child so far (the import's reading process). In the same run, as the physical baseline, it times a bare sqlite3.executemany
of the same rows (pre-normalised, no validation) into the same contacts table, and prints the ratio.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client

from contacts_mcp.core.settings import Settings
from contacts_mcp.server.app import build_server
from contacts_mcp.storage.sqlite.store import _configure

sys.path.insert(0, str(Path(__file__).parent))
from pg_watch import fresh_database, top_statements  # noqa: E402

HEADER = ["civility", "first_name", "last_name", "email", "fixed_phone", "mobile", "fax", "address_1",
          "address_2", "postal_code", "city", "state", "country", "birth_date", "company", "reference"]


def row(i: int) -> list[str]:
    return ["M", f"First{i}", f"Last{i}", f"user{i}@example{i % 100}.com", "", f"06{i:08d}", "",
            f"{i} rue de la Paix", "", "75001", "Paris", "", "France", "1980-01-01", f"Acme {i % 50}", f"R{i}"]


def write_csv(path: Path, stop: int, start: int = 0) -> None:
    """Rows start..stop-1 of the generated data, with the header."""
    with path.open("w") as out:
        out.write(",".join(HEADER) + "\n")
        for i in range(start, stop):
            out.write(",".join(row(i)) + "\n")


def write_xlsx(path: Path, n: int) -> None:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(HEADER)
    for i in range(n):
        ws.append(row(i))
    wb.save(path)


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def baseline(n: int, tmp: Path) -> float:
    """rows/s of a bare executemany of already-normalised rows into the same schema."""
    conn = sqlite3.connect(tmp / "baseline.db", isolation_level=None)
    _configure(conn, True)
    cols = ["id", "account_id", *HEADER, "email_key", "source", "created_at", "updated_at"]
    start = time.perf_counter()
    conn.execute("BEGIN")
    sql = f"INSERT INTO contacts ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    batch = []
    for i in range(n):
        r = row(i)
        r[5] = f"+336{i:08d}"
        batch.append((i + 1, 1, *[v or None for v in r], r[3].lower(), "bench", "t", "t"))
        if len(batch) == 5000:
            conn.executemany(sql, batch)
            batch = []
    if batch:
        conn.executemany(sql, batch)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed


async def run_import(tmp: Path, path: Path, label: str, n: int, db_url: str | None = None) -> float:
    # The 1M-row file is ~120 MB: far above the default 20 MB limit, which is a setting.
    settings = Settings(db_path=tmp / f"{label}.db", db_url=db_url, files_dir=tmp / "files", import_roots=(tmp,),
                        max_file_bytes=1 << 30)
    async with Client(build_server(settings)) as client:
        start = time.perf_counter()
        result = await client.call_tool("import_file", {"path": str(path)})
        if result.is_error:
            raise SystemExit(result.content[0].text)
        job = result.structured_content
        while job["status"] not in ("completed", "failed", "cancelled"):
            got = await client.call_tool("get_jobs", {"job_id": job["id"], "wait_seconds": 60})
            job = got.structured_content["jobs"][0]
        elapsed = time.perf_counter() - start
    assert job["status"] == "completed" and job["created"] == n, job
    rate = n / elapsed
    print(f"{label}: {n:,} rows in {elapsed:.1f} s = {rate:,.0f} rows/s (created {job['created']:,}, "
          f"invalid {job['invalid']}); peak RSS so far: server {peak_rss_mb():.0f} MB, "
          f"largest child (the reader) {peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB")
    return rate


async def main(rows: int, xlsx_rows: int, postgres: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        csv_path, xlsx_path = tmp / "contacts.csv", tmp / "contacts.xlsx"
        t = time.perf_counter()
        write_csv(csv_path, rows)
        print(f"generated {rows:,}-row CSV ({csv_path.stat().st_size / 2**20:.0f} MB) in {time.perf_counter() - t:.1f} s")
        csv_rate = await run_import(tmp, csv_path, "csv import", rows)
        if postgres:
            name = f"import_bench_{os.getpid()}"
            pg_rate = await run_import(tmp, csv_path, "csv import on PostgreSQL", rows,
                                       fresh_database(postgres, name))
            print(f"PostgreSQL / SQLite = {pg_rate / csv_rate:.2f} (target >= 0.80)")
            top_statements(postgres, name)
        base = baseline(rows, tmp)
        print(f"baseline: bare sqlite3.executemany of the same rows: {base:,.0f} rows/s; "
              f"import / baseline = {csv_rate / base:.2f}")
        csv_path.unlink()
        if xlsx_rows:
            t = time.perf_counter()
            # In a child process: openpyxl's memory must not count in this process's peak RSS.
            subprocess.run([sys.executable, __file__, "--write-xlsx", str(xlsx_path), str(xlsx_rows)], check=True)
            print(f"generated {xlsx_rows:,}-row XLSX ({xlsx_path.stat().st_size / 2**20:.0f} MB) in "
                  f"{time.perf_counter() - t:.1f} s")
            await run_import(tmp, xlsx_path, "xlsx import", xlsx_rows)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write-xlsx"]:
        write_xlsx(Path(sys.argv[2]), int(sys.argv[3]))
        sys.exit()
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--postgres", metavar="URL", help="also import the CSV into a new database on this "
                        "PostgreSQL server (postgresql://user@host:port), and print the two rates side by side")
    args = parser.parse_args()
    anyio.run(main, args.rows, args.xlsx_rows, args.postgres)
