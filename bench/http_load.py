"""The server under load over real transports (HTTP, then stdio): prints figures, asserts nothing.

    .venv/bin/python bench/http_load.py [--clients 20] [--seconds 20] [--race 50] [--race-rounds 3]
                                        [--stdio-seconds 5] [--tokens per-client] [--py-spy FILE]
                                        [--only stdio|http] [--postgres URL]

The server runs as a subprocess (`contacts-mcp serve --http`) on a database in a temporary directory; the
SDK client reaches it over HTTP with a bearer token. By default the server runs with `--rate-limit 0` (off)
and all clients share one write token; `--tokens per-client` instead keeps the default limit (50 requests/s
per token, bursts of 100) and gives every client its own token. The access log (one JSON line per request on
the server's stderr) goes to a file and its status codes are counted (a 429 there is the rate limit).

1. HTTP mixed load: a seed list and 50 contacts; then --clients clients each import a 200-row CSV
   (import_file csv_text, then get_jobs with wait_seconds), all together, timed apart; then for
   --seconds each loops a mix: 40% writes (create_contact, upsert_contacts of 5-20 with a few existing
   contacts), 30% get_contacts (lookup of 1-5 emails, search, a page of the list or of the base), 20%
   get_stats (whole base, the list), 10% other (update_list_members add, optout_contact of one contact,
   get_lists with stats). Prints calls/s, p50 / p99 overall and per call kind, errors (is_error results and
   exceptions, first texts), the CPU time of the server and of this load generator (both on one machine: the
   generator's share of the CPUs is not the server's).
   Targets: >= 500 mixed calls/s with 20 clients, p99 < 100 ms, zero errors.
2. Same-email race: --race clients (one session each, the load's tokens in turn) connected first, released together, each calling
   create_contact with the same email; then that email is looked up and searched. Target: exactly 1 contact
   (outcomes: 1 created, the others updated).
3. stdio: one client launching `contacts-mcp` over stdio on a fresh database, sequential create_contact calls
   with unique emails for --stdio-seconds, then the same client keeping 4 calls in flight on its session for
   as long. Target: >= 1,000 calls/s. Measured with two clients, each on a server of its own:
   - the SDK's Client (what an assistant's host is like): it spends ~0.5 ms of its own per call, which a
     sequential client adds to every round trip; its CPU time is printed;
   - a lean client: the very JSON-RPC lines the SDK client writes (server/discover, then tools/call with
     the same per-request _meta), written to and read from the pipes directly (~0.05 ms per call), so
     the figure is the server's. Each answer is parsed and checked (no error, outcome "created").

--accounts N: the clients spread over N accounts (a token each) instead of one; writes of one account
queue for its lock on PostgreSQL, those of different accounts do not (the multi-tenant case).

--postgres URL (a server, postgresql://user@host:port, no database name): after SQLite's parts 1 and 2,
the same on PostgreSQL, on a new database `http_load` each time: one server process, then --pg-processes
(default 2) processes on the same database, each behind a port of its own, the clients spread over them
round-robin. Each run prints the CPU time per call of the server processes, of the PostgreSQL server (the
postmaster's process tree from /proc: backends, background workers, and the ones that exited), and of this
load generator; the wait events of the database's active backends sampled every 0.1 s (pg_stat_activity)
with the locks not granted (pg_locks), and the top statements (pg_stat_statements, when installed). A table
compares the runs at the end.

--py-spy FILE: record the servers with py-spy (slows them: figures of such a run are not the reference)
during the mixed load (FILE.svg flame graph, FILE.txt collapsed stacks) and the stdio run (FILE-stdio.*),
with the top frames printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
import pg_watch
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

COMMAND = str(Path(sys.executable).parent / "contacts-mcp")
IN_FLIGHT = 4  # stdio: calls one client keeps in flight in the pipelined run
PY_SPY = str(Path(sys.executable).parent / "py-spy")
TICK = os.sysconf("SC_CLK_TCK")
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"]
IDLE_FRAMES = ("select (selectors.py", "Condition.wait (",
               "SimpleQueue.get", "wait (threading.py")
CITIES = ["Paris", "Lyon", "Lille", "Nantes", "Bordeaux", "Toulouse"]
ENV = dict(os.environ)  # the servers' environment; main() sets CONTACTS_MCP_FILES_DIR (PostgreSQL's job files)


# ---------------------------------------------------------------- server and processes


@dataclass
class PgWatch:
    db_url: str  # the database the servers share
    postmaster: int  # the PostgreSQL server's main process (its CPU time and its children's)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(db: Path | str, *args: str) -> str:
    done = subprocess.run([COMMAND, "--db", str(db), *args], capture_output=True, text=True,
                          timeout=60, check=False, env=ENV)
    if done.returncode:
        raise SystemExit(f"contacts-mcp {' '.join(args)}: {done.stderr}")
    return done.stdout.strip()


def new_token(db: Path | str, account: str = "local") -> str:
    if account != "local":
        cli(db, "account", "create", account)
    return cli(db, "token", "create", "--account", account, "--scope", "write").splitlines()[-1]


def start_server(db: Path | str, log: Path, *extra: str) -> tuple[int, subprocess.Popen]:
    """The HTTP server; its stderr (one access-log line per request) goes to a file: a pipe nobody reads
    would fill and stall the server."""
    port = free_port()
    with log.open("w") as err:
        proc = subprocess.Popen([COMMAND, "serve", "--http", "--port", str(port), "--db", str(db), *extra],
                                stdout=subprocess.DEVNULL, stderr=err, env=ENV)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return port, proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited: {log.read_text()}") from None
            time.sleep(0.1)
    stop(proc)
    raise SystemExit(f"the server did not listen within 30 s: {log.read_text()}")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and of its waited-for children) from /proc; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / TICK  # utime, stime, cutime, cstime


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of a process (the main thread's id is the process id)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def thread_split(pid: int, before: dict[int, float]) -> str:
    after = thread_cpu(pid)
    main = after.get(pid, 0.0) - before.get(pid, 0.0)
    others = sorted((v - before.get(t, 0.0) for t, v in after.items() if t != pid), reverse=True)
    return (f"main thread (event loop) {main:.1f} s, {len(others)} other threads (database connections, workers) "
            f"{sum(others):.1f} s (busiest {', '.join(f'{v:.1f}' for v in others[:4])})")


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_pids() -> list[int]:
    pids = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return pids


# ---------------------------------------------------------------- timing


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(len(ordered) * q) - 1))] * 1000


class Recorder:
    """Latency per call kind, errors (is_error results and exceptions) with their first texts."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.first_errors: list[str] = []

    def error(self, label: str, text: str) -> None:
        self.errors[label] += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"{label}: {text[:300]}")

    async def call(self, client: Client, label: str, name: str, args: dict) -> dict | None:
        start = time.perf_counter()
        try:
            result = await client.call_tool(name, args)
        except Exception as exc:  # noqa: BLE001 - counted and shown, never hidden
            self.samples[label].append(time.perf_counter() - start)
            self.error(label, f"exception {type(exc).__name__}: {exc}")
            return None
        self.samples[label].append(time.perf_counter() - start)
        if result.is_error:
            self.error(label, " ".join(getattr(c, "text", "") for c in result.content))
            return None
        return result.structured_content

    def total(self) -> int:
        return sum(len(v) for v in self.samples.values())

    def print_table(self) -> None:
        print(f"    {'call':<32} {'calls':>7} {'share':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
        total = self.total() or 1
        by_tool: dict[str, list[float]] = defaultdict(list)
        for label in sorted(self.samples):
            s = self.samples[label]
            by_tool[label.split(" ")[0]] += s
            print(f"    {label:<32} {len(s):>7,} {len(s) / total:>6.0%} {pct(s, .5):>8.1f} {pct(s, .99):>8.1f} "
                  f"{max(s) * 1000:>8.1f} {self.errors[label]:>7}")
        print("    per tool:")
        for tool, s in sorted(by_tool.items()):
            errors = sum(n for label, n in self.errors.items() if label.split(" ")[0] == tool)
            print(f"    {tool:<32} {len(s):>7,} {len(s) / total:>6.0%} {pct(s, .5):>8.1f} {pct(s, .99):>8.1f} "
                  f"{max(s) * 1000:>8.1f} {errors:>7}")


def connect(port: int, token: str) -> tuple[Client, httpx2.AsyncClient]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    return Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http),
                  read_timeout_seconds=60), http


