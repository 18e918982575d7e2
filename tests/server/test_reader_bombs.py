"""Spreadsheet bombs go through a real server process: each fails only its own job, with a message saying
why, the server keeps answering, and restarts neither resume nor re-run them."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import anyio

from ..conftest import call
from .test_crash_resume import TOKENS, children, gone
from .test_crash_resume import start as start_server
from .test_http import connect, free_port

_TYPES = """<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_BOOK = """<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
_BOOK_RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def write_xlsx(path: Path, rows_xml: str, *, dimension: str | None, strings: list[str],
               counted: bool = True) -> Path:
    """An XLSX written by hand, so the attack files can lie (or stay silent) about their size."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    refs = rows_xml.count('t="s"')
    counts = f' count="{refs}" uniqueCount="{len(strings)}"' if counted else ""
    sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", _BOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _BOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", f"<worksheet {_NS}>{dim}<sheetData>{rows_xml}</sheetData></worksheet>")
        z.writestr("xl/sharedStrings.xml", f"<sst {_NS}{counts}>{sst}</sst>")
    return path


def corner_bomb(path: Path, *, declared: bool) -> Path:
    # Two cells, at A1 and XFD1048576: a dense grid of 2^34 cells once loaded (512 GiB).
    rows = ('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
            '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    return write_xlsx(path, rows, dimension="A1:XFD1048576" if declared else None, strings=["email"])


def shared_string_bomb(path: Path, *, declared: bool) -> Path:
    # One 100 KB string referenced by 40,000 cells: 4 GB of copies once loaded, from a ~200 KB file.
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>' for r in range(1, 40_001))
    return write_xlsx(path, rows, dimension="A1:A40000" if declared else None, strings=["x" * 100_000],
                      counted=declared)


def start(db: Path, roots: Path, port: int, **env: str) -> subprocess.Popen:
    return start_server(db, roots, port, CONTACTS_MCP_READER_MEMORY_MB="600", **env)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(10)


async def jobs_of(port: int) -> dict[str, dict]:
    async with connect(port, TOKENS[port]) as client:
        return {j["id"]: j for j in (await call(client, "get_jobs", {"limit": 50}))["jobs"]}


async def test_spreadsheet_bombs_fail_their_own_jobs_and_the_server_keeps_answering_across_restarts(tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    bombs = {
        corner_bomb(files / "corners-declared.xlsx", declared=True): "rows x",
        corner_bomb(files / "corners-silent.xlsx", declared=False): "needs more than 600 MB to read",
        shared_string_bomb(files / "strings-declared.xlsx", declared=True): "needs more than 600 MB to read",
        shared_string_bomb(files / "strings-silent.xlsx", declared=False): "needs more than 600 MB to read",
    }
    (files / "fine.csv").write_text("email\nfine@example.com\n")
    db, port = tmp_path / "bombs.db", free_port()
    proc = start(db, files, port)
    try:
        async with connect(port, TOKENS[port]) as client:
            ids = {p: (await call(client, "import_file", {"path": str(p)}))["id"] for p in bombs}
            for path, why in bombs.items():
                job = (await call(client, "get_jobs", {"job_id": ids[path], "wait_seconds": 60}))["jobs"][0]
                assert job["status"] == "failed", (path.name, job)
                assert why in job["error"], (path.name, job["error"])
            # Still serving, and still importing.
            job = await call(client, "import_file", {"path": str(files / "fine.csv"), "wait_seconds": 30})
            assert (job["status"], job["created"]) == ("completed", 1)
        assert proc.poll() is None
    finally:
        stop(proc)
    for _ in range(2):  # restarts neither resume nor re-run the failed jobs
        port = free_port()
        proc = start(db, files, port)
        try:
            seen = await jobs_of(port)
            assert all(seen[ids[p]]["status"] == "failed" for p in bombs)
            assert proc.poll() is None and not children(proc.pid)
        finally:
            stop(proc)


async def test_a_job_the_server_keeps_dying_in_is_retried_twice_then_failed(tmp_path, trickle):
    # A job during which the server dies before any batch is applied is the poison case: the third restart
    # must fail it with a reason instead of starting it again, and the server must keep serving.
    db = tmp_path / "poison.db"
    for start_number in range(1, 5):
        port = free_port()
        proc = start(db, tmp_path, port, CONTACTS_MCP_ALLOW_PRIVATE_URLS="1")
        try:
            async with connect(port, TOKENS[port]) as client:
                if start_number == 1:
                    job_id = (await call(client, "import_file", {"url": trickle}))["id"]
                with anyio.fail_after(20):
                    while True:
                        job = (await call(client, "get_jobs", {"job_id": job_id}))["jobs"][0]
                        if job["status"] == "failed" or (job["status"] in ("queued", "running")
                                                         and _started(db, job_id) == start_number):
                            break
                        await anyio.sleep(0.05)
            if start_number < 4:
                assert job["status"] in ("queued", "running"), job
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    assert job["status"] == "failed" and "stopped 3 times" in job["error"], job


def _started(db: Path, job_id: str) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT starts FROM import_jobs WHERE id = ?", [job_id]).fetchone()[0]


async def test_the_reader_dies_with_its_killed_server_even_after_it_has_read_the_whole_file(tmp_path):
    # The reader child of a spreadsheet has finished (everything sent, waiting to be read) when the server
    # is SIGKILLed: nothing must be left running.
    import openpyxl

    files = tmp_path / "files"
    files.mkdir()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["email", "first_name"])
    for i in range(30_000):
        sheet.append([f"p{i}@example.com", f"N{i}"])
    book.save(files / "people.xlsx")
    db, port = tmp_path / "orphans.db", free_port()
    proc = start(db, files, port)
    try:
        async with connect(port, TOKENS[port]) as client:
            await call(client, "import_file", {"path": str(files / "people.xlsx")})
            with anyio.fail_after(30):
                while not (readers := children(proc.pid)):
                    await anyio.sleep(0.02)
        # Stopped, the server reads nothing more: the reader loads the sheet, fills the pipe and blocks.
        os.kill(proc.pid, signal.SIGSTOP)
        time.sleep(2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert gone(readers, 15), "the reader process outlived its killed server"


def test_a_reader_whose_parent_is_already_gone_exits_at_once():
    # The server may die between starting the reader and the reader arming PR_SET_PDEATHSIG: the reader
    # is told its parent's pid and leaves when it finds another parent (here: a pid that is not its parent).
    import sys

    child = subprocess.Popen([sys.executable, "-m", "contacts_mcp.core.imports.sandbox", "1"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.wait(timeout=20) == 0  # it did not wait for a spec on its stdin, still open
    finally:
        child.kill()


def test_a_readers_message_may_hold_only_headers_and_chunks():
    # A reader taken over by a hostile file must not run code in the server through a crafted pickle.
    import pickle

    import pytest

    from contacts_mcp.core.imports import sandbox
    from contacts_mcp.core.imports.engine import Chunk

    assert sandbox._message(pickle.dumps(("chunk", Chunk(checkpoint=3))))[1].checkpoint == 3
    with pytest.raises(sandbox.ReaderFailed, match="something other than rows"):
        sandbox._message(pickle.dumps(("chunk", __import__("os").system)))
