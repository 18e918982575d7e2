"""How an export's file reaches the caller: its path (a client on this machine), an MCP resource (small
files), or over HTTP a download URL on the same server, signed and short-lived.

A download URL carries `token=<account>.<expiry>.<mac>`: an HMAC (a key derived from the server's secret,
which no caller has) of the account, the job id and the expiry. The download route (server/http.py) needs
no API token, so a browser or curl can fetch it, but it serves only the job the signature names, of the
account it names, until the expiry; reading the job again mints a fresh URL.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote

from ...storage.api import Reader

LINK_SECONDS = 900


@dataclass(frozen=True)
class Delivery:
    """Who asks: a client on this machine (it may be given paths), and the server's HTTP address if any."""

    local: bool
    base_url: str | None = None


def key_of(r: Reader) -> bytes:
    return hmac.new(r.address_secret(), b"contacts-mcp export links v1", hashlib.sha256).digest()


def _mac(key: bytes, account: int, job_id: str, expires: int) -> str:
    return hmac.new(key, f"{account}:{job_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def link(key: bytes, account: int, job_id: str, base_url: str, seconds: int = LINK_SECONDS) -> str:
    expires = int(time.time()) + seconds
    return f"{base_url.rstrip('/')}/exports/{quote(job_id)}?token={account}.{expires}.{_mac(key, account, job_id, expires)}"


def token_account(token: str) -> int | None:
    """The account a download token names (not yet verified), or None if it is not one."""
    head = token.split(".", 1)[0]
    return int(head) if head.isascii() and head.isdigit() and len(head) < 19 else None


def check_token(key: bytes, account: int, job_id: str, token: str) -> str | None:
    """Why the token does not open this job's file, or None when it does."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isascii() or not parts[1].isdigit() or len(parts[1]) > 12:
        return "this download link is malformed; read the export job again (get_jobs) for a fresh one"
    expires = int(parts[1])
    if not hmac.compare_digest(parts[2].encode("ascii", "replace"), _mac(key, account, job_id, expires).encode()):
        return "this download link's signature is not valid for this export; read the job again (get_jobs)"
    if expires < time.time():
        return "this download link has expired; read the export job again (get_jobs) for a fresh one"
    return None
