"""Streamable HTTP transport at /mcp, with DNS-rebinding protection on loopback."""

from __future__ import annotations

import sys

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from ..core.settings import Settings


def loopback_security(port: int) -> TransportSecuritySettings:
    # A browser page on another origin must not reach a server bound to loopback through a DNS name
    # it controls (DNS rebinding): only loopback Host and Origin values are accepted.
    hosts = [f"{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]")]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                     allowed_origins=[f"http://{h}" for h in hosts])


def body_limit(settings: Settings) -> int:
    """The largest request a legal call can make: a file at the upload limit, base64-encoded (4/3), or an
    inline body at its limit, plus room for the JSON-RPC envelope. The SDK's default (4 MB) would refuse
    imports the tools accept."""
    return max(settings.max_file_bytes * 4 // 3, settings.max_inline_bytes) + 1024 * 1024


def serve_http(server: MCPServer, settings: Settings, *, host: str, port: int) -> None:
    app = server.streamable_http_app(streamable_http_path="/mcp", transport_security=loopback_security(port),
                                     host=host, max_request_body_size=body_limit(settings))
    shown = f"[{host}]" if ":" in host else host
    print(f"contacts-mcp: serving MCP at http://{shown}:{port}/mcp (database {settings.db_path})",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
