"""HTTP authentication: the SDK's token-verifier hook over core.accounts, and the verified token type.

Tokens, their hashing and their rows are core's (core/accounts.py); what the SDK calls and caches lives
here, so no SDK type reaches core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.accounts import parse_token, secret_matches, token_row
from ..core.normalize import utc_now
from ..tools.common import AccountToken


@dataclass
class Verifier:
    """The SDK's token-verifier hook: the store is the one the server lifespan opened."""

    state: Any = None  # the AppState, set by the lifespan before any request is served
    # Token rows already looked up, by id. A revocation (by the CLI, in any process) raises the tokens
    # version in the database, and a changed version empties this at the next request: a primary-key read
    # per request, and a revoked token is refused from the next request on.
    _known: dict[str, Any] = field(default_factory=dict)
    _marker: Any = None
    # Tokens already verified, by the whole token: every HTTP request is verified twice (the gate, before
    # reading the body, then the SDK), and the second costs a dict lookup. Emptied with _known.
    _verified: dict[str, AccountToken] = field(default_factory=dict)

    async def verify_token(self, token: str) -> AccountToken | None:
        parsed = parse_token(token)
        if parsed is None or self.state is None:
            return None
        token_id, secret = parsed
        marker = self.state.store.version("tokens")
        if marker != self._marker or len(self._verified) > 10_000:
            self._known, self._verified, self._marker = {}, {}, marker
        now = utc_now()
        done = self._verified.get(token)
        if done is not None:
            row = self._known[token_id]
            if row["expires_at"] is None or row["expires_at"] > now:
                return done
        row = self._known.get(token_id)
        if row is None:
            row = token_row(self.state.store, token_id)
            if row is not None:
                self._known[token_id] = row
        if not secret_matches(row, secret):
            return None
        if row["revoked_at"] is not None or (row["expires_at"] is not None and row["expires_at"] <= now):
            return None
        verified = AccountToken(token=token_id, client_id=token_id, scopes=[row["scope"]],
                                expires_at=row["expires_epoch"], account_id=row["account_id"], scope=row["scope"])
        self._verified[token] = verified
        return verified
