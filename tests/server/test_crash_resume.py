"""An import survives SIGKILL: the restarted server resumes the job from its checkpoint, and the
result is exactly that of an uninterrupted run (no line lost, none applied twice)."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import anyio

from ..conftest import call
from .test_http import connect, free_port, new_token

COMMAND = str(Path(sys.executable).parent / "contacts-mcp")
ROWS = 120_000


def write_csv(path: Path) -> None:
    with path.open("w") as out:
        out.write("email,first_name,mobile\n")
        for i in range(ROWS):
            if i % 97 == 0:
                out.write(f"broken-{i},Bad,\n")                        # invalid
            elif i % 101 == 0:
                out.write(f"user{i - 50}@example.com,Again,\n")      # repeats an earlier line
            else:
                out.write(f"user{i}@example.com,N{i},+3361{i:07d}\n")


TOKENS: dict[int, str] = {}  # port -> the API token of the server listening there


def start(db: Path, roots: Path, port: int, **env: str) -> subprocess.Popen:
    """An HTTP server on `db` importing from `roots` (more settings as environment variables in `env`)."""
    TOKENS[port] = new_token(db)  # creates the database if needed: account "local" is always there
    environ = dict(os.environ, CONTACTS_MCP_DB=str(db), CONTACTS_MCP_IMPORT_ROOTS=str(roots), **env)
    proc = subprocess.Popen([COMMAND, "serve", "--http", "--port", str(port)], env=environ,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            import socket
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            assert proc.poll() is None, "the server died at start-up"
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def children(pid: int) -> set[int]:
    """Processes whose parent is `pid` (read from /proc: this test runs on Linux)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    """Running, as opposed to exited (gone, or a zombie nobody has reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def gone(pids: set[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def counts(job: dict) -> tuple:
    return tuple(job.get(k, 0) for k in ("lines_read", "created", "updated", "unchanged", "invalid", "duplicates"))


def contacts_in(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*), COUNT(DISTINCT email_key) FROM contacts").fetchone()


async def import_until(port: int, csv: Path, stop_when) -> dict:
    async with connect(port, TOKENS[port]) as client:
        job = await call(client, "import_file", {"path": str(csv)})
        with anyio.fail_after(120):
            while True:
                job = (await call(client, "get_jobs", {"job_id": job["id"]}))["jobs"][0]
                if stop_when(job):
                    return job
                await anyio.sleep(0.05)


async def wait_finished(port: int, job_id: str) -> dict:
    async with connect(port, TOKENS[port]) as client:
        return (await call(client, "get_jobs", {"job_id": job_id, "wait_seconds": 60}))["jobs"][0]


async def test_a_job_killed_mid_import_resumes_to_the_same_result_as_an_uninterrupted_run(tmp_path):
    roots = tmp_path / "files"
    roots.mkdir()
    csv = roots / "big.csv"
    write_csv(csv)

    # Uninterrupted run.
    port = free_port()
    proc = start(tmp_path / "clean.db", roots, port)
    try:
        clean = await import_until(port, csv, lambda j: j["status"] == "completed")
    finally:
        proc.terminate()
        proc.wait(10)

    # Killed while running, after some batches have committed, then restarted.
    port = free_port()
    db = tmp_path / "killed.db"
    proc = start(db, roots, port)
    try:
        seen = await import_until(port, csv,
                                  lambda j: j["status"] == "running" and 0 < j["lines_read"] < ROWS // 2)
        workers = children(proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert workers, "a file this size is read by a worker process"
    assert gone(workers, 15), "the reader process outlived its killed server"
    port = free_port()
    proc = start(db, roots, port)
    try:
        resumed = await wait_finished(port, seen["id"])
    finally:
        proc.terminate()
        proc.wait(10)

    assert resumed["status"] == "completed"
    assert counts(resumed) == counts(clean)
    assert contacts_in(db) == contacts_in(tmp_path / "clean.db") == (clean["created"], clean["created"])
    assert clean["invalid"] == len(range(0, ROWS, 97)) and clean["duplicates"] > 0