async def open_clients(stack: AsyncExitStack, ports: list[int], tokens: list[str]) -> list[Client]:
    """A session per token, on the ports in turn (round-robin over the server processes)."""
    clients = []
    for i, token in enumerate(tokens):
        client, http = connect(ports[i % len(ports)], token)
        await stack.enter_async_context(http)
        clients.append(await stack.enter_async_context(client))
    return clients


# ---------------------------------------------------------------- 1. mixed load


class Worker:
    """One client's mix; remembers the contacts it created (ids and emails) to read and change them."""

    def __init__(self, n: int, client: Client, rec: Recorder, list_id: int) -> None:
        self.n, self.client, self.rec, self.list_id = n, client, rec, list_id
        self.rng = random.Random(n)
        self.seq = 0
        self.ids: list[int] = []
        self.emails: list[str] = []

    def new_contact(self) -> dict:
        self.seq += 1
        rng = self.rng
        contact = {"email": f"c{self.n}-{self.seq}@load{self.n % 7}.example", "first_name": f"F{self.seq}",
                   "last_name": rng.choice(LAST_NAMES), "city": rng.choice(CITIES)}
        if rng.random() < 0.5:
            contact["mobile"] = f"+336{self.n:02d}{self.seq:06d}"
        if rng.random() < 0.3:
            contact["list_ids"] = [self.list_id]
        return contact

    async def import_csv(self, rows: int) -> None:
        lines = ["email,first_name,last_name,mobile,city"]
        lines += [f"imp{self.n}-{i}@import.example,I{i},{LAST_NAMES[i % 10]},+3375{self.n:02d}{i:05d},{CITIES[i % 6]}"
                  for i in range(rows)]
        job = await self.rec.call(self.client, "import_file csv_text", "import_file",
                                  {"csv_text": "\n".join(lines) + "\n", "list_ids": [self.list_id]})
        while job and job["status"] not in ("completed", "failed", "cancelled"):
            page = await self.rec.call(self.client, "get_jobs wait", "get_jobs",
                                       {"job_id": job["id"], "wait_seconds": 30})
            job = page["jobs"][0] if page else None
        if job and (job["status"] != "completed" or job["created"] + job["updated"] != rows):
            self.rec.error("import result", f"{job['status']}: created {job['created']}, invalid {job['invalid']}")

    async def step(self) -> None:
        rng, rec, c = self.rng, self.rec, self.client
        r = rng.random()
        if r < 0.20:
            got = await rec.call(c, "create_contact", "create_contact", {"contact": self.new_contact()})
            if got:
                self.ids.append(got["contact"]["id"])
                self.emails.append(got["contact"]["email"])
        elif r < 0.40:
            batch = [self.new_contact() for _ in range(rng.randint(5, 20))]
            for email in rng.sample(self.emails, min(len(self.emails), 2)):  # a few already there: updates
                batch.append({"email": email, "company": f"Acme {rng.randint(1, 99)}"})
            got = await rec.call(c, "upsert_contacts 5-20", "upsert_contacts", {"contacts": batch})
            if got:
                for item in got["items"]:
                    if item["outcome"] == "created":
                        self.ids.append(item["id"])
                        self.emails.append(batch[item["index"]]["email"])
        elif r < 0.55:
            emails = rng.sample(self.emails, min(len(self.emails), rng.randint(1, 5))) or ["seed1@seed.example"]
            await rec.call(c, "get_contacts emails", "get_contacts", {"emails": emails})
        elif r < 0.625:
            await rec.call(c, "get_contacts search", "get_contacts", {"search": rng.choice(LAST_NAMES), "limit": 25})
        elif r < 0.70:
            args = {"list_id": self.list_id, "limit": 25} if rng.random() < 0.5 else {"limit": 25}
            await rec.call(c, "get_contacts page", "get_contacts", args)
        elif r < 0.80:
            await rec.call(c, "get_stats base", "get_stats", {})
        elif r < 0.90:
            await rec.call(c, "get_stats list", "get_stats", {"list_ids": [self.list_id]})
        elif r < 0.935 and self.ids:
            await rec.call(c, "update_list_members add", "update_list_members",
                           {"list_id": self.list_id, "action": "add",
                            "contact_ids": rng.sample(self.ids, min(len(self.ids), rng.randint(1, 5)))})
        elif r < 0.97 and self.ids:
            await rec.call(c, "optout_contact one", "optout_contact",
                           {"contact_ids": [rng.choice(self.ids)], "reason": "unsubscribed", "channels": ["email"]})
        else:
            await rec.call(c, "get_lists stats", "get_lists", {"properties": ["DEFAULT", "stats"]})

    async def loop(self, deadline: float) -> None:
        try:
            while time.perf_counter() < deadline:
                await self.step()
        except Exception as exc:  # noqa: BLE001 - a broken client is reported, the others go on
            self.rec.error("client loop", f"client {self.n} stopped: {type(exc).__name__}: {exc}")


