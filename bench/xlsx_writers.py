"""Three ways to stream contacts to an XLSX file, on the same rows: prints figures, asserts nothing.

    .venv/bin/python bench/xlsx_writers.py [--rows 100000] [--writers openpyxl,xlsxwriter,contacts_mcp]

Rows are an export's: a header, then 35 columns of contact data (emails, E.164 phones, accented names,
cities, dates as text, a few integers, a float, a boolean, about 30% empty), cycled from 5,000 generated
ones in batches of 5,000 (as storage hands them to an export). Each writer runs in a fresh child process,
which reports its wall and CPU time and its peak RSS growth over what it held before writing (the row
pool, the libraries). The file written by core/exports/xlsx.py is then read back with python-calamine
and compared with the rows, cell by cell.

openpyxl's write_only and xlsxwriter's constant_memory are the two streaming modes of the usual
libraries (xlsxwriter: `.venv/bin/pip install xlsxwriter`); xlsxwriter runs with strings_to_formulas and
strings_to_urls off, as an export must not turn a text into a formula or a link.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

POOL = 5_000
BATCH = 5_000
WRITERS = {"openpyxl": "openpyxl write_only", "xlsxwriter": "xlsxwriter constant_memory",
           "contacts_mcp": "contacts_mcp XlsxWriter"}
HEADER = ["email", "email_2", "mobile", "phone", "first_name", "last_name", "full_name", "company", "job_title",
          "address_1", "address_2", "city", "postal_code", "country", "timezone", "birth_date", "language",
          "tag_1", "tag_2", "score", "age", "vip", "linkedin", "notes", "lists", "segments", "optout_email",
          "optout_sms", "optout_voice", "status", "id", "source", "created_at", "updated_at", "balance"]
FIRST = ["Amélie", "José", "Zoë", "François", "Søren", "Łukasz", "Chloé", "Anaïs", "Björn", "Jean", "Marie",
         "Ahmed", "Yuki", "Noël", "Inès", "Đorđe"]
LAST = ["Dupont", "García", "Ødegaard", "Nguyễn", "O'Brien", "Kowalski", "Lefèvre", "Schröder", "Smith",
        "Černý", "da Silva", "Van der Berg"]
CITY = ["Paris", "Besançon", "São Paulo", "Zürich", "Kraków", "Montréal", "Lyon", "München", "Genève",
        "Reykjavík", "New York", "Île-de-France"]
COMPANY = ["Acme & Co", "Café Crème SARL", "Globex", "Initech", "Société Générale", "Hooli", "Stark Industries",
           "Procter & Gamble"]
TAGS = ["vip", "newsletter", "prospect", "client", "partner"]


def contact(rnd: random.Random, i: int) -> list:
    def some(value: object) -> object:
        return None if rnd.random() < 0.35 else value

    first, last = rnd.choice(FIRST), rnd.choice(LAST)
    day = f"{rnd.randrange(1, 13):02d}-{rnd.randrange(1, 29):02d}"
    return [
        f"{first.lower()}.{last.lower().replace(' ', '')}{i}@example.com", some(f"alt{i}@mail.example.org"),
        f"+336{rnd.randrange(10**7, 10**8)}", some(f"+1{rnd.randrange(2 * 10**9, 10**10)}"), first, last,
        some(f"{first} {last}"), some(rnd.choice(COMPANY)), some("Directeur général"),
        some(f"{rnd.randrange(1, 200)} rue de la Paix"), some("Bâtiment B"), rnd.choice(CITY),
        some(f"{rnd.randrange(10000, 99999)}"), rnd.choice(["FR", "ES", "BR", "CH", "PL", "CA", "DE", "US"]),
        some("Europe/Paris"), some(f"19{rnd.randrange(50, 99)}-{day}"), some("fr"), some(rnd.choice(TAGS)),
        some(rnd.choice(TAGS)), some(rnd.randrange(0, 1000)), some(rnd.randrange(18, 90)), some(rnd.random() < 0.5),
        some(f"https://www.linkedin.com/in/{first.lower()}-{i}"), some("Rencontré au salon, rappeler en mai"),
        some("Newsletter, Clients 2024"), some("VIP"), some("unsubscribed by link"), None, None,
        rnd.choice(["active", "bounced", "unsubscribed"]), i + 1, rnd.choice(["import", "api", "form"]),
        f"2025-{day}T10:15:00Z", f"2026-{day}T08:30:00Z", some(round(rnd.random() * 1000, 2)),
    ]


def pool() -> list[list]:
    rnd = random.Random(7)
    return [contact(rnd, i) for i in range(POOL)]


def batches(rows: list[list], n: int) -> Iterator[list[list]]:
    yield [HEADER]
    for start in range(0, n, BATCH):
        yield [rows[i % POOL] for i in range(start, min(n, start + BATCH))]


def write_openpyxl(path: Path, rows: list[list], n: int) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("contacts")
    for batch in batches(rows, n):
        for row in batch:
            sheet.append(row)
    book.save(path)


def write_xlsxwriter(path: Path, rows: list[list], n: int) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_urls": False})
    sheet = book.add_worksheet("contacts")
    line = 0
    for batch in batches(rows, n):
        for row in batch:
            sheet.write_row(line, 0, row)
            line += 1
    book.close()


def write_contacts_mcp(path: Path, rows: list[list], n: int) -> None:
    from contacts_mcp.core.exports.xlsx import XlsxWriter

    with path.open("wb") as file:
        out = XlsxWriter(file, sheet_name="contacts")
        for batch in batches(rows, n):
            out.write_rows(batch)
        out.close()


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(writer: str, path: Path, n: int) -> None:
    """Runs in the child: one writer, its figures as a JSON line."""
    write = globals()[f"write_{writer}"]
    __import__({"openpyxl": "openpyxl", "xlsxwriter": "xlsxwriter",
                "contacts_mcp": "contacts_mcp.core.exports.xlsx"}[writer])
    rows = pool()
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS (VmHWM) starts again from here
    before = status_kb("VmRSS")
    cpu, wall = time.process_time(), time.perf_counter()
    write(path, rows, n)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"seconds": wall, "cpu": cpu, "growth_kb": status_kb("VmHWM") - before}))


def differences(path: Path, n: int) -> list[str]:
    """Where the file read by python-calamine differs from the rows written (the first few)."""
    from python_calamine import CalamineWorkbook

    def seen(value: object) -> tuple[type, object]:  # as calamine reads it: numbers as floats, None as ""
        if value is None:
            return str, ""
        if isinstance(value, int) and not isinstance(value, bool):
            return float, float(value)
        return type(value), value

    expected = (row for batch in batches(pool(), n) for row in batch)
    found = []
    with path.open("rb") as file:
        sheet = CalamineWorkbook.from_filelike(file).get_sheet_by_index(0)
        for line, (want, got) in enumerate(zip(expected, sheet.iter_rows(), strict=True), 1):
            for column, (w, g) in enumerate(zip(want, got, strict=True), 1):
                if seen(w) != (type(g), g):
                    found.append(f"row {line} column {column}: wrote {w!r}, read {g!r}")
            if len(found) >= 5:
                break
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--writers", default=",".join(WRITERS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.path, args.rows)
    with tempfile.TemporaryDirectory() as folder:
        for writer in args.writers.split(","):
            path = Path(folder) / f"{writer}.xlsx"
            out = subprocess.run([sys.executable, __file__, "--child", writer, "--path", str(path),
                                  "--rows", str(args.rows)], check=True, capture_output=True, text=True)
            got = json.loads(out.stdout)
            print(f"xlsx {WRITERS[writer]}: {args.rows:,} rows in {got['seconds']:.1f} s = "
                  f"{args.rows / got['seconds']:,.0f} rows/s (CPU {got['cpu']:.1f} s), "
                  f"{path.stat().st_size / 1e6:.1f} MB, peak RSS +{got['growth_kb'] / 1024:.0f} MB", flush=True)
            if writer == "contacts_mcp":
                wrong = differences(path, args.rows)
                print("  read back with python-calamine: " + ("every cell equal" if not wrong else "; ".join(wrong)))


if __name__ == "__main__":
    main()
