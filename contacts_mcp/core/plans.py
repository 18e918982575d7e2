"""Plan tokens: a mass action is carried out only by a second call carrying what the first one returned.

The first call (a dry run) changes nothing: it returns how many contacts the action covers, a sample of
them and a token the server signs (HMAC with a key derived from the server's secret, which no caller
has), bound to the account, the action, its arguments and the set of contacts it covers (three numbers
that change when any contact enters or leaves it), valid PLAN_TTL seconds. The second call carries it out
only if all of that still holds: a wrong or forged token, other arguments or another account are refused;
an expired one too; if the set changed meanwhile, nothing happens and the new count comes back with a new
token; a token carried out once is refused after (used_plans, until it expires).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from ..storage.api import Node, Reader, Writer
from .contacts import to_contacts
from .errors import InvalidInput
from .models import PlanResult
from .normalize import format_ts, utc_now
from .scope import Scope

PLAN_TTL = 600
SAMPLE = 5
PAGE = 5000
_AGAIN = "call again without plan_token for a new dry run"


def _key(r: Reader) -> bytes:
    return hmac.new(r.address_secret(), b"contacts-mcp plan tokens v1", hashlib.sha256).digest()


def _mac(key: bytes, account: int, action: str, args: dict[str, Any], fingerprint: str, expires: int,
         nonce: str) -> str:
    text = json.dumps([account, action, args, fingerprint, expires, nonce], sort_keys=True, default=str)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def _fingerprint(numbers: tuple[int, int, int]) -> str:
    return hashlib.sha256(repr(numbers).encode()).hexdigest()[:16]


def _mint(r: Reader, action: str, args: dict[str, Any], fingerprint: str) -> tuple[str, int]:
    expires = int(time.time()) + PLAN_TTL
    nonce = secrets.token_hex(8)
    mac = _mac(_key(r), r.account_id, action, args, fingerprint, expires, nonce)
    return f"plan_{expires}_{nonce}_{fingerprint}_{mac}", expires


def _expiry(expires: int) -> str:
    return format_ts(datetime.fromtimestamp(expires, timezone.utc))


def _dry_run(r: Reader, action: str, args: dict[str, Any], tree: Node, what: str, note: str = "") -> PlanResult:
    numbers = r.filter_fingerprint(tree)
    token, expires = _mint(r, action, args, _fingerprint(numbers))
    rows = r.list_contacts(descending=False, after_id=None, limit=SAMPLE, list_id=None, segment_id=None,
                           created_since=None, modified_since=None, search=[], deleted="exclude", where_tree=tree)
    return PlanResult(done=False, matching=numbers[0], sample=to_contacts(r, rows), plan_token=token,
                      expires_at=_expiry(expires),
                      note=(note + " " if note else "") + f"Nothing changed yet. This would {what} "
                           f"{numbers[0]} contact(s). If that is intended, call again with the same arguments "
                           f"and plan_token (valid {PLAN_TTL // 60} minutes).")


_TOKEN = re.compile(r"plan_([0-9]{1,12})_([0-9a-f]{16})_([0-9a-f]{16})_([0-9a-f]{32})")


def _parse(token: str) -> tuple[int, str, str, str]:
    found = _TOKEN.fullmatch(token)
    if found is None:
        raise InvalidInput("plan_token", f"is not a plan token of this server; {_AGAIN}")
    return int(found[1]), found[2], found[3], found[4]


async def two_step(scope: Scope, action: str, args: dict[str, Any], plan_token: str | None, what: str,
                   tree_of: Callable[[Reader], Node], execute: Callable[[Writer, list[int]], int]) -> PlanResult:
    """A dry run (no plan_token), or the action carried out on the contacts `tree_of` selects, as planned.
    `args` are the arguments the token is bound to (JSON-able), `what` says what the action does."""
    if plan_token is None:
        return await scope.read(lambda r: _dry_run(r, action, args, tree_of(r), what))
    expires, nonce, fingerprint, mac = _parse(plan_token.strip())
    now = utc_now()

    def unit(w: Writer) -> PlanResult:
        if not hmac.compare_digest(mac, _mac(_key(w), w.account_id, action, args, fingerprint, expires, nonce)):
            raise InvalidInput("plan_token", f"was not issued for this action with these arguments (or not by this "
                                             f"server); {_AGAIN}")
        if expires < time.time():
            raise InvalidInput("plan_token", f"expired at {_expiry(expires)}; {_AGAIN}")
        if w.plan_used(nonce):
            raise InvalidInput("plan_token", f"was carried out already; {_AGAIN}")
        tree = tree_of(w)
        if _fingerprint(w.filter_fingerprint(tree)) != fingerprint:
            return _dry_run(w, action, args, tree, what, "The contacts this covers changed since the dry run.")
        w.use_plan(nonce, _expiry(expires), now)
        ids: list[int] = []
        while chunk := w.filter_ids(tree, after_id=ids[-1] if ids else 0, limit=PAGE):
            ids += chunk
        return PlanResult(done=True, matching=len(ids), changed=execute(w, ids) if ids else 0)

    return await scope.write(unit)
