"""What a PostgreSQL server does during a benchmark: its CPU time, its backends' wait events and lock waits,
its top statements. Used by http_load.py and stats_bench.py with --postgres URL (postgresql://user@host:port)."""

from __future__ import annotations

import os
import tempfile
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg

from contacts_mcp.core.settings import Settings

TICK = os.sysconf("SC_CLK_TCK")


def fresh_database(server_url: str, name: str) -> str:
    """A new empty database on the PostgreSQL server at `server_url` (postgresql://user@host:port)."""
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server_url}/{name}"


def analyze(db_url: str) -> None:
    """ANALYZE the database, as autovacuum soon does to one in service (a new one has no statistics yet)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def postmaster_pid(server_url: str) -> int:
    """The server's postmaster: the parent of a backend (this client's)."""
    with psycopg.connect(f"{server_url}/postgres") as conn:  # read while the backend lives
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        tree.setdefault(ppid, []).append(int(stat.parent.name))
    return tree


def _cpu(pid: int, waited: bool) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15 if waited else 13]) / TICK


def server_cpu(postmaster: int) -> float:
    """CPU seconds of the whole server: the postmaster with its waited-for children (backends that have
    exited are counted there) and every process under it (backends, background workers)."""
    tree, total, todo = _children(), _cpu(postmaster, True), [postmaster]
    while todo:
        for pid in tree.get(todo.pop(), []):
            total += _cpu(pid, False)
            todo.append(pid)
    return total


class WaitSampler:
    """Samples, every `every` seconds in a thread, the wait events of the database's active backends
    (pg_stat_activity; 'CPU' when one waits for nothing) and the locks not granted (pg_locks)."""

    def __init__(self, db_url: str, every: float = 0.1) -> None:
        self.db_url, self.every = db_url, every
        self.events: Counter[str] = Counter()
        self.blocked: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while not self._stop.wait(self.every):
                self.samples += 1
                for event, n in conn.execute(
                        "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() "
                        "GROUP BY 1"):
                    self.events[event] += n
                for what, n in conn.execute(
                        "SELECT l.locktype || ' ' || l.mode || coalesce(' on ' || c.relname, ''), count(*) "
                        "FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted GROUP BY 1"):
                    self.blocked[what] += n

    def summary(self) -> str:
        n = max(self.samples, 1)
        events = ", ".join(f"{e} {c / n:.2f}" for e, c in self.events.most_common(8)) or "none"
        blocked = ", ".join(f"{w} {c / n:.2f}" for w, c in self.blocked.most_common(5)) or "none"
        return (f"{self.samples} samples; active backends on average by wait event: {events}; "
                f"locks not granted on average: {blocked}")


def top_statements(server_url: str, database: str, limit: int = 15, indent: str = "  ") -> None:
    """The database's top statements by total time, planning included (pg_stat_statements, when installed;
    planning is counted when pg_stat_statements.track_planning is on)."""
    try:
        with psycopg.connect(f"{server_url}/postgres") as conn:
            rows = conn.execute(
                "SELECT total_exec_time, total_plan_time, calls, query FROM pg_stat_statements WHERE dbid = "
                "(SELECT oid FROM pg_database WHERE datname = %s) ORDER BY total_exec_time + total_plan_time DESC LIMIT %s",
                (database, limit)).fetchall()
    except psycopg.Error as exc:
        print(f"{indent}(no pg_stat_statements: {str(exc).strip().splitlines()[0]})")
        return
    print(f"{indent}top {limit} statements of database {database} by total time "
          f"(pg_stat_statements): execution s, planning s, calls, mean ms (both)")
    for total, planning, calls, query in rows:
        print(f"{indent}  {total / 1000:8.2f} s {planning / 1000:7.2f} s {calls:>9,} "
              f"{(total + planning) / max(calls, 1):8.3f} ms  "
              f"{' '.join(query.split())[:160]}")


def side_by_side(runs: dict[str, dict[str, str]], server_url: str, database: str, width: int = 44) -> None:
    """Each figure of an SQLite run and a PostgreSQL one on a line, then the database's top statements."""
    print(f"\n{'':<{width}} {'SQLite':>22} {'PostgreSQL':>22}")
    for key, value in runs["SQLite"].items():
        print(f"{key:<{width}} {value:>22} {runs['PostgreSQL'].get(key, '-'):>22}")
    print("\nPostgreSQL:")
    top_statements(server_url, database)


async def on_both(files: Callable[[Path], Any], scenario: Callable[[Settings, Any, str], Awaitable[dict[str, str]]],
                  postgres: str | None, database: str) -> None:
    """In a temporary folder: `files(folder)` writes the scenario's input files (and returns what names them),
    `scenario(settings, files, label)` runs on a new SQLite file, then, given a server URL, on a new database
    `database` there; both runs' figures are printed side by side."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        written = files(tmp)

        def settings(db_url: str | None = None) -> Settings:
            return Settings(db_path=tmp / f"{database}.db", db_url=db_url, files_dir=tmp / "files",
                            import_roots=(tmp,), max_file_bytes=1 << 30)  # the files are far above the default 20 MB

        runs = {"SQLite": await scenario(settings(), written, "SQLite")}
        if postgres:
            runs["PostgreSQL"] = await scenario(settings(fresh_database(postgres, database)), written, "PostgreSQL")
    if postgres:
        side_by_side(runs, postgres, database)
