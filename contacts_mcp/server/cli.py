"""The `contacts-mcp` command.

    contacts-mcp [--read-only]                      serve MCP over stdio (what desktop clients launch)
    contacts-mcp serve --http [--host H] [--port P] serve streamable HTTP at /mcp (API tokens required)
        [--allowed-host H:P ...] [--allowed-origin URL ...] [--rate-limit N]
    contacts-mcp account create NAME | account list
    contacts-mcp token create --account NAME --scope read|write|admin [--expires DAYS]
    contacts-mcp token list [--account NAME] | token revoke TOKEN_ID
    contacts-mcp migrate                            bring the database's schema up to date, then exit
Options everywhere: --db PATH or postgresql://URL (or CONTACTS_MCP_DB), --region CC (or
CONTACTS_MCP_DEFAULT_REGION).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import anyio

from ..core.settings import Settings


def _parser() -> argparse.ArgumentParser:
    def options(default: object) -> argparse.ArgumentParser:
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument("--db", default=default,
                            help="SQLite database file, or a postgresql:// URL (default: $CONTACTS_MCP_DB or a file in the user data dir)")
        common.add_argument("--region", default=default,
                            help="default phone region, e.g. FR (default: $CONTACTS_MCP_DEFAULT_REGION)")
        return common

    # Given before or after the subcommand: a subcommand's own default must not overwrite the value.
    common = options(argparse.SUPPRESS)
    parser = argparse.ArgumentParser(prog="contacts-mcp", parents=[options(None)],
                                     description="Contact-management MCP server (stdio by default).")
    parser.add_argument("--read-only", action="store_true",
                        help="stdio: offer only the read-only tools (or CONTACTS_MCP_READ_ONLY=1)")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", parents=[common], help="serve MCP (stdio, or HTTP with --http)")
    serve.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--allowed-host", action="append", default=[], metavar="HOST:PORT",
                       help="a Host header to accept besides loopback (a real deployment's name); repeatable")
    serve.add_argument("--allowed-origin", action="append", default=[], metavar="URL",
                       help="an Origin header to accept besides loopback; repeatable")
    serve.add_argument("--rate-limit", type=float, help="requests a second per token (default 50; 0 = off)")
    serve.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS,
                       help="offer only the read-only tools")

    sub.add_parser("migrate", parents=[common], help="bring the database's schema up to date (servers also do "
                   "it when they start; run it first when several start at once)")

    account = sub.add_parser("account", parents=[common], help="manage accounts")
    acts = account.add_subparsers(dest="action", required=True)
    acts.add_parser("create", parents=[common], help="create an account").add_argument("name")
    acts.add_parser("list", parents=[common], help="list accounts")

    token = sub.add_parser("token", parents=[common], help="manage API tokens")
    tacts = token.add_subparsers(dest="action", required=True)
    create = tacts.add_parser("create", parents=[common], help="create a token (printed once)")
    create.add_argument("--account", required=True)
    create.add_argument("--scope", required=True, choices=("read", "write", "admin"))
    create.add_argument("--expires", type=int, metavar="DAYS", help="days until it expires (default: never)")
    tacts.add_parser("list", parents=[common], help="list tokens (never their secrets)").add_argument("--account")
    tacts.add_parser("revoke", parents=[common], help="revoke a token at once").add_argument("token_id")
    return parser


async def _admin(settings: Settings, args: argparse.Namespace) -> None:
    from ..core import accounts
    from .lifespan import open_store

    store = await open_store(settings)  # opening migrates
    try:
        if args.command == "migrate":
            print(f"contacts-mcp: the database {settings.database} is up to date")
        elif args.command == "account" and args.action == "create":
            row = await accounts.create_account(store, args.name)
            print(f"account {row['name']} created (id {row['id']})")
        elif args.command == "account":
            for row in await accounts.list_accounts(store):
                print(f"{row['id']}\t{row['name']}\t{row['created_at']}")
        elif args.action == "create":
            token, row = await accounts.create_token(store, args.account, args.scope, args.expires)
            print(f"token {row['id']} for account {row['account']}, scope {row['scope']}, expires "
                  f"{row['expires_at'] or 'never'}. It is shown this once; keep it secret:", file=sys.stderr)
            print(token)
        elif args.action == "list":
            for row in await accounts.list_tokens(store, args.account):
                state = "revoked" if row["revoked_at"] else "active"
                print(f"{row['id']}\t{row['account']}\t{row['scope']}\t{state}\texpires {row['expires_at'] or 'never'}")
        else:
            await accounts.revoke_token(store, args.token_id)
            print(f"token {args.token_id} revoked")
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = Settings.from_env(db_path=args.db, default_region=args.region)
    if getattr(args, "read_only", False):
        settings = dataclasses.replace(settings, read_only=True)
    if getattr(args, "rate_limit", None) is not None:
        settings = dataclasses.replace(settings, rate_limit=args.rate_limit)
    if args.command in ("account", "token", "migrate"):
        from ..core.errors import ContactsError

        try:
            anyio.run(_admin, settings, args)
        except ContactsError as exc:
            print(f"contacts-mcp: {exc}", file=sys.stderr)
            sys.exit(2)
        return
    from .app import build_server  # imported late: `--help` stays fast

    if args.command == "serve" and args.http:
        from .http import serve_http

        from .auth import Verifier

        verifier = Verifier()
        serve_http(build_server(settings, verifier=verifier), verifier, settings, host=args.host, port=args.port, allowed_hosts=args.allowed_host,
                   allowed_origins=args.allowed_origin)
    else:
        from .stdio import run_stdio

        anyio.run(run_stdio, build_server(settings), settings)


if __name__ == "__main__":
    sys.exit(main())
