"""Streamable HTTP at /mcp: API tokens required, DNS-rebinding protection, a request body limit, a
per-token rate limit and a structured access log.

The ASGI layers, outermost first: access log (every request, even refused ones) -> Host/Origin check ->
export downloads (GET /exports/<job id>, opened by a signed link instead of an API token) -> gate (verified token, rate limits, body cap: before any work is done for a flooding or oversized caller,
see gate.py) -> the SDK's app (Host/Origin checks, bearer-token authentication answering 401 with
WWW-Authenticate, the MCP endpoint).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from starlette.responses import FileResponse
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from .auth import Verifier
from ..core.errors import ContactsError, NotFound
from ..core.exports import files
from ..core.exports.delivery import token_account
from ..core.exports.writers import EXTENSIONS, MEDIA_TYPES
from ..core.settings import Settings
from .gate import Gate, body_limit, client_address

access_log = logging.getLogger("contacts_mcp.access")


def transport_security(port: int, hosts: list[str] = (), origins: list[str] = ()) -> TransportSecuritySettings:
    # A browser page on another origin must not reach the server through a DNS name it controls (DNS
    # rebinding): only loopback Host and Origin values are accepted, plus those the operator names.
    loopback = [f"{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]")]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=[*loopback, *hosts],
                                     allowed_origins=[*(f"http://{h}" for h in loopback), *origins])


def _token_id(scope: dict) -> str | None:
    """For the access log: the public id part of a bearer token (cmcp_<id>_<secret>), never the secret.
    Unverified: the log tells what was presented, the gate decides what it is worth."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            parts = value.decode("latin-1").removeprefix("Bearer ").strip().split("_")
            return parts[1][:12] if len(parts) >= 3 and parts[0] == "cmcp" else "malformed"
    return None


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


async def _refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Downloads:
    """GET /exports/<job id>?token=…: a completed export's file, for whoever holds the signed, short-lived link
    get_jobs gives (core/exports/delivery.py): no API token, so a browser or curl can fetch it, but only that
    job of that account until the link expires."""

    app: Any
    verifier: Verifier

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/exports/"):
            return await self.app(scope, receive, send)
        if scope["method"] not in ("GET", "HEAD"):
            return await _refuse(send, 405, "only GET (or HEAD) downloads an export")
        job_id = scope["path"].removeprefix("/exports/")
        token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        account, state = token_account(token), getattr(self.verifier, "state", None)
        if account is None or state is None:
            return await _refuse(send, 403, "this download link has no valid token; read the export job again "
                                            "(get_jobs) for a fresh link")
        try:
            path, row = await files.download(state.scope(account), job_id, token)
        except files.LinkRefused as exc:
            return await _refuse(send, 403, str(exc))
        except NotFound as exc:
            return await _refuse(send, 404, str(exc))
        except ContactsError as exc:
            return await _refuse(send, 410, str(exc))
        fmt = row["options"]["format"]
        response = FileResponse(path, media_type=MEDIA_TYPES[fmt], filename=f"contacts-{job_id}.{EXTENSIONS[fmt]}",
                                headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
        await response(scope, receive, send)


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
                "client": client_address(scope)}))


def http_app(server: MCPServer, verifier: Verifier, settings: Settings, *, host: str, port: int,
             allowed_hosts: list[str] = (), allowed_origins: list[str] = ()) -> Any:
    security = transport_security(port, allowed_hosts, allowed_origins)
    app = server.streamable_http_app(streamable_http_path="/mcp", host=host, transport_security=security, json_response=True,
                                     max_request_body_size=body_limit(settings))
    return AccessLog(HostCheck(Downloads(Gate(app, server, verifier, settings), verifier), security))


def serve_http(server: MCPServer, verifier: Verifier, settings: Settings, *, host: str, port: int,
               allowed_hosts: list[str] = (), allowed_origins: list[str] = ()) -> None:
    app = http_app(server, verifier, settings, host=host, port=port, allowed_hosts=allowed_hosts,
                   allowed_origins=allowed_origins)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False
    server_ = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))

    async def serve() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server_.serve)
            # Told once the port is bound (uvicorn's `started`), so the URL printed already answers.
            while not server_.started:
                await anyio.sleep(0.05)
            print(banner(host, port, settings), file=sys.stderr, flush=True)

    anyio.run(serve)


def banner(host: str, port: int, settings: Settings) -> str:
    shown = f"[{host}]" if ":" in host else host
    command = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "contacts-mcp" else "contacts-mcp"
    return (f"contacts-mcp: serving MCP at http://{shown}:{port}/mcp (database {settings.database}). Every request "
            f"needs an API token: `make token` in the project folder, or\n  {command} --db {settings.database} token "
            "create --account local --scope write")
