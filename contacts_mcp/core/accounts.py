"""Accounts and API tokens: who may call the HTTP server, for which account, with which scope.

A token reads `cmcp_<id>_<secret>`. The id is public and finds the row; only a SHA-256 of the secret
is stored, and it is compared in constant time, so neither a database leak nor response timing gives a
usable token away. Scopes: `read` calls read-only tools and reads resources; `write` calls every tool;
`admin` is write plus account administration (done with the CLI). Revoking takes effect at the next
request: every request looks its token up.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from ..storage.api import Accounts, Store
from .errors import Conflict, InvalidInput, NotFound
from .normalize import format_ts, utc_now

TokenScope = Literal["read", "write", "admin"]
SCOPES: tuple[str, ...] = ("read", "write", "admin")
_TOKEN = re.compile(r"cmcp_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{20,100})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def allows(scope: str, needed: TokenScope) -> bool:
    return SCOPES.index(scope) >= SCOPES.index(needed)


async def create_account(store: Store, name: str) -> dict[str, Any]:
    if not _NAME.fullmatch(name):
        raise InvalidInput("name", "1 to 64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit")

    def unit(a: Accounts) -> dict[str, Any]:
        if a.account_by_name(name):
            raise Conflict(f"an account named {name!r} already exists")
        now = utc_now()
        return {"id": a.create_account(name, now), "name": name, "created_at": now}

    return await store.admin(unit)


async def list_accounts(store: Store) -> list[dict[str, Any]]:
    return await store.admin(lambda a: a.accounts(), write=False)


async def create_token(store: Store, account: str, scope: str, expires_days: int | None) -> tuple[str, dict[str, Any]]:
    """A new token for the account: the token itself (shown once, never stored) and its row."""
    if scope not in SCOPES:
        raise InvalidInput("scope", f"must be one of {', '.join(SCOPES)}")
    if expires_days is not None and expires_days < 1:
        raise InvalidInput("expires", "days must be 1 or more")
    token_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    secret = secrets.token_urlsafe(32)
    now = datetime.now(timezone.utc)
    expires = format_ts(now + timedelta(days=expires_days)) if expires_days else None

    def unit(a: Accounts) -> dict[str, Any]:
        created = format_ts(now)
        a.insert_token(token_id, _account_id(a, account), scope, _hash(secret), created, expires)
        # The row as `token list` shows it.
        return {"id": token_id, "account": account, "scope": scope, "created_at": created, "expires_at": expires,
                "revoked_at": None}

    row = await store.admin(unit)
    return f"cmcp_{token_id}_{secret}", row


async def list_tokens(store: Store, account: str | None) -> list[dict[str, Any]]:
    def unit(a: Accounts) -> list[dict[str, Any]]:
        return a.tokens(None if account is None else _account_id(a, account))

    return await store.admin(unit, write=False)


def _account_id(a: Accounts, name: str) -> int:
    row = a.account_by_name(name)
    if row is None:
        raise NotFound("account", [name], "List accounts with: contacts-mcp account list; create one with: "
                                          "contacts-mcp account create NAME")
    return row["id"]


async def revoke_token(store: Store, token_id: str) -> None:
    token_id = token_id.removeprefix("cmcp_").split("_")[0]

    def unit(a: Accounts) -> None:
        if a.token(token_id) is None:
            raise NotFound("token id", [token_id], "List tokens with: contacts-mcp token list")
        a.revoke_token(token_id, utc_now())

    await store.admin(unit)  # the tokens version it raises makes every server forget the tokens it verified



def parse_token(token: str) -> tuple[str, str] | None:
    """(token id, secret) of a well-formed token, else None."""
    match = _TOKEN.fullmatch(token.strip())
    return (match.group(1), match.group(2)) if match else None


def token_row(store: Store, token_id: str) -> dict[str, Any] | None:
    """The token's row (a primary-key lookup run at once, no thread hop), with `expires_epoch`."""
    row = store.token(token_id)
    if row is not None:
        row["expires_epoch"] = int(datetime.fromisoformat(row["expires_at"].replace("Z", "+00:00"))
                                   .timestamp()) if row["expires_at"] else None
    return row


def secret_matches(row: dict[str, Any] | None, secret: str) -> bool:
    """Compared even when the id is unknown (row None), so the time taken does not tell ids apart."""
    expected = row["secret_hash"] if row else _hash("")
    return hmac.compare_digest(expected, _hash(secret)) and row is not None
