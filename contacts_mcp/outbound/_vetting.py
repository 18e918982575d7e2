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
  pool (``_pool``) with one built on that backend; tests/outbound/test_urls.py checks it stays in force.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpcore
import httpx

from .errors import OutboundError

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


def _invalid(url: str | httpx.URL, exc: Exception) -> OutboundError:
    # The parser's reason may quote a piece of the URL ("Invalid port: 'p'" for user:p/ss@host): not when
    # the URL may hold a user or password.
    why = f" ({exc})" if "@" not in str(url) else ""
    return OutboundError("url", f"{_shown(url)!r} is not a valid URL{why}; give a full http(s):// URL")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host.lower(), url.port


def _basic(auth: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")


class _Unresolvable(OutboundError):
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
    """The parsed URL and its vetted addresses, or OutboundError saying what is wrong and how to fix it."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise _invalid(url, exc) from None
    shown = _shown(parsed)
    if parsed.scheme not in ("http", "https"):
        got = f"got {parsed.scheme}://" if parsed.scheme else "no scheme given; add https:// in front"
        raise OutboundError("url", f"{shown}: only http:// and https:// URLs are accepted ({got})")
    if parsed.userinfo:
        raise OutboundError("url", f"{shown}: credentials in the URL (user:password@) are not accepted; remove them")
    if not parsed.raw_host:
        raise OutboundError("url", f"{shown} has no host; give a full URL such as https://example.com/file.csv")
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
            raise OutboundError("url", f"{shown} resolves to {address}, {why}; {fix}")
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
