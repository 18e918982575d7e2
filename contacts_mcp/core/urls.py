"""Outbound HTTP for URLs chosen by others: downloads to import, JSON notifications to deliver.

Both are SSRF vectors (an assistant or a user picks the URL, the server makes the request), so every
request goes through the same rules:

* only http:// and https://, no credentials in the URL (an import's user:password@ is taken out first by
  ``split_credentials`` and sent as basic auth, to the URL's own origin only, never across a redirect to another);
* the host is resolved and EVERY address must be public: loopback, private, link-local (cloud metadata
  at 169.254.169.254), carrier-grade NAT, multicast, reserved, unspecified, IPv6 unique-local and
  link-local, and IPv4 addresses hidden in IPv6 (mapped, compatible, NAT64, 6to4) are refused.
  ``UrlPolicy(allow_private=True)`` (CONTACTS_MCP_ALLOW_PRIVATE_URLS=1) lifts this for tests and
  on-premise use, except for unspecified and multicast addresses, which are never a real server;
* redirects are followed by hand for downloads, each hop vetted again; never followed for POSTs;
* DNS rebinding: the socket connects to an address that was vetted, never to a fresh DNS answer.
  ``_PinnedBackend`` is an httpcore network backend that swaps the hostname for its vetted addresses
  at connect time, while the Host header, TLS SNI and certificate checks still use the hostname.
  httpx offers no public option for the backend, so ``_client`` replaces the transport's httpcore
  pool (``_pool``) with one built on that backend; tests/core/test_urls.py checks it stays in force.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import unquote

import anyio
import httpcore
import httpx

from contacts_mcp.core.errors import InvalidInput, LimitExceeded

ALLOW_PRIVATE_SETTING = "CONTACTS_MCP_ALLOW_PRIVATE_URLS"
MAX_WAIT = 60.0  # seconds: cap on retry backoff and Retry-After
_USER_AGENT = "contacts-mcp"
_IP = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class UrlPolicy:
    allow_private: bool = False
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # per read
    total_timeout: float = 120.0  # whole download, or one POST attempt
    max_redirects: int = 5
    min_rate: float = 1024.0  # bytes a second a download must keep up...
    rate_window: float = 15.0  # ...measured over each window of this many seconds


@dataclass
class Download:
    path: Path
    bytes: int
    content_type: str | None  # the Content-Type header as sent, parameters included
    filename: str | None  # from Content-Disposition, else the last URL path segment, else None


@dataclass
class PostResult:
    delivered: bool
    attempts: int
    status: int | None  # last HTTP status, None if no answer
    error: str | None  # last error text


_USERINFO = re.compile(r"//.*@", re.S)  # greedy: an unparsable URL may hold a user:pa/ss@ of any shape


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without its user:password@ part, and (user, password) percent-decoded, if it had one. What
    is kept of the URL must come from here: the credentials are for the download only, never stored."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise _invalid(url, exc) from None
    if not parsed.userinfo:
        return url, None
    return str(parsed.copy_with(userinfo=b"")), (parsed.username, parsed.password)


def _invalid(url: str | httpx.URL, exc: Exception) -> InvalidInput:
    # The parser's reason may quote a piece of the URL ("Invalid port: 'p'" for user:p/ss@host): not when
    # the URL may hold a user or password.
    why = f" ({exc})" if "@" not in str(url) else ""
    return InvalidInput("url", f"{_shown(url)!r} is not a valid URL{why}; give a full http(s):// URL")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host.lower(), url.port


def _basic(auth: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")


class _Unresolvable(InvalidInput):
    """DNS gave no answer: may be transient, so a POST retries it (unlike a refused address)."""


# --- vetting -------------------------------------------------------------------------------------


def _shown(url: httpx.URL | str) -> str:
    """The URL for messages: never echo credentials, keep it short."""
    try:
        text = str(httpx.URL(url).copy_with(userinfo=b""))
    except (httpx.InvalidURL, TypeError):
        text = _USERINFO.sub("//", str(url))  # unparsable: still no user or password shown
    return text if len(text) <= 200 else text[:197] + "..."


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for, if any: these reach IPv4 hosts, so judge those."""
    if ip.ipv4_mapped:  # ::ffff:a.b.c.d
        return ip.ipv4_mapped
    if ip.sixtofour:  # 2002:aabb:ccdd::/48
        return ip.sixtofour
    value = int(ip)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d, deprecated "IPv4-compatible" (:: and ::1 excluded)
        return ipaddress.IPv4Address(value)
    if value >> 32 == 0x64FF9B << 64:  # 64:ff9b::/96, NAT64 well-known prefix
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")


