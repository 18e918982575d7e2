"""Shared fixtures: a real server on a temporary SQLite file, reached through the SDK's in-process client."""

from __future__ import annotations

import inspect
import json
import threading
import time
from collections.abc import AsyncIterator
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every coroutine test runs under anyio without each one carrying the marker.
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, "function", None)):
            item.add_marker(pytest.mark.anyio)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
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
