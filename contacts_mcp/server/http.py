"""Streamable HTTP at /mcp: API tokens required, DNS-rebinding protection, a request body limit, a
per-token rate limit and a structured access log.

The ASGI layers, outermost first: access log (every request, even refused ones) -> Host/Origin check ->
rate limit (before any work is done for a flooding caller) -> the SDK's app (Host/Origin checks, bearer-token
authentication answering 401 with WWW-Authenticate, the MCP endpoint).
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from ..core.settings import Settings

access_log = logging.getLogger("contacts_mcp.access")


def transport_security(port: int, hosts: list[str] = (), origins: list[str] = ()) -> TransportSecuritySettings:
    # A browser page on another origin must not reach the server through a DNS name it controls (DNS
    # rebinding): only loopback Host and Origin values are accepted, plus those the operator names.
    loopback = [f"{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]")]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=[*loopback, *hosts],
                                     allowed_origins=[*(f"http://{h}" for h in loopback), *origins])


def body_limit(settings: Settings) -> int:
    """The largest request a legal call can make: a file at the upload limit, base64-encoded (4/3), or an
    inline body at its limit, plus room for the JSON-RPC envelope. The SDK's default (4 MB) would refuse
    imports the tools accept."""
    return max(settings.max_file_bytes * 4 // 3, settings.max_inline_bytes) + 1024 * 1024


def _token_id(scope: dict) -> str | None:
    """The public id part of a bearer token (cmcp_<id>_<secret>), never the secret; worked out once per
    request (the rate limit and the access log both want it)."""
    if "contacts_mcp.token_id" not in scope:
        found = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                parts = value.decode("latin-1").removeprefix("Bearer ").strip().split("_")
                found = parts[1][:12] if len(parts) >= 3 and parts[0] == "cmcp" else "malformed"
                break
        scope["contacts_mcp.token_id"] = found
    return scope["contacts_mcp.token_id"]


def _client(scope: dict) -> str:
    client = scope.get("client")
    return client[0] if client else "-"


@dataclass
class RateLimit:
    """Token bucket per API token (per client address without one): `rate` requests a second on average,
    bursts up to `burst`; beyond, 429 with Retry-After."""

    app: Any
    rate: float
    burst: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.rate <= 0:
            return await self.app(scope, receive, send)
        key = _token_id(scope) or f"ip:{_client(scope)}"
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            wait = math.ceil((1 - tokens) / self.rate)
            body = json.dumps({"error": "rate_limited", "error_description":
                               f"more than {self.rate:g} requests a second for this token; retry in {wait} s"}).encode()
            await send({"type": "http.response.start", "status": 429, "headers": [
                (b"content-type", b"application/json"), (b"retry-after", str(wait).encode()),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return None
        self._buckets[key] = (tokens - 1, now)
        if len(self._buckets) > 10_000:  # forget idle callers: the table must not grow without bound
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
        return await self.app(scope, receive, send)


@dataclass
class HostCheck:
    """Host and Origin checked before anything else (authentication included): a rebinding page is told
    no without learning whether a token would have been accepted. The SDK checks them again inside."""

    app: Any
    security: TransportSecuritySettings

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k: v.decode("latin-1") for k, v in scope.get("headers", ())}
            host, origin = headers.get(b"host", ""), headers.get(b"origin")
            status = 421 if host not in self.security.allowed_hosts else (
                403 if origin is not None and origin not in self.security.allowed_origins else 0)
            if status:
                body = b'{"error": "this Host or Origin is not allowed (see --allowed-host / --allowed-origin)"}'
                await send({"type": "http.response.start", "status": status, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return None
        return await self.app(scope, receive, send)


@dataclass
class AccessLog:
    """One JSON line per request: time, method, path, status, duration, token id, client address. No
    token secret, no body, no contact data."""

    app: Any

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = {"code": 500}

        async def record(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            access_log.info(json.dumps({
                "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "method": scope.get("method"),
                "path": scope.get("path"), "status": status["code"],
                "ms": round((time.perf_counter() - start) * 1000, 1), "token": _token_id(scope),
                "client": _client(scope)}))


def http_app(server: MCPServer, settings: Settings, *, host: str, port: int, allowed_hosts: list[str] = (),
             allowed_origins: list[str] = ()) -> Any:
    security = transport_security(port, allowed_hosts, allowed_origins)
    app = server.streamable_http_app(streamable_http_path="/mcp", host=host, transport_security=security, json_response=True,
                                     max_request_body_size=body_limit(settings))
    limited = RateLimit(app, rate=settings.rate_limit, burst=max(settings.rate_limit * 2, 20))
    return AccessLog(HostCheck(limited, security))


def serve_http(server: MCPServer, settings: Settings, *, host: str, port: int, allowed_hosts: list[str] = (),
               allowed_origins: list[str] = ()) -> None:
    app = http_app(server, settings, host=host, port=port, allowed_hosts=allowed_hosts,
                   allowed_origins=allowed_origins)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False
    shown = f"[{host}]" if ":" in host else host
    print(f"contacts-mcp: serving MCP at http://{shown}:{port}/mcp (database {settings.db_path}); every request "
          f"needs an API token (contacts-mcp token create)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="on")
