"""Accounts and API tokens: administration across accounts, so plain functions of a connection (not an
account-bound session, like every other query)."""

from __future__ import annotations

import sqlite3
from typing import Any


def _rows(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(sql, params).fetchall()]


def create_account(conn: sqlite3.Connection, name: str, now: str) -> int:
    return conn.execute("INSERT INTO accounts (name, created_at) VALUES (?, ?) RETURNING id", [name, now]).fetchall()[0][0]


def accounts(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return _rows(conn, "SELECT id, name, created_at FROM accounts ORDER BY id", [])


def account_by_name(conn: sqlite3.Connection, name: str) -> dict[str, Any] | None:
    rows = _rows(conn, "SELECT id, name, created_at FROM accounts WHERE name = ?", [name])
    return rows[0] if rows else None


def insert_token(conn: sqlite3.Connection, token_id: str, account_id: int, scope: str, secret_hash: str, now: str,
                 expires_at: str | None) -> None:
    conn.execute("INSERT INTO api_tokens (id, account_id, scope, secret_hash, created_at, expires_at) "
                 "VALUES (?, ?, ?, ?, ?, ?)", [token_id, account_id, scope, secret_hash, now, expires_at])


def tokens(conn: sqlite3.Connection, account_id: int | None) -> list[dict[str, Any]]:
    where, params = ("WHERE t.account_id = ?", [account_id]) if account_id is not None else ("", [])
    return _rows(conn, f"SELECT t.id, a.name AS account, t.scope, t.created_at, t.expires_at, t.revoked_at "
                       f"FROM api_tokens t JOIN accounts a ON a.id = t.account_id {where} "
                       f"ORDER BY t.created_at", params)


def token(conn: sqlite3.Connection, token_id: str) -> dict[str, Any] | None:
    rows = _rows(conn, "SELECT * FROM api_tokens WHERE id = ?", [token_id])
    return rows[0] if rows else None


def revoke_token(conn: sqlite3.Connection, token_id: str, now: str) -> int:
    return conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                        [now, token_id]).rowcount




def version(conn: sqlite3.Connection, name: str, account_id: int = 0) -> int:
    """A cache version (migration 13): 'fields' of an account, or 'tokens' (global)."""
    if name == "fields":
        row = conn.execute("SELECT fields_version FROM accounts WHERE id = ?", [account_id]).fetchone()
    else:
        row = conn.execute("SELECT value FROM versions WHERE name = ?", [name]).fetchone()
    return row[0] if row else 0


class Accounts:
    """The administration session (storage/api.py Accounts): accounts and tokens, no account bound."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def create_account(self, name: str, now: str) -> int:
        return create_account(self._conn, name, now)

    def accounts(self) -> list[dict[str, Any]]:
        return accounts(self._conn)

    def account_by_name(self, name: str) -> dict[str, Any] | None:
        return account_by_name(self._conn, name)

    def insert_token(self, token_id: str, account_id: int, scope: str, secret_hash: str, now: str,
                     expires_at: str | None) -> None:
        insert_token(self._conn, token_id, account_id, scope, secret_hash, now, expires_at)

    def tokens(self, account_id: int | None) -> list[dict[str, Any]]:
        return tokens(self._conn, account_id)

    def token(self, token_id: str) -> dict[str, Any] | None:
        return token(self._conn, token_id)

    def revoke_token(self, token_id: str, now: str) -> int:
        return revoke_token(self._conn, token_id, now)
