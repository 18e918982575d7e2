"""SSRF-safe downloads and notifications, against a real HTTP server on 127.0.0.1.

The server is on loopback, so tests that expect success use UrlPolicy(allow_private=True); tests of
refusal use the default policy.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore
import pytest

from contacts_mcp.outbound import OutboundError, OutboundLimit, UrlPolicy, check_url, download, post_json
from contacts_mcp.outbound import _transfer, _vetting

# Explicit as well as conftest's automatic marker: parametrized coroutine tests need it at collection time.
pytestmark = pytest.mark.anyio

LOCAL = UrlPolicy(allow_private=True, connect_timeout=2, read_timeout=0.3, total_timeout=5)
CSV = b"name,email\nAda,ada@example.com\n"


class Handler(BaseHTTPRequestHandler):
    calls: Counter = Counter()  # path -> requests seen
    posts: list = []  # (path, headers, body)

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path
        Handler.calls[path] += 1
        if path == "/files/contacts.csv":
            self._send(200, CSV, {"Content-Type": "text/csv; charset=utf-8"})
        elif path == "/export":
            disposition = "attachment; filename*=UTF-8''carnet%20d%C3%A9t%C3%A9.vcf"
            self._send(200, b"BEGIN:VCARD\n", {"Content-Disposition": disposition})
        elif path == "/host":
            self._send(200, self.headers["Host"].encode())
        elif path == "/big":  # no Content-Length: only counting what arrives can stop it
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b"x" * 65536)
            except OSError:
                pass
        elif path == "/declared-big":  # refused on the header alone, before any body
            self._send(200, headers={"Content-Length": str(10**9)})
        elif path == "/redirect":
            self._send(302, headers={"Location": "/files/contacts.csv"})
        elif path == "/loop":
            self._send(302, headers={"Location": "/loop"})
        elif path.startswith("/redirect-to?"):
            self._send(302, headers={"Location": path.split("?", 1)[1]})
        elif path == "/slow":
            time.sleep(1)
            self._send(200, b"late")
        elif path == "/trickle":
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(40):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
        else:
            self._send(404, b"not here")

    def do_POST(self) -> None:
        path = self.path
        Handler.calls[path] += 1
        n = Handler.calls[path]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Handler.posts.append((path, dict(self.headers), body))
        if path.startswith("/flaky"):
            self._send(500 if n <= 2 else 200)
        elif path.startswith("/down"):
            self._send(503)
        elif path.startswith("/bad"):
            self._send(400)
        elif path.startswith("/throttle"):
            self._send(429, headers={"Retry-After": "0"}) if n == 1 else self._send(204)
        elif path.startswith("/moved"):
            self._send(301, headers={"Location": "/hook"})
        elif path.startswith("/slow"):
            time.sleep(1)
            self._send(200)
        else:
            self._send(200)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # clients that gave up (timeouts, size cap) leave broken pipes behind: expected here


@pytest.fixture(scope="module")
def base() -> str:
    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- check_url: refusals without network ---------------------------------------------------------


@pytest.mark.parametrize(
    "url, kind",
    [
        ("http://127.0.0.1:8080/x", "127.0.0.1, a loopback address"),
        ("http://[::1]/", "::1, a loopback address"),
        ("http://10.0.0.1/", "a private address"),
        ("http://192.168.1.20/", "a private address"),
        ("http://169.254.169.254/latest/meta-data/", "the cloud metadata endpoint"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://[::ffff:127.0.0.1]/", "stands for 127.0.0.1, a loopback address"),
        ("http://[::ffff:169.254.169.254]/", "the cloud metadata endpoint"),
        ("http://[fd12::1]/", "a unique-local address"),
        ("http://[fe80::1]/", "a link-local address"),
        ("http://240.0.0.1/", "a reserved address"),
    ],
)
async def test_non_public_addresses_are_refused_by_default(url, kind):
    with pytest.raises(OutboundError) as err:
        await check_url(url, UrlPolicy())
    message = str(err.value)
    assert message.startswith(f"url: {url.rstrip('/')}") and kind in message
    assert "CONTACTS_MCP_ALLOW_PRIVATE_URLS=1" in message


async def test_the_example_message_reads_as_documented():
    with pytest.raises(OutboundError) as err:
        await check_url("http://127.0.0.1:8080/x", UrlPolicy())
    assert str(err.value) == (
        "url: http://127.0.0.1:8080/x resolves to 127.0.0.1, a loopback address; only public addresses are "
        "contacted (set CONTACTS_MCP_ALLOW_PRIVATE_URLS=1 to allow private ones)"
    )


@pytest.mark.parametrize("url", ["http://0.0.0.0/", "http://[::]/", "http://224.0.0.1/"])
async def test_unspecified_and_multicast_are_refused_even_when_private_is_allowed(url):
    for policy in (UrlPolicy(), LOCAL):
        with pytest.raises(OutboundError, match="never contacted"):
            await check_url(url, policy)


async def test_private_addresses_pass_when_allowed():
    assert await check_url("http://127.0.0.1:9/x", LOCAL) == ["127.0.0.1"]
    assert await check_url("http://[::ffff:10.0.0.1]/", LOCAL) == ["::ffff:a00:1"]


@pytest.mark.parametrize(
    "url, says",
    [
        ("ftp://example.com/contacts.csv", "only http:// and https:// URLs are accepted (got ftp://)"),
        ("file:///etc/passwd", "(got file://)"),
        ("example.com/contacts.csv", "add https:// in front"),
        ("http:///nohost", "has no host"),
    ],
)
async def test_other_schemes_and_malformed_urls_are_refused(url, says):
    with pytest.raises(OutboundError) as err:
        await check_url(url, LOCAL)
    assert says in str(err.value)


async def test_credentials_in_the_url_are_refused_and_never_echoed():
    with pytest.raises(OutboundError) as err:
        await check_url("https://alice:s3cret@example.com/x.csv", LOCAL)
    assert "credentials" in str(err.value) and "s3cret" not in str(err.value)


async def test_a_hostname_resolving_to_loopback_is_refused():
    with pytest.raises(OutboundError, match="localhost.* resolves to .*a loopback address"):
        await check_url("http://localhost/", UrlPolicy())


async def test_numeric_host_tricks_are_caught_by_resolution():
    # 2130706433 is 127.0.0.1 to the system resolver; the resolved address is what gets checked.
    with pytest.raises(OutboundError, match="resolves to 127.0.0.1"):
        await check_url("http://2130706433/", UrlPolicy())


async def test_every_resolved_address_must_be_allowed(monkeypatch):
    async def resolve(host, port, policy):
        return ["8.8.8.8", "10.1.2.3"]

    monkeypatch.setattr(_vetting, "_resolve", resolve)
    with pytest.raises(OutboundError, match="resolves to 10.1.2.3, a private address"):
        await check_url("https://mixed.example/", UrlPolicy())


async def test_an_unresolvable_host_is_reported():
    with pytest.raises(OutboundError) as err:
        await check_url("http://no-such-host.invalid/x", UrlPolicy())
    assert str(err.value) == "url: host 'no-such-host.invalid' could not be resolved; check the URL"


# --- download ------------------------------------------------------------------------------------


async def test_download_saves_the_file(base, tmp_path):
    got = await download(f"{base}/files/contacts.csv", tmp_path / "in.csv", max_bytes=10_000, policy=LOCAL)
    assert got.path.read_bytes() == CSV and got.bytes == len(CSV)
    assert got.content_type == "text/csv; charset=utf-8" and got.filename == "contacts.csv"


async def test_download_takes_the_filename_from_content_disposition(base, tmp_path):
    got = await download(f"{base}/export", tmp_path / "in", max_bytes=10_000, policy=LOCAL)
    assert got.filename == "carnet dété.vcf"


async def test_download_is_refused_by_default_on_loopback(base, tmp_path):
    with pytest.raises(OutboundError, match="a loopback address"):
        await download(f"{base}/files/contacts.csv", tmp_path / "in.csv", max_bytes=10_000, policy=UrlPolicy())
    assert not (tmp_path / "in.csv").exists()


async def test_a_refused_url_leaves_an_existing_file_alone(tmp_path):
    dest = tmp_path / "keep.csv"
    dest.write_text("mine")
    with pytest.raises(OutboundError):
        await download("ftp://example.com/x", dest, max_bytes=10, policy=LOCAL)
    assert dest.read_text() == "mine"


async def test_the_size_cap_stops_the_download_and_leaves_no_file(base, tmp_path):
    dest = tmp_path / "big.bin"
    with pytest.raises(OutboundLimit) as err:
        await download(f"{base}/big", dest, max_bytes=100_000, policy=LOCAL)
    assert str(err.value).startswith("downloaded file size: at most 100000 bytes allowed, received more than")
    assert not dest.exists()


async def test_a_declared_size_over_the_cap_is_refused_before_reading(base, tmp_path):
    with pytest.raises(OutboundLimit) as err:
        await download(f"{base}/declared-big", tmp_path / "x", max_bytes=2 * 2**20, policy=LOCAL)
    assert "at most 2 MB allowed, received 953 MB" in str(err.value)
    assert not (tmp_path / "x").exists()


async def test_redirects_are_followed(base, tmp_path):
    got = await download(f"{base}/redirect", tmp_path / "r.csv", max_bytes=10_000, policy=LOCAL)
    assert got.path.read_bytes() == CSV and got.filename == "contacts.csv"


@pytest.mark.parametrize(
    "target, says",
    [
        ("ftp://example.com/x.csv", "got ftp://"),
        ("file:///etc/passwd", "got file://"),
        ("http://0.0.0.0/x", "the unspecified address"),
        ("http://u:p@example.com/", "credentials"),
    ],
)
async def test_every_redirect_hop_is_checked_again(base, tmp_path, target, says):
    with pytest.raises(OutboundError) as err:
        await download(f"{base}/redirect-to?{target}", tmp_path / "x", max_bytes=10_000, policy=LOCAL)
    assert "redirects to a refused URL" in str(err.value) and says in str(err.value)
    assert not (tmp_path / "x").exists()


async def test_a_public_url_redirecting_to_loopback_is_refused(base, tmp_path, monkeypatch):
    # Stand-in for a public server: the first hop is let through as if public, later hops face the real rules.
    real_vet, seen = _vetting._vet, []

    async def vet(url, policy):
        seen.append(str(url))
        if len(seen) == 1:
            return _vetting.httpx.URL(url), ["127.0.0.1"]
        return await real_vet(url, policy)

    monkeypatch.setattr(_transfer, "_vet", vet)
    fetched_before = Handler.calls["/files/contacts.csv"]
    with pytest.raises(OutboundError) as err:
        await download(f"{base}/redirect", tmp_path / "x", max_bytes=10_000, policy=UrlPolicy())
    assert "redirects to a refused URL" in str(err.value) and "a loopback address" in str(err.value)
    assert seen == [f"{base}/redirect", f"{base}/files/contacts.csv"]
    assert Handler.calls["/files/contacts.csv"] == fetched_before  # the redirect target was never requested


async def test_too_many_redirects_are_refused(base, tmp_path):
    with pytest.raises(OutboundLimit, match="redirects: at most 2 allowed"):
        policy = UrlPolicy(allow_private=True, max_redirects=2)
        await download(f"{base}/loop", tmp_path / "x", max_bytes=10, policy=policy)


async def test_a_missing_file_gives_a_clear_error(base, tmp_path):
    with pytest.raises(OutboundError) as err:
        await download(f"{base}/nope.csv", tmp_path / "x", max_bytes=10_000, policy=LOCAL)
    assert str(err.value) == f"url: {base}/nope.csv answered HTTP 404; check the URL"
    assert not (tmp_path / "x").exists()


async def test_a_silent_server_times_out(base, tmp_path):
    with pytest.raises(OutboundError, match=r"did not answer within 0.3 s"):
        await download(f"{base}/slow", tmp_path / "x", max_bytes=10_000, policy=LOCAL)


async def test_the_whole_download_has_a_deadline(base, tmp_path):
    policy = UrlPolicy(allow_private=True, read_timeout=1, total_timeout=0.4)
    with pytest.raises(OutboundError, match=r"did not finish within 0.4 s"):
        await download(f"{base}/trickle", tmp_path / "x", max_bytes=10_000, policy=policy)
    assert not (tmp_path / "x").exists()


async def test_an_unreachable_server_gives_a_clear_error(tmp_path):
    with pytest.raises(OutboundError, match="could not be fetched"):
        await download(f"http://127.0.0.1:{closed_port()}/x", tmp_path / "x", max_bytes=10, policy=LOCAL)


# --- DNS rebinding: connections go to the vetted address ------------------------------------------


async def test_the_connection_uses_the_vetted_address_and_keeps_the_host_name(base, tmp_path, monkeypatch):
    # "rebind.test" exists in no DNS: the request can only succeed by connecting to the address vetted
    # for it, while the Host header still names the host.
    port = base.rsplit(":", 1)[1]

    async def resolve(host, port, policy):
        return ["127.0.0.1"] if host == "rebind.test" else []

    monkeypatch.setattr(_vetting, "_resolve", resolve)
    got = await download(f"http://rebind.test:{port}/host", tmp_path / "h", max_bytes=100, policy=LOCAL)
    assert got.path.read_text() == f"rebind.test:{port}"


async def test_the_pinned_backend_refuses_a_host_it_was_not_given():
    with pytest.raises(httpcore.ConnectError, match="not vetted"):
        await _vetting._PinnedBackend().connect_tcp("elsewhere.example", 80)


async def test_the_client_really_uses_the_pinned_backend():
    # The pinning relies on replacing httpx's private transport pool: fail loudly if httpx changes.
    backend = _vetting._PinnedBackend()
    async with _vetting._client(LOCAL, backend) as client:
        assert client._transport._pool._network_backend is backend


# --- post_json -----------------------------------------------------------------------------------


async def test_post_is_delivered_after_two_server_errors(base):
    result = await post_json(f"{base}/flaky", {"job": 7, "name": "Zoë"}, policy=LOCAL, first_delay=0.01,
                             headers={"X-Signature": "abc"})
    assert result == _vetting.PostResult(delivered=True, attempts=3, status=200, error=None)
    assert Handler.calls["/flaky"] == 3
    path, headers, body = Handler.posts[-1]
    assert json.loads(body) == {"job": 7, "name": "Zoë"}
    assert headers["Content-Type"] == "application/json" and headers["X-Signature"] == "abc"


async def test_post_gives_up_after_the_attempts_without_raising(base):
    result = await post_json(f"{base}/down", {}, policy=LOCAL, attempts=3, first_delay=0.01)
    assert result == _vetting.PostResult(delivered=False, attempts=3, status=503, error="HTTP 503")
    assert Handler.calls["/down"] == 3


async def test_a_client_error_is_not_retried(base):
    result = await post_json(f"{base}/bad", {}, policy=LOCAL, first_delay=0.01)
    assert (result.delivered, result.attempts, result.status) == (False, 1, 400)
    assert Handler.calls["/bad"] == 1


async def test_429_is_retried_honouring_retry_after(base):
    started = time.monotonic()
    result = await post_json(f"{base}/throttle", {}, policy=LOCAL, first_delay=30)  # Retry-After: 0 wins
    assert (result.delivered, result.attempts, result.status) == (True, 2, 204)
    assert time.monotonic() - started < 5


async def test_redirects_are_not_followed_for_post(base):
    result = await post_json(f"{base}/moved", {}, policy=LOCAL, first_delay=0.01)
    assert (result.delivered, result.attempts, result.status) == (False, 1, 301)
    assert "not followed" in result.error and Handler.calls["/hook"] == 0


async def test_connection_failures_are_retried_then_reported():
    url = f"http://127.0.0.1:{closed_port()}/x"
    result = await post_json(url, {}, policy=LOCAL, attempts=2, first_delay=0.01)
    assert (result.delivered, result.attempts, result.status) == (False, 2, None)
    assert "ConnectError" in result.error


async def test_a_slow_endpoint_counts_as_a_failed_attempt(base):
    result = await post_json(f"{base}/slow", {}, policy=LOCAL, attempts=1)
    assert (result.delivered, result.status, result.error) == (False, None, "no answer within 0.3 s")


async def test_post_raises_only_for_a_url_refused_before_the_first_attempt(base):
    with pytest.raises(OutboundError, match="a loopback address"):
        await post_json(f"{base}/hook", {}, policy=UrlPolicy())
    with pytest.raises(OutboundError, match="got ftp://"):
        await post_json("ftp://example.com/hook", {}, policy=LOCAL)


async def test_post_stops_when_the_host_turns_private_between_attempts(base, monkeypatch):
    # DNS rebinding between retries: the second check refuses, and nothing is sent there.
    answers = iter([["93.184.216.34"], ["10.0.0.5"]])

    async def resolve(host, port, policy):
        return next(answers)

    async def fail_connect(self, *args, **kwargs):
        raise httpcore.ConnectError("unreachable in tests")

    monkeypatch.setattr(_vetting, "_resolve", resolve)
    monkeypatch.setattr(_vetting._PinnedBackend, "connect_tcp", fail_connect)
    result = await post_json("https://hooks.example/x", {}, policy=UrlPolicy(), attempts=5, first_delay=0.01)
    assert (result.delivered, result.attempts, result.status) == (False, 1, None)
    assert "resolves to 10.0.0.5, a private address" in result.error
