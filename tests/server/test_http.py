"""`contacts-mcp serve --http`: streamable HTTP on loopback, reached by the SDK client over real HTTP."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from ..conftest import call

COMMAND = str(Path(sys.executable).parent / "contacts-mcp")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(db: Path | str, *args: str) -> str:
    """Run the CLI on the database (a SQLite file or a postgresql:// URL); returns its standard output."""
    done = subprocess.run([COMMAND, "--db", str(db), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def new_token(db: Path | str, account: str = "local", scope: str = "write", *extra: str) -> str:
    return cli(db, "token", "create", "--account", account, "--scope", scope, *extra).splitlines()[-1]


def connect(port: int, token: str | None) -> Client:
    """An MCP client over real HTTP sending the token as a bearer header."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # A read timeout longer than any wait_seconds a test asks for (httpx's default is 5 s).
    client = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(5, read=90))
    return Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=client))


def start_server(db: Path | str, *extra: str, env: dict[str, str] | None = None,
                 log: Path | None = None) -> tuple[int, subprocess.Popen]:
    """An HTTP server on `db` (a SQLite file or a postgresql:// URL), with `env` added to the environment.
    Its standard error is kept in a pipe, or in the file `log` (a long-lived, busy server would fill a pipe)."""
    port = free_port()
    stderr = log.open("w") if log is not None else subprocess.PIPE
    proc = subprocess.Popen([COMMAND, "serve", "--http", "--port", str(port), "--db", str(db), *extra],
                            stderr=stderr, text=True, env=dict(os.environ, **(env or {})))
    if log is not None:
        stderr.close()  # the child has its own copy

    def said() -> str:
        return log.read_text() if log is not None else proc.stderr.read()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return port, proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(said())
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the server did not listen within 30 s: {said()}")


@pytest.fixture
def http_server(tmp_path):
    db = tmp_path / "http.db"
    cli(db, "account", "list")  # creates and migrates the database
    port, proc = start_server(db)
    yield port, proc, db
    proc.terminate()
    proc.wait(timeout=10)


async def test_the_http_server_serves_tools_at_slash_mcp(http_server):
    port, _, db = http_server
    async with connect(port, new_token(db)) as client:
        created = await call(client, "create_contact", {"contact": {"email": "web@example.com"}})
        assert created["outcome"] == "created"


def test_the_http_server_refuses_a_foreign_host_header(http_server):
    # DNS rebinding: a page served from evil.example resolving to 127.0.0.1 sends its own Host header.
    port, _, _ = http_server
    response = httpx.post(f"http://127.0.0.1:{port}/mcp", headers={"Host": "evil.example",
                                                                   "Content-Type": "application/json",
                                                                   "Accept": "application/json, text/event-stream"},
                          content=b'{"jsonrpc":"2.0","id":1,"method":"ping"}')
    assert response.status_code in (400, 403, 421)


def test_the_http_server_prints_its_url(http_server):
    port, proc, _ = http_server
    proc.terminate()
    proc.wait(timeout=10)
    assert f"http://127.0.0.1:{port}/mcp" in proc.stderr.read()


async def test_an_inline_csv_above_the_sdks_default_body_limit_is_accepted_over_http(http_server):
    port, _, db = http_server
    rows = "email,first_name\n" + "".join(f"big{i}@example.com,{'x' * 40}\n" for i in range(90_000))
    assert 4 * 2**20 < len(rows) < 10 * 2**20
    async with connect(port, new_token(db)) as client:
        job = await call(client, "import_file", {"csv_text": rows})
        assert job["status"] in ("queued", "running", "completed")


def test_the_http_banner_comes_once_the_port_answers_and_names_a_command_that_works(tmp_path):
    db = tmp_path / "banner.db"
    port = free_port()
    proc = subprocess.Popen([COMMAND, "serve", "--http", "--port", str(port), "--db", str(db)],
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        socket.create_connection(("127.0.0.1", port), timeout=1).close()  # already listening when told
        assert f"http://127.0.0.1:{port}/mcp" in line and "make token" in line
        command = proc.stderr.readline().split()
        assert command[0] == COMMAND and command[1:] == ["--db", str(db), "token", "create", "--account", "local",
                                                         "--scope", "write"]
        assert new_token(db).startswith("cmcp_")  # the command shown works as printed
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.startswith("cmcp_")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_make_lint_says_what_is_missing_in_a_clone_without_the_shared_tools(tmp_path):
    import shutil

    repo = Path(__file__).resolve().parents[2]
    shutil.copy(repo / "Makefile", tmp_path / "Makefile")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / ".venv" / ".installed").touch()
    done = subprocess.run(["make", "-s", "lint"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "is not here" in done.stdout
