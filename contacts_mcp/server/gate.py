"""The HTTP gate: who is calling, how often, and how much they may send, decided before a byte of the
body is read or parsed.

  1. The bearer token is verified here (the same Verifier the SDK uses, whose cache makes the second check
     inside the SDK a dict lookup). Only a verified token has a rate bucket of its own, so knowing a
     token's public id (it is in the access log) gives no way to spend its budget, and made-up ids are not
     free: a request that fails authentication spends from a bucket of its client address instead, and
     an address that keeps failing gets 429s (valid tokens from it still pass).
  2. The body is capped by what the request can legally carry: a read token calls only read tools, whose
     arguments are small; a write token's cap follows the tool named in the Mcp-Name header that
     2026-07-28 clients send (the SDK checks it matches the body), so only import_file and upsert_contacts
     may send megabytes. A Content-Length over the cap is refused at once; a body that streams past it is
     refused when it does. The body is then handed on as received.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver import MCPServer

from ..tools.common import AccountToken
from .auth import Verifier
from ..core.settings import MB, Settings

SMALL_BODY = 2 * MB  # any request but import_file's and upsert_contacts': ids, names, filters
MAX_BUCKETS = 10_000
HEAD = 4096  # where a big body must name its tool
# A body's JSON objects and arrays become Python objects when the SDK parses it, each costing ~30x its
# bytes: a big body may hold only as many as its tool can use (json_rows' rows; 3,000 contacts with their
# attributes and lists). Strings (a base64 file, a CSV) cost what they weigh.
BRACKETS = {"import_file": 250_000, "upsert_contacts": 60_000}
_NAME = re.compile(rb'"name"\s*:\s*"([A-Za-z_]{1,64})"')


def _big_body_refusal(head: bytes, body: bytearray, headers: dict[bytes, bytes]) -> str | None:
    """Why a body over SMALL_BODY is refused before the SDK parses it, or None. It must be a call of a tool
    that takes megabytes, named early in the body (as clients write it) and matching Mcp-Name if sent,
    and hold no more objects and arrays than that tool can use."""
    # Every "name" of the head counts (a client's _meta may name the client first); the bracket bound below
    # is what holds, whatever a body claims.
    named = [n.decode() for n in _NAME.findall(head) if n.decode() in BRACKETS]
    declared = headers.get(b"mcp-name", b"").decode("latin-1")
    name = declared if declared else (named[0] if named else "")
    if name not in named:
        return (f"requests over {SMALL_BODY // MB} MB are only for import_file and upsert_contacts, named by "
                "params.name before the arguments (and by the Mcp-Name header if sent)")
    brackets = body.count(b"{") + body.count(b"[")
    if brackets > BRACKETS[name]:
        return (f"{name}: this request holds {brackets:,} JSON objects and arrays, more than {BRACKETS[name]:,} "
                "(the most a call can use); send fewer rows or contacts per call, or the rows as a file")
    return None


def body_limit(settings: Settings) -> int:
    """The largest request a legal call can make: a file at the upload limit, base64-encoded (4/3), or an
    inline body at its limit, plus room for the JSON-RPC envelope."""
    return max(settings.max_file_bytes * 4 // 3, settings.max_inline_bytes) + MB


def tool_caps(settings: Settings) -> dict[str, int]:
    """The tools whose legal arguments can exceed SMALL_BODY, and their caps."""
    return {"import_file": body_limit(settings), "upsert_contacts": settings.max_inline_bytes + MB}


@dataclass
class Buckets:
    """Token buckets by key: `rate` a second on average, bursts up to `burst`. The table stays bounded:
    past MAX_BUCKETS keys, idle ones are forgotten (a full bucket is the same as no bucket)."""

    rate: float
    burst: float
    _table: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str) -> float:
        """0 if the request may go on, else the seconds to wait."""
        now = time.monotonic()
        tokens, last = self._table.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self._table[key] = (tokens, now)
            return (1 - tokens) / self.rate
        self._table[key] = (tokens - 1, now)
        if len(self._table) > MAX_BUCKETS:
            full = self.burst / self.rate
            self._table = {k: v for k, v in self._table.items() if now - v[1] < full}
            if len(self._table) > MAX_BUCKETS:  # a flood of fresh keys: keep the most recent half
                recent = sorted(self._table.items(), key=lambda kv: kv[1][1])[MAX_BUCKETS // 2:]
                self._table = dict(recent)
        return 0.0

    def __len__(self) -> int:
        return len(self._table)


def client_address(scope: dict) -> str:
    client = scope.get("client")
    return client[0] if client else "-"


async def _answer(send: Any, status: int, error: str, description: str, headers: list | None = None) -> None:
    body = json.dumps({"error": error, "error_description": description}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Gate:
    app: Any
    server: MCPServer
    verifier: Verifier
    settings: Settings
    failures: Buckets = field(default_factory=lambda: Buckets(rate=1.0, burst=20.0))
    _requests: Buckets | None = None
    _read_tools: set[str] | None = None

    def __post_init__(self) -> None:
        rate = self.settings.rate_limit
        self._requests = Buckets(rate=rate, burst=max(rate * 2, 20)) if rate > 0 else None
        self._caps = tool_caps(self.settings)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw = scope.get("headers", ())
        if sum(1 for name, _ in raw if name == b"authorization") > 1:
            # Which one counts would differ between layers (this gate, the SDK, the log): refuse outright.
            return await _answer(send, 400, "invalid_request", "send one Authorization header, not several")
        headers = dict(raw)
        token = await self._verified(headers.get(b"authorization", b""))
        if token is None:
            wait = self.failures.take(client_address(scope))
            if wait:
                return await self._too_many(send, wait, "failed authentications from this address")
            return await self.app(scope, receive, send)  # the SDK answers 401 with WWW-Authenticate
        if self._requests is not None and (wait := self._requests.take(token.token)):
            return await self._too_many(send, wait, f"more than {self.settings.rate_limit:g} requests a second for "
                                                    "this token")
        cap, why = await self._cap(token, headers)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            return await _answer(send, 413, "request_too_large", why)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > cap:
                return await _answer(send, 413, "request_too_large", why)
            if not message.get("more_body"):
                break
        if len(body) > SMALL_BODY and (refusal := _big_body_refusal(bytes(body[:HEAD]), body, headers)):
            return await _answer(send, 413, "request_too_large", refusal)
        replay = [{"type": "http.request", "body": bytes(body), "more_body": False}]
        del body

        async def received() -> dict:
            return replay.pop() if replay else await receive()

        return await self.app(scope, received, send)

    async def _verified(self, authorization: bytes) -> AccountToken | None:
        value = authorization.decode("latin-1")
        if not value[:7].lower() == "bearer ":
            return None
        return await self.verifier.verify_token(value[7:].strip())

    async def _cap(self, token: AccountToken, headers: dict[bytes, bytes]) -> tuple[int, str]:
        """The body cap for this request, and what to say when it is crossed."""
        if self._read_tools is None:
            self._read_tools = {t.name for t in await self.server.list_tools()
                                if t.annotations is not None and t.annotations.read_only_hint}
        name = headers.get(b"mcp-name", b"").decode("latin-1") if headers.get(b"mcp-method") == b"tools/call" else ""
        if token.scope == "read":
            # A small call to a write tool still gets through, to be refused as a tool error the assistant
            # can read (see guard.py); a big one is refused here, unread.
            needs = (f"; {name[:100]} needs a token with scope write" if name and name not in self._read_tools
                     else "")
            return SMALL_BODY, (f"a token with scope read may send requests of at most {SMALL_BODY // MB} MB (read "
                                f"tools take small arguments){needs}")
        if name:
            cap = self._caps.get(name, SMALL_BODY)
            return cap, (f"{name[:100]} takes requests of at most {cap / MB:g} MB; send fewer items per call"
                         + (", or a big file as url or path" if name == "import_file" else ""))
        cap = max(self._caps.values())
        return cap, f"requests are limited to {cap / MB:g} MB"

    @staticmethod
    async def _too_many(send: Any, wait: float, what: str) -> None:
        seconds = max(1, math.ceil(wait))
        await _answer(send, 429, "rate_limited", f"{what}; retry in {seconds} s",
                      [(b"retry-after", str(seconds).encode())])
