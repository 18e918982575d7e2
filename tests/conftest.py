"""Shared fixtures: a real server on a temporary SQLite file or PostgreSQL database (each end-to-end test runs on
both), reached through the SDK's in-process client."""

from __future__ import annotations

import inspect
import json
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from contacts_mcp.server.lifespan import running
from contacts_mcp.core.scope import AppState
from contacts_mcp.core.settings import Settings
from contacts_mcp.server.app import build_server
from tests import pgcluster


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a test of the SQLite file itself (not run on PostgreSQL)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every coroutine test runs under anyio without each one carrying the marker.
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, "function", None)):
            item.add_marker(pytest.mark.anyio)
    # A test of the SQLite file itself has no PostgreSQL counterpart: deselected, not skipped.
    dropped = [item for item in items if item.get_closest_marker("sqlite_only")
               and getattr(item, "callspec", None) and item.callspec.params.get("backend") == "postgres"]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


BACKENDS = ("sqlite", "postgres")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test through `settings` (so every end-to-end test) runs on both backends.
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS)


@pytest.fixture
def backend() -> str:
    return "sqlite"  # replaced by pytest_generate_tests' parameter


@pytest.fixture
def settings(tmp_path: Path, backend: str, request) -> Settings:
    if backend == "postgres":
        return Settings(db_path=tmp_path / "contacts.db", db_url=request.getfixturevalue("pg_url"),
                        files_dir=tmp_path / "files", export_dir=tmp_path / "exports", default_region="FR")
    return Settings(db_path=tmp_path / "contacts.db", default_region="FR")


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(settings)) as c:
        yield c


@pytest.fixture
def client_with(settings: Settings):
    """A client on a server with some settings changed, e.g. client_with(import_roots=(tmp_path,))."""
    from contextlib import asynccontextmanager
    from dataclasses import replace

    @asynccontextmanager
    async def make(**changes: Any) -> AsyncIterator[Client]:
        async with Client(build_server(replace(settings, **changes))) as c:
            yield c

    return make


@pytest.fixture
async def state(settings: Settings) -> AsyncIterator[AppState]:
    """The core without MCP in between, for tests of core rules."""
    async with running(settings) as app:
        yield app


@contextmanager
def raw_db(settings: Settings) -> Iterator[Any]:
    """The test's database itself (either backend, `?` placeholders, autocommit), for what no tool shows or
    sets: an audit row, a token's expiry moved into the past."""
    if settings.db_url is None:
        conn = sqlite3.connect(settings.db_path, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()
        return
    import psycopg

    from contacts_mcp.storage.postgres.connection import Connection, configure

    raw = psycopg.connect(settings.db_url, autocommit=True, options="-c TimeZone=UTC")
    configure(raw)
    try:
        yield Connection(raw)
    finally:
        raw.close()


@pytest.fixture(scope="session")
def pg_cluster() -> pgcluster.Cluster:
    """A throwaway PostgreSQL cluster for the session (tests/pgcluster.py); skipped when not installed."""
    cluster = pgcluster.shared_cluster()
    if cluster is None:
        if pgcluster.required():
            pytest.fail(pgcluster.missing_required(), pytrace=False)
        pgcluster.skipped = True
        pytest.skip("no PostgreSQL server binaries")
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: pgcluster.Cluster):
    """The URL of a fresh empty database, dropped after the test."""
    with pg_cluster.fresh_database() as url:
        yield url


def pytest_terminal_summary(terminalreporter) -> None:
    if pgcluster.skipped:
        terminalreporter.write_line(pgcluster.MISSING)


class ToolFailed(AssertionError):
    pass


async def call(client: Client, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a tool that must succeed; returns its structured content."""
    result = await client.call_tool(name, args or {})
    if result.is_error:
        raise ToolFailed(f"{name} failed: {result.content[0].text}")
    return result.structured_content


async def fails(client: Client, name: str, args: dict[str, Any] | None = None) -> str:
    """Call a tool that must fail; returns the error text the model would read."""
    result = await client.call_tool(name, args or {})
    assert result.is_error, f"{name} should have failed but returned {result.structured_content}"
    return result.content[0].text


class Received(list):
    """Bodies POSTed, decoded; `raw` keeps each one's headers and bytes (for signatures)."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[tuple[dict, bytes]] = []


@pytest.fixture
def http_files():
    """A loopback HTTP server: GET /contacts.csv serves a file; POST /hook records notifications."""
    received = Received()
    failures = {"left": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"email\nweb@example.com\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            data = self.rfile.read(int(self.headers["Content-Length"]))
            if failures["left"]:
                failures["left"] -= 1
                self.send_response(500)
                self.end_headers()
                return
            received.append(json.loads(data))
            received.raw.append((dict(self.headers), data))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received, failures
    server.shutdown()


class _Trickle(BaseHTTPRequestHandler):
    """One byte every half second, for as long as the client listens (a host sending 1 byte every 5 s, faster)."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(120):
                self.wfile.write(b"e")
                self.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def trickle():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slow.csv"
    server.shutdown()