def _refusal(ip: _IP, allow_private: bool) -> str | None:
    """Why this address may not be contacted ("a loopback address"...), or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)):
        why = _refusal(inner, allow_private)
        return f"which stands for {inner}, {why}" if why else None
    # Never a real server, whatever the setting.
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if allow_private:
        return None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        metadata = " (the cloud metadata endpoint)" if str(ip) == "169.254.169.254" else ""
        return "a link-local address" + metadata
    if ip in _CGNAT:
        return "a carrier-grade NAT (100.64.0.0/10) address"
    if isinstance(ip, ipaddress.IPv6Address) and ip in _UNIQUE_LOCAL:
        return "a unique-local address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "a non-public address"
    return None


async def _resolve(host: str, port: int, policy: UrlPolicy) -> list[str]:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [str(ip)]  # a literal address: nothing to resolve
    infos = []
    with anyio.move_on_after(policy.connect_timeout):
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            pass
    # Keep the resolver's order (it ranks addresses), drop duplicates.
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def _vet(url: str | httpx.URL, policy: UrlPolicy) -> tuple[httpx.URL, list[str]]:
    """The parsed URL and its vetted addresses, or InvalidInput saying what is wrong and how to fix it."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise _invalid(url, exc) from None
    shown = _shown(parsed)
    if parsed.scheme not in ("http", "https"):
        got = f"got {parsed.scheme}://" if parsed.scheme else "no scheme given; add https:// in front"
        raise InvalidInput("url", f"{shown}: only http:// and https:// URLs are accepted ({got})")
    if parsed.userinfo:
        raise InvalidInput("url", f"{shown}: credentials in the URL (user:password@) are not accepted; remove them")
    if not parsed.raw_host:
        raise InvalidInput("url", f"{shown} has no host; give a full URL such as https://example.com/file.csv")
    host = parsed.raw_host.decode("ascii")
    addresses = await _resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80), policy)
    if not addresses:
        raise _Unresolvable("url", f"host {host!r} could not be resolved; check the URL")
    # One bad address is enough: the connection could use any of them.
    for address in addresses:
        ip = ipaddress.ip_address(address)
        why = _refusal(ip, policy.allow_private)
        if why:
            fix = (
                "such addresses are never contacted"
                if _refusal(ip, allow_private=True)  # refused even where private addresses are allowed
                else f"only public addresses are contacted (set {ALLOW_PRIVATE_SETTING}=1 to allow private ones)"
            )
            raise InvalidInput("url", f"{shown} resolves to {address}, {why}; {fix}")
    return parsed, addresses


async def check_url(url: str, policy: UrlPolicy) -> list[str]:
    """Refuse a URL the policy forbids; return the vetted addresses of its host."""
    return (await _vet(url, policy))[1]


