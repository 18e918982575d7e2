"""The `contacts-mcp` command.

    contacts-mcp                                   serve MCP over stdio (what desktop clients launch)
    contacts-mcp serve --http [--host H] [--port P] serve streamable HTTP at /mcp
Options everywhere: --db PATH (or CONTACTS_MCP_DB), --region CC (or CONTACTS_MCP_DEFAULT_REGION).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

import anyio

from ..core.settings import Settings

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="SQLite database file (default: $CONTACTS_MCP_DB or the user data dir)")
    common.add_argument("--region", help="default phone region, e.g. FR (default: $CONTACTS_MCP_DEFAULT_REGION)")
    parser = argparse.ArgumentParser(prog="contacts-mcp", parents=[common],
                                     description="Contact-management MCP server (stdio by default).")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", parents=[common], help="serve MCP (stdio, or HTTP with --http)")
    serve.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    return parser


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = Settings.from_env(db_path=args.db, default_region=args.region)
    from .app import build_server  # imported late: `--help` stays fast

    server = build_server(settings)
    if args.command == "serve" and args.http:
        from .http import serve_http

        serve_http(server, settings, host=args.host, port=args.port)
    else:
        anyio.run(server.run_stdio_async)


if __name__ == "__main__":
    sys.exit(main())
