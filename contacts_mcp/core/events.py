"""Events (what happened to contacts) and webhooks that receive them.

An event is written in the same transaction as the change it tells of, together with one pending
delivery per webhook that wants its type; so no event is lost nor sent for a change rolled back. A
background sender (started in the server lifespan) POSTs due deliveries, one attempt at a time,
recording each outcome and backing off exponentially between attempts; a tool call never waits on it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import anyio

from ..storage.api import Reader, Writer
from .errors import InvalidInput, LimitExceeded, NotFound
from .models import Event, EventPage, Webhook, WebhooksResult
from .normalize import format_ts, parse_ts, utc_now
from .pagination import decode_cursor, page
from .scope import AppState, Scope
from .settings import Settings
from .imports.sources import url_policy
from ..outbound import OutboundError, UrlPolicy, check_url, post_json

log = logging.getLogger(__name__)

EVENT_KEY = re.compile(r"[A-Za-z0-9]{1,64}")
WEBHOOKS_MAX = 20
ATTEMPTS = 5
BATCH = 10  # deliveries a sender claims at once, then attempts one after the other...
ATTEMPT_SECONDS = 15.0  # ...each within this (the POST's whole timeout)...
LEASE_SECONDS = BATCH * ATTEMPT_SECONDS + 30  # ...so the batch's lease outlasts them all


def signer(secret: str) -> Callable[[bytes], dict[str, str]]:
    """The X-Contacts-Signature header of a delivery: HMAC-SHA256 of the body POSTed, keyed with the
    webhook's secret."""
    return lambda body: {"X-Contacts-Signature": "sha256=" + hmac.new(secret.encode(), body,
                                                                        hashlib.sha256).hexdigest()}


def check_event_key(key: str | None) -> str | None:
    if key is not None and not EVENT_KEY.fullmatch(key):
        raise InvalidInput("event_key", f"{key!r} must be 1 to 64 letters and digits only (e.g. 'springFair2026')")
    return key


def subscribe_event(existing: bool, form_type: str | None) -> str:
    base = "subscribeUpdateFromApi" if existing else "subscribeFromApi"
    return f"{base}-{form_type}" if form_type else base


async def get_events(scope: Scope, *, type: str | None, contact_id: int | None, since: str | None,
                     until: str | None, limit: int, cursor: str | None) -> EventPage:
    query = {"type": type, "contact_id": contact_id, "since": since and parse_ts("since", since),
             "until": until and parse_ts("until", until)}
    after = decode_cursor(cursor, query)
    rows = await scope.read(lambda r: r.list_events(**query, after_id=after, limit=limit + 1))
    kept, next_cursor = page([Event(**row) for row in rows], limit=limit, key=lambda e: e.id, query=query)
    return EventPage(events=kept, next_cursor=next_cursor)


def _policy(settings: Settings) -> UrlPolicy:
    return dataclasses.replace(url_policy(settings), total_timeout=ATTEMPT_SECONDS)  # a delivery is small: fail it sooner


def _render(r: Reader, ids: list[int] | None = None, secret: str | None = None) -> list[Webhook]:
    hooks = r.webhooks(ids)
    counts = r.delivery_counts([h["id"] for h in hooks])
    return [Webhook(**{k: v for k, v in h.items() if k != "secret"}, secret=secret, deliveries=counts[h["id"]],
                    recent=[{"event": d["type"], "status": d["status"], "attempts": d["attempts"],
                             "last_status": d["last_status"], "last_error": d["last_error"]}
                            for d in r.recent_deliveries(h["id"], 5)]) for h in hooks]


async def manage_webhooks(scope: Scope, action: str, *, url: str | None, event_types: list[str] | None,
                          webhook_id: int | None) -> WebhooksResult:
    if action == "list":
        return WebhooksResult(webhooks=await scope.read(_render))
    if action == "delete":
        if webhook_id is None:
            raise InvalidInput("webhook_id", "is required for action 'delete'")
        deleted = await scope.write(lambda w: w.delete_webhook(webhook_id))
        if not deleted:
            raise NotFound("webhook id", [webhook_id], "List webhooks with action 'list'.")
        return WebhooksResult(deleted=deleted)
    if not url:
        raise InvalidInput("url", "is required for action 'create' (an http(s) URL)")
    types = list(dict.fromkeys(event_types or ["*"]))
    await check_url(url, _policy(scope.settings))  # refused now, with the reason, rather than at each delivery
    now = utc_now()

    def create(w: Writer) -> WebhooksResult:
        if len(w.webhooks()) >= WEBHOOKS_MAX:
            raise LimitExceeded("webhooks per account", WEBHOOKS_MAX, WEBHOOKS_MAX + 1, "Delete one first.")
        secret = secrets.token_urlsafe(32)
        new_id = w.insert_webhook(url, types, secret, now)
        return WebhooksResult(webhooks=_render(w, [new_id], secret))

    return await scope.write(create)


class WebhookSender:
    """Delivers due webhook deliveries for as long as the server lives."""

    def __init__(self, state: AppState, first_delay: float = 2.0) -> None:
        self.state = state
        self.first_delay = first_delay
        self._wake = anyio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake = anyio.Event()
            # Leased for longer than an attempt can take (the POST's own timeout), so no other process (nor
            # this one) attempts a delivery twice at once.
            lease = format_ts(datetime.now(timezone.utc) + timedelta(seconds=LEASE_SECONDS))
            due = await self.state.store.claim_deliveries(utc_now(), lease, BATCH)
            for d in due:
                await self._attempt(d)
            if len(due) < BATCH:
                with anyio.move_on_after(min(1.0, self.first_delay)):
                    await self._wake.wait()

    async def _attempt(self, d: dict) -> None:
        payload = {"event": d["type"], "event_id": d["event_id"], "contact_id": d["contact_id"],
                   "email": d["email"], "data": json.loads(d["data"]), "created_at": d["created_at"]}
        try:
            result = await post_json(d["url"], payload, policy=_policy(self.state.settings), attempts=1,
                                     sign=signer(d["secret"]) if d["secret"] else None)
            ok, status, error = result.delivered, result.status, result.error
        except OutboundError as exc:  # the URL is now refused (e.g. its name resolves to a private address)
            ok, status, error = False, None, str(exc)
        attempt = d["attempts"] + 1
        final = ok or attempt >= ATTEMPTS
        wait = self.first_delay * 2 ** (attempt - 1)
        next_at = format_ts(datetime.now(timezone.utc) + timedelta(seconds=wait))
        now = utc_now()
        await self.state.scope(d["account_id"]).write(
            lambda w: w.record_attempt(d["id"], ok=ok, final=final, status=status, error=error, now=now,
                                       next_at=next_at))
        if not ok:
            log.info("webhook delivery %s attempt %s failed: %s", d["id"], attempt, error or status)