# --- pinned connections --------------------------------------------------------------------------


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the addresses vetted for a host, never to what DNS says now (DNS rebinding).

    httpcore still hands the hostname to TLS (SNI, certificate check) and httpx to the Host header.
    """

    def __init__(self) -> None:
        self._pins: dict[str, list[str]] = {}
        self._inner = httpcore.AnyIOBackend()

    def pin(self, url: httpx.URL, addresses: list[str]) -> None:
        self._pins[url.raw_host.decode("ascii").lower()] = addresses

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = self._pins.get(host.lower())
        if not addresses:  # should not happen: refuse rather than resolve an unvetted host
            raise httpcore.ConnectError(f"{host} was not vetted")
        error: Exception | None = None
        for address in addresses:  # the first that answers, like a resolver-driven connect would
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _client(policy: UrlPolicy, backend: _PinnedBackend) -> httpx.AsyncClient:
    # trust_env=False: no proxy from the environment (it would connect instead of us), no .netrc credentials.
    ssl_context = httpx.create_ssl_context(trust_env=False)
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(ssl_context=ssl_context, network_backend=backend)
    timeout = httpx.Timeout(
        connect=policy.connect_timeout, read=policy.read_timeout, write=policy.read_timeout, pool=policy.connect_timeout
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": _USER_AGENT},
    )


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _size(n: int) -> str:
    return f"{n // 2**20} MB" if n >= 2**20 else f"{n} bytes"


# --- download ------------------------------------------------------------------------------------


def _filename(response: httpx.Response) -> str | None:
    """A bare file name (no directory parts, for display and type sniffing), or None."""
    name = None
    if disposition := response.headers.get("content-disposition"):
        message = Message()
        message["content-disposition"] = disposition
        name = message.get_filename()  # handles filename*=UTF-8''... (RFC 2231/6266)
    if not name:
        name = unquote(response.url.path.rsplit("/", 1)[-1])
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name if name not in ("", ".", "..") else None


async def download(url: str, dest: Path, *, max_bytes: int, policy: UrlPolicy,
                   auth: tuple[str, str] | None = None) -> Download:
    """GET url into dest, at most max_bytes; every redirect hop is vetted like the first URL. `auth` (user,
    password) goes as basic auth to the URL's origin only (same scheme, host and port), never elsewhere."""
    backend = _PinnedBackend()
    origin = None
    created = False
    current: str | httpx.URL = url
    try:
        with anyio.fail_after(policy.total_timeout):
            async with _client(policy, backend) as client:
                for hop in range(policy.max_redirects + 1):
                    try:
                        parsed, addresses = await _vet(current, policy)
                    except InvalidInput as exc:
                        if hop == 0:
                            raise
                        problem = str(exc).removeprefix("url: ")
                        raise InvalidInput("url", f"{_shown(url)} redirects to a refused URL: {problem}") from None
                    backend.pin(parsed, addresses)
                    origin = origin or _origin(parsed)
                    # identity: a compressed body could expand far beyond what the size cap sees arriving.
                    headers = {"Accept-Encoding": "identity"}
                    if auth is not None and _origin(parsed) == origin:
                        headers["Authorization"] = _basic(auth)
                    async with client.stream("GET", parsed, headers=headers) as response:
                        if response.is_redirect:
                            current = response.url.join(response.headers["location"])
                            continue
                        if not response.is_success:
                            fix = ("check the user and password in the URL" if auth and response.status_code in
                                   (401, 403) else "check the URL")
                            raise InvalidInput("url", f"{_shown(parsed)} answered HTTP {response.status_code}; {fix}")
                        _refuse_size(response.headers.get("content-length"), max_bytes)
                        created = True
                        received = await _receive(response, dest, max_bytes, policy)
                        return Download(
                            path=dest,
                            bytes=received,
                            content_type=response.headers.get("content-type"),
                            filename=_filename(response),
                        )
                hint = f"{_shown(url)} keeps redirecting; give the final URL of the file."
                raise LimitExceeded("redirects", policy.max_redirects, f"more than {policy.max_redirects}", hint=hint)
    except BaseException as exc:
        _discard(dest, created)
        shown = _shown(current)
        if isinstance(exc, _TooSlow):
            rate = f"{policy.min_rate / 1024:g} KB/s"
            raise InvalidInput("url", f"{shown} sent less than {rate} for {_seconds(policy.rate_window)}; try a "
                                      "faster host, or upload the file") from None
        if isinstance(exc, TimeoutError):  # the total deadline (anyio.fail_after)
            limit = _seconds(policy.total_timeout)
            fix = "try a smaller file or a faster host"
            raise InvalidInput("url", f"{shown} did not finish within {limit}; {fix}") from None
        if isinstance(exc, httpx.TimeoutException):
            raise InvalidInput("url", f"{shown} did not answer within {_timeout_of(exc, policy)}; try again later") from None
        if isinstance(exc, httpx.HTTPError):
            why = str(exc) or type(exc).__name__
            raise InvalidInput("url", f"{shown} could not be fetched ({why}); check the URL") from None
        raise


class _TooSlow(Exception):
    pass