def access_log_statuses(log: Path) -> Counter[str]:
    codes: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"status": ' in line:
            codes[line.split('"status": ', 1)[1].split(",", 1)[0]] += 1
    return codes


def start_py_spy(pid: int, seconds: float, out: str) -> list[subprocess.Popen]:
    procs = []
    for fmt, suffix in (("flamegraph", ".svg"), ("raw", ".txt")):
        procs.append(subprocess.Popen([PY_SPY, "record", "--pid", str(pid), "--duration", str(int(seconds)),
                                       "--rate", "200", "--format", fmt, "--output", out + suffix, "--nonblocking"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    return procs


def print_py_spy(procs: list[subprocess.Popen], out: str) -> None:
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            err = "timed out"
        if proc.returncode:
            print(f"  py-spy failed ({proc.returncode}): {err.strip()[-300:]}")
            return
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = idle = 0
    for line in Path(out + ".txt").read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        if any(k in frames[-1] for k in IDLE_FRAMES):  # a thread waiting for work, not using the CPU
            idle += n
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    total = total or 1
    print(f"  py-spy: {total:,} busy samples of the server ({idle:,} idle ones left out), {out}.svg / {out}.txt; "
          f"top frames by own time:")
    for frame, n in own.most_common(12):
        print(f"    {n / total:6.1%}  {frame}")
    print("  top frames by inclusive time (from contacts_mcp, the SDK, uvicorn, starlette, sqlite):")
    shown = 0
    for frame, n in inclusive.most_common():
        if any(k in frame for k in ("contacts_mcp", "mcp/", "uvicorn", "starlette", "sqlite", "pydantic")):
            print(f"    {n / total:6.1%}  {frame}")
            shown += 1
            if shown == 25:
                break


async def mixed_load(ports: list[int], tokens: list[str], clients_n: int, seconds: float, import_rows: int,
                     servers: list[subprocess.Popen], py_spy: str | None, pg: PgWatch | None = None) -> dict:
    """The imports, then the mix; prints its figures and returns them for the comparison table."""
    rec = Recorder()
    server = servers[0]
    async with AsyncExitStack() as stack:
        t = time.perf_counter()
        clients = await open_clients(stack, ports, tokens)
        print(f"  {clients_n} sessions opened in {time.perf_counter() - t:.2f} s")
        setup = Recorder()
        lists: dict[str, int] = {}  # each account's list (the clients sharing a token share an account)
        for token, seed in zip(tokens, clients):
            if token in lists:
                continue
            made = await setup.call(seed, "manage_lists", "manage_lists", {"action": "create", "name": "load"})
            if made is None:
                raise SystemExit(f"seeding failed: {setup.first_errors}")
            lists[token] = made["list"]["id"]
            await setup.call(seed, "upsert_contacts", "upsert_contacts", {"contacts": [
                {"email": f"seed{i}@seed.example", "last_name": LAST_NAMES[i % 10], "list_ids": [lists[token]]}
                for i in range(50)]})
        workers = [Worker(i, client, rec, lists[token]) for i, (token, client) in enumerate(zip(tokens, clients))]

        # One small import per client, all together.
        imports = Recorder()
        for w in workers:
            w.rec = imports
        t = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for w in workers:
                tg.start_soon(w.import_csv, import_rows)
        elapsed = time.perf_counter() - t
        print(f"  imports: {clients_n} x import_file of {import_rows} CSV rows + get_jobs(wait_seconds) "
              f"together: {elapsed:.2f} s ({clients_n * import_rows / elapsed:,.0f} rows/s); "
              f"errors: {sum(imports.errors.values())}")
        imports.print_table()
        for text in imports.first_errors:
            print(f"    ! {text}")

        if pg:
            # The database was created seconds ago and autovacuum has not analysed it yet (it looks every
            # minute): the planner would take the 4,000 imported contacts for a dozen and pick scans a
            # database in service, with statistics, never would. Analyse it as autovacuum soon would.
            pg_watch.analyze(pg.db_url)
            print("  ANALYZE run before the mix (the statistics a database in service has)")

        # The mix.
        for w in workers:
            w.rec = rec
        spy = start_py_spy(server.pid, seconds, py_spy) if py_spy else []
        sampler = pg_watch.WaitSampler(pg.db_url) if pg else contextlib.nullcontext()
        with sampler:
            pg_cpu = pg_watch.server_cpu(pg.postmaster) if pg else 0.0
            server_cpu = sum(cpu_seconds(s.pid) for s in servers)
            own_cpu, threads = self_cpu(), [thread_cpu(s.pid) for s in servers]
            start = time.perf_counter()
            with anyio.move_on_after(seconds + 60):  # a hung call cannot keep the benchmark running
                async with anyio.create_task_group() as tg:
                    for w in workers:
                        tg.start_soon(w.loop, start + seconds)
            elapsed = time.perf_counter() - start
            server_cpu = sum(cpu_seconds(s.pid) for s in servers) - server_cpu
            own_cpu = self_cpu() - own_cpu
            pg_cpu = pg_watch.server_cpu(pg.postmaster) - pg_cpu if pg else 0.0
        splits = [thread_split(s.pid, before) for s, before in zip(servers, threads, strict=True)]

    total = rec.total()
    every = [s for v in rec.samples.values() for s in v]
    errors = sum(rec.errors.values())
    rate = total / elapsed
    p50, p99 = (pct(every, .5), pct(every, .99)) if every else (0.0, 0.0)
    print(f"  mixed load: {clients_n} clients for {elapsed:.1f} s: {total:,} calls = {rate:,.0f} calls/s "
          f"[target >= 500: {'met' if rate >= 500 else 'MISSED'}]")
    print(f"  latency over all calls: p50 {p50:.1f} ms, p99 {p99:.1f} ms [target p99 < 100 ms: "
          f"{'met' if p99 < 100 else 'MISSED'}], max {max(every, default=0) * 1000:.1f} ms")
    print(f"  errors: {errors} [target 0: {'met' if errors == 0 else 'MISSED'}]")
    for text in rec.first_errors:
        print(f"    ! {text}")
    rec.print_table()
    per_call = 1000 / max(total, 1)
    what = "server" if len(servers) == 1 else f"{len(servers)} server processes"
    print(f"  CPU during the mix ({elapsed:.1f} s wall, {os.cpu_count()} CPUs): {what} {server_cpu:.1f} s "
          f"({server_cpu / elapsed:.0%} of one CPU, {server_cpu * per_call:.2f} ms/call); "
          + (f"PostgreSQL server {pg_cpu:.1f} s ({pg_cpu / elapsed:.0%}, {pg_cpu * per_call:.2f} ms/call); "
             if pg else "")
          + f"this load generator {own_cpu:.1f} s ({own_cpu / elapsed:.0%} of one CPU, "
            f"{own_cpu * per_call:.2f} ms/call)")
    for s, split in zip(servers, splits, strict=True):
        print(f"  server {s.pid} CPU by thread: {split}")
    if pg:
        print(f"  PostgreSQL waits during the mix: {sampler.summary()}")
    if spy:
        print_py_spy(spy, py_spy)
    return {"calls/s": f"{rate:,.0f}", "errors": f"{errors}", "p50 ms": f"{p50:.1f}", "p99 ms": f"{p99:.1f}",
            "server processes ms CPU/call": f"{server_cpu * per_call:.2f}",
            "PostgreSQL ms CPU/call": f"{pg_cpu * per_call:.2f}" if pg else "-",
            "load generator ms CPU/call": f"{own_cpu * per_call:.2f}",
            "total ms CPU/call": f"{(server_cpu + pg_cpu + own_cpu) * per_call:.2f}"}


# ---------------------------------------------------------------- 2. race


async def race(ports: list[int], tokens: list[str], n: int, round_: int) -> None:
    email = f"race{round_}@race.example"
    rec = Recorder()
    outcomes: Counter[str] = Counter()
    ids: set[int] = set()
    go = anyio.Event()

    async def one(client: Client, i: int) -> None:
        await go.wait()
        got = await rec.call(client, "create_contact", "create_contact",
                             {"contact": {"email": email, "first_name": f"Racer{i}"}})
        if got:
            outcomes[got["outcome"]] += 1
            ids.add(got["contact"]["id"])
        else:
            outcomes["error"] += 1

    async with AsyncExitStack() as stack:
        clients = await open_clients(stack, ports, [tokens[i % len(tokens)] for i in range(n)])
        async with anyio.create_task_group() as tg:
            for i, client in enumerate(clients):
                tg.start_soon(one, client, i)
            await anyio.sleep(0.2)
            start = time.perf_counter()
            go.set()
        elapsed = time.perf_counter() - start
        looked = await rec.call(clients[0], "get_contacts", "get_contacts", {"emails": [email], "deleted": "include"})
        found = await rec.call(clients[0], "get_contacts", "get_contacts",
                               {"search": email, "deleted": "include", "limit": 100})
    n_looked = len(looked["contacts"]) if looked else "?"
    n_found = len(found["contacts"]) if found else "?"
    ok = n_looked == 1 and n_found == 1 and len(ids) == 1
    print(f"  round {round_}: {n} create_contact({email}) released together, done in {elapsed * 1000:.0f} ms; "
          f"outcomes {dict(outcomes)}; distinct ids returned {len(ids)}; contacts with the email: lookup "
          f"{n_looked}, search {n_found} [target exactly 1: {'met' if ok else 'MISSED'}]")
    for text in rec.first_errors:
        print(f"    ! {text}")


# ---------------------------------------------------------------- 3. stdio


async def stdio(db: Path, seconds: float, py_spy: str | None) -> None:
    params = StdioServerParameters(command=COMMAND, args=[], env=dict(os.environ, CONTACTS_MCP_DB=str(db)))
    rec = Recorder()
    before = set(child_pids())
    async with Client(params, read_timeout_seconds=30) as client:
        server = next(iter(set(child_pids()) - before), None)
        await rec.call(client, "warm-up", "create_contact", {"contact": {"email": "warm@stdio.example"}})
        server_cpu, own_cpu = (cpu_seconds(server) if server else 0.0), self_cpu()
        threads = thread_cpu(server) if server else {}
        spy = start_py_spy(server, seconds, py_spy) if py_spy and server else []
        start = time.perf_counter()
        deadline, i = start + seconds, 0
        while time.perf_counter() < deadline:
            i += 1
            await rec.call(client, "create_contact", "create_contact",
                           {"contact": {"email": f"s{i}@stdio.example", "first_name": f"S{i}",
                                        "last_name": LAST_NAMES[i % 10], "mobile": f"+336{i:08d}"}})
        elapsed = time.perf_counter() - start
        server_cpu = (cpu_seconds(server) - server_cpu) if server else float("nan")
        own_cpu = self_cpu() - own_cpu
        split = thread_split(server, threads) if server else "-"
        if spy:
            print_py_spy(spy, py_spy)
        # The same client with several calls in flight on its one session (MCP allows it): what the server
        # sustains when the client does not wait for each answer before sending the next request.
        piped: list[float] = []

        async def pipeline(k: int) -> None:
            n = 0
            while time.perf_counter() < stop:
                n += 1
                t = time.perf_counter()
                result = await client.call_tool("create_contact", {"contact": {"email": f"p{k}-{n}@stdio.example"}})
                if not result.is_error:
                    piped.append(time.perf_counter() - t)

        begin = time.perf_counter()
        stop = begin + seconds
        async with anyio.create_task_group() as tg:
            for k in range(IN_FLIGHT):
                tg.start_soon(pipeline, k)
        piped_rate = len(piped) / (time.perf_counter() - begin)
    s = rec.samples["create_contact"]
    rate = len(s) / elapsed
    print(f"  stdio, SDK client: {len(s):,} sequential create_contact in {elapsed:.1f} s = {rate:,.0f} calls/s "
          f"[target >= 1,000: {'met' if rate >= 1000 else 'MISSED'}]; p50 {pct(s, .5):.2f} ms, "
          f"p99 {pct(s, .99):.2f} ms; errors {sum(rec.errors.values())}")
    print(f"  stdio, SDK client with {IN_FLIGHT} calls in flight: {len(piped):,} create_contact = {piped_rate:,.0f} "
          f"calls/s [target >= 1,000: {'met' if piped_rate >= 1000 else 'MISSED'}]; p50 {pct(piped, .5):.2f} ms")
    for text in rec.first_errors:
        print(f"    ! {text}")
    print(f"  CPU (sequential run): server {server_cpu:.1f} s ({server_cpu / elapsed:.0%} of one CPU, "
          f"{server_cpu / max(len(s), 1) * 1000:.2f} ms/call); this client {own_cpu:.1f} s "
          f"({own_cpu / elapsed:.0%}, {own_cpu / max(len(s), 1) * 1000:.2f} ms/call)")
    print(f"  server CPU by thread: {split}")


PROTOCOL = "2026-07-28"  # what the SDK client stamps on every request (mcp_types: PROTOCOL_VERSION_META_KEY)
META = {"io.modelcontextprotocol/protocolVersion": PROTOCOL,
        "io.modelcontextprotocol/clientInfo": {"name": "http_load-lean", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}}


class LeanClient:
    """JSON-RPC over the server's pipes, one line per message, with no SDK in between."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen([COMMAND], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
                                     env=dict(os.environ, CONTACTS_MCP_DB=str(db)))
        self.out = os.fdopen(self.proc.stdout.fileno(), "rb", buffering=1 << 16, closefd=False)
        self.next_id = 0
        self.first_error = ""
        self.send("server/discover", {})
        versions = self.receive()["result"].get("supportedVersions", [])
        if PROTOCOL not in versions:
            raise SystemExit(f"the server speaks {versions}, this lean client {PROTOCOL}: update PROTOCOL")

    def send(self, method: str, params: dict) -> None:
        self.next_id += 1
        line = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": {**params, "_meta": META}})
        self.proc.stdin.write(line.encode() + b"\n")

    def receive(self) -> dict:
        while True:
            line = self.out.readline()
            if not line:
                raise SystemExit(f"the server closed stdout (exit code {self.proc.wait()})")
            message = json.loads(line)
            if "id" in message:  # notifications (none expected) are skipped
                return message

    def create(self, i: int) -> None:
        """The contact the SDK client's run creates (on a database of its own)."""
        contact = {"email": f"l{i}@lean.example", "first_name": f"L{i}", "last_name": LAST_NAMES[i % 10],
                   "mobile": f"+336{i:08d}"}
        self.send("tools/call", {"name": "create_contact", "arguments": {"contact": contact}})

    def check(self, message: dict) -> bool:
        result = message.get("result") or {}
        ok = not result.get("isError") and (result.get("structuredContent") or {}).get("outcome") == "created"
        if not ok and not self.first_error:
            self.first_error = json.dumps(message)[:300]
        return ok

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def stdio_lean(db: Path, seconds: float) -> None:
    client = LeanClient(db)
    try:
        client.create(0)
        client.receive()
        server = client.proc.pid
        server_cpu, own_cpu = cpu_seconds(server), self_cpu()
        errors, n, start = 0, 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            n += 1
            client.create(n)
            errors += not client.check(client.receive())
        elapsed = time.perf_counter() - start
        server_cpu, own_cpu = cpu_seconds(server) - server_cpu, self_cpu() - own_cpu
        rate = n / elapsed
        # Then IN_FLIGHT calls kept in flight: a new one sent as each answer comes back.
        sent = done = 0
        first = n + 1
        begin = time.perf_counter()
        for _ in range(IN_FLIGHT):
            client.create(first + sent)
            sent += 1
        while done < sent:
            errors += not client.check(client.receive())
            done += 1
            if time.perf_counter() - begin < seconds:
                client.create(first + sent)
                sent += 1
        piped_rate = done / (time.perf_counter() - begin)
    finally:
        client.close()
    print(f"  stdio, lean client: {n:,} sequential create_contact in {elapsed:.1f} s = {rate:,.0f} calls/s "
          f"[target >= 1,000: {'met' if rate >= 1000 else 'MISSED'}]; with {IN_FLIGHT} in flight: {done:,} = "
          f"{piped_rate:,.0f} calls/s [{'met' if piped_rate >= 1000 else 'MISSED'}]; errors {errors}")
    if client.first_error:
        print(f"    ! {client.first_error}")
    print(f"  CPU (lean sequential run): server {server_cpu:.1f} s ({server_cpu / n * 1000:.2f} ms/call); "
          f"this client {own_cpu:.1f} s ({own_cpu / n * 1000:.2f} ms/call)")


# ---------------------------------------------------------------- main


async def main(args: argparse.Namespace) -> None:
    print(f"CPUs: {os.cpu_count()} (os.cpu_count), {len(os.sched_getaffinity(0))} usable; Python "
          f"{sys.version.split()[0]}; load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        ENV["CONTACTS_MCP_FILES_DIR"] = str(tmp / "files")
        if args.only != "stdio":
            runs = {} if args.pg_only else {
                "SQLite, 1 process": await http_parts(tmp / "load.db", tmp / "server.log", 1, args)}
            if args.postgres:
                for n in sorted({1, args.pg_processes}):
                    url = pg_watch.fresh_database(args.postgres, "http_load")
                    print(f"\n===== PostgreSQL, {n} server process{'es' if n > 1 else ''} on one database ({url})")
                    runs[f"PostgreSQL, {n} process{'es' if n > 1 else ''}"] = await http_parts(
                        url, tmp / f"server-pg{n}.log", n, args,
                        PgWatch(url, pg_watch.postmaster_pid(args.postgres)))
                    pg_watch.top_statements(args.postgres, "http_load")
                print_comparison(runs)
        if args.only != "http":
            print(f"\n3. stdio ({args.stdio_seconds:g} s)")
            await stdio(tmp / "stdio.db", args.stdio_seconds, args.py_spy and args.py_spy + "-stdio")
            stdio_lean(tmp / "lean.db", args.stdio_seconds)


def print_comparison(runs: dict[str, dict]) -> None:
    names = list(runs)
    print(f"\nmixed load, {'':<28}" + "".join(f"{n:>24}" for n in names))
    for key in next(iter(runs.values())):
        print(f"  {key:<36}" + "".join(f"{runs[n][key]:>24}" for n in names))


async def http_parts(db: Path | str, log: Path, processes: int, args: argparse.Namespace,
                     pg: PgWatch | None = None) -> dict:
    """Parts 1 and 2: the HTTP server processes on one database, the mixed load over them, then the
    same-email race; then their access logs. Returns the mix's figures."""
    cli(db, "account", "list")  # creates and migrates the database
    per_client = args.tokens == "per-client"
    if args.accounts > 1:  # a token per account, the clients spread over them in turn
        shared = [new_token(db, "local" if a == 0 else f"tenant{a}") for a in range(args.accounts)]
        tokens = [shared[i % args.accounts] for i in range(args.clients)]
    else:
        tokens = [new_token(db) for _ in range(args.clients)] if per_client else [new_token(db)] * args.clients
    extra = [] if per_client else ["--rate-limit", "0"]
    servers: list[subprocess.Popen] = []
    logs = [log.with_name(f"{log.stem}-{i}{log.suffix}") for i in range(processes)] if processes > 1 else [log]
    try:
        ports = []
        for path in logs:
            port, server = start_server(db, path, *extra)
            servers.append(server)
            ports.append(port)
        print(f"HTTP server pid{'s' if processes > 1 else ''} {', '.join(str(s.pid) for s in servers)} on port"
              f"{'s' if processes > 1 else ''} {', '.join(map(str, ports))}; "
              + (f"--rate-limit 0 (off), {args.accounts} accounts, a token each, the clients spread over them"
                 if args.accounts > 1 else "default rate limit (50 requests/s per token, burst 100), one token per "
                 "client" if per_client else "--rate-limit 0 (off), one token shared by all clients")
              + ("; clients spread round-robin over the processes" if processes > 1 else ""))
        print(f"\n1. HTTP mixed load ({args.clients} clients, {args.seconds:g} s)")
        figures = await mixed_load(ports, tokens, args.clients, args.seconds, args.import_rows, servers,
                                   args.py_spy, pg)
        print(f"\n2. same-email race ({args.race} sessions released together)")
        for r in range(1, args.race_rounds + 1):
            await race(ports, tokens, args.race, r)
    finally:
        for server in servers:
            stop(server)
    codes: Counter[str] = Counter()
    for path in logs:
        codes += access_log_statuses(path)
    exits = ", ".join(str(s.returncode) for s in servers) or "-"
    print(f"\n  server access log: {sum(codes.values()):,} HTTP requests, by status {dict(sorted(codes.items()))}"
          f"{'; 429 = rate limited' if '429' in codes else ''}; server exit code {exits}")
    for path in logs:
        other = [line for line in path.read_text(errors="replace").splitlines()
                 if not line.startswith("{") and "serving MCP at" not in line]
        for line in other[:10]:
            print(f"    server stderr: {line[:300]}")
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--import-rows", type=int, default=200)
    parser.add_argument("--race", type=int, default=50, help="concurrent create_contact calls with one email")
    parser.add_argument("--race-rounds", type=int, default=3)
    parser.add_argument("--stdio-seconds", type=float, default=5)
    parser.add_argument("--tokens", choices=("shared", "per-client"), default="shared",
                        help="shared: one token, --rate-limit 0 (default); per-client: a token each, default limit")
    parser.add_argument("--accounts", type=int, default=1, help="clients spread over this many accounts (a "
                        "token each, --rate-limit 0): writes of different accounts never wait for one another")
    parser.add_argument("--only", choices=("stdio", "http"), help="stdio: run part 3 alone; http: parts 1 and 2")
    parser.add_argument("--postgres", metavar="URL", help="also run parts 1 and 2 on a new database http_load on "
                        "this PostgreSQL server (postgresql://user@host:port): 1 server process, then --pg-processes")
    parser.add_argument("--pg-only", action="store_true", help="with --postgres: skip SQLite's run")
    parser.add_argument("--pg-processes", type=int, default=2, help="server processes in the second PostgreSQL run")
    parser.add_argument("--py-spy", metavar="FILE", help="record the HTTP server during the mix (FILE.svg, FILE.txt)")
    anyio.run(main, parser.parse_args())