async def _receive(response: httpx.Response, dest: Path, max_bytes: int, policy: UrlPolicy) -> int:
    """The body into dest; returns its size. A host that sends less than policy.min_rate bytes a second
    over any window of policy.rate_window seconds is dropped: a trickle (one byte every few seconds) never
    trips a per-read timeout, and would hold its job for the whole total timeout."""
    received = 0
    slow = False
    async with anyio.create_task_group() as tg:
        async def watch() -> None:
            nonlocal slow
            mark = 0
            while True:
                await anyio.sleep(policy.rate_window)
                if received - mark < policy.min_rate * policy.rate_window:
                    slow = True
                    tg.cancel_scope.cancel()
                    return
                mark = received

        tg.start_soon(watch)
        failed: Exception | None = None
        try:
            os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))  # owner-only, as every job file
            async with await anyio.open_file(dest, "wb") as file:
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > max_bytes:  # stop now, do not drain the rest
                        break
                    await file.write(chunk)
        except Exception as exc:  # noqa: BLE001 - re-raised below, outside the group, as itself
            failed = exc
        tg.cancel_scope.cancel()
    if failed is not None:
        raise failed
    if slow:
        raise _TooSlow
    if received > max_bytes:
        raise _too_big(max_bytes, f"more than {_size(max_bytes)}")
    return received


def _too_big(max_bytes: int, received: str) -> LimitExceeded:
    return LimitExceeded("downloaded file size", _size(max_bytes), received, hint="use a smaller file or split it.")


def _refuse_size(content_length: str | None, max_bytes: int) -> None:
    if content_length and content_length.strip().isdigit() and int(content_length) > max_bytes:
        raise _too_big(max_bytes, _size(int(content_length)))


def _discard(dest: Path, created: bool) -> None:
    if created:  # a file that was there before a failed check is not ours to delete
        dest.unlink(missing_ok=True)


# --- JSON notifications --------------------------------------------------------------------------


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (the HTTP-date form is ignored), for 429 and 503 only."""
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("retry-after", "").strip()
    try:
        return min(max(float(value), 0.0), MAX_WAIT)
    except ValueError:
        return None


async def post_json(
    url: str,
    payload: dict,
    *,
    policy: UrlPolicy,
    attempts: int = 5,
    first_delay: float = 1.0,
    headers: dict[str, str] | None = None,
    sign: Callable[[bytes], dict[str, str]] | None = None,
) -> PostResult:
    """POST payload as JSON, retrying transient failures; never raises once the URL passed its first check.
    `sign` turns the exact body sent into extra headers (a signature of it)."""
    parsed, addresses = await _vet(url, policy)  # InvalidInput here: the caller's URL is wrong
    body = json.dumps(payload, ensure_ascii=False).encode()
    request_headers = {"Content-Type": "application/json", **(headers or {}), **(sign(body) if sign else {})}
    backend = _PinnedBackend()
    status: int | None = None
    error: str | None = None
    delay = first_delay
    made = 0
    async with _client(policy, backend) as client:
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                try:  # DNS may have changed since the last attempt: vet again.
                    parsed, addresses = await _vet(url, policy)
                except _Unresolvable as exc:
                    made, status, error = attempt, None, str(exc)
                    await _pause(attempt, attempts, delay)
                    delay = min(delay * 2, MAX_WAIT)
                    continue
                except InvalidInput as exc:  # now points somewhere refused: stop, do not insist
                    return PostResult(False, made, None, str(exc))
            made = attempt
            backend.pin(parsed, addresses)
            wait = delay
            try:
                with anyio.fail_after(policy.total_timeout):
                    # stream(): the answer's body is never read, so a huge one costs nothing.
                    async with client.stream("POST", parsed, content=body, headers=request_headers) as response:
                        status, error = response.status_code, None
                        if response.is_success:
                            return PostResult(True, attempt, status, None)
                        error = f"HTTP {status}"
                        if response.is_redirect:
                            error += " (redirects are not followed for notifications; give the final URL)"
                            return PostResult(False, attempt, status, error)
                        if status != 429 and status < 500:
                            return PostResult(False, attempt, status, error)  # the request itself is wrong
                        if (after := _retry_after(response)) is not None:
                            wait = after
            except TimeoutError:
                status, error = None, f"no complete answer within {_seconds(policy.total_timeout)}"
            except httpx.TimeoutException as exc:
                status, error = None, f"no answer within {_timeout_of(exc, policy)}"
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            await _pause(attempt, attempts, wait)
            delay = min(delay * 2, MAX_WAIT)
    return PostResult(False, made, status, error)


def _timeout_of(exc: httpx.TimeoutException, policy: UrlPolicy) -> str:
    """The limit that ran out, as text: connecting, or waiting for data."""
    return _seconds(policy.connect_timeout if isinstance(exc, httpx.ConnectTimeout) else policy.read_timeout)


async def _pause(attempt: int, attempts: int, seconds: float) -> None:
    if attempt < attempts:  # no point waiting after the last attempt
        await anyio.sleep(seconds)
