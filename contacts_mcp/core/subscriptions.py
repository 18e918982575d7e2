"""Double opt-in: a sign-up form subscribes one contact, a single-use token confirms it.

A new contact is created `unconfirmed` (not reachable by email until confirmed); an existing one (same
email or mobile) is updated and keeps its status. Subscribing goes through the one write path, so it
never lifts an opt-out. Tokens are random (256 bits), stored only as a hash, single use and expiring.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from ..storage.api import Writer
from .contacts import _load, _prepare, _single
from .errors import ContactsError, InvalidInput, LimitExceeded, NotFound
from .events import subscribe_event
from .models import ContactInput, ContactResult, SubscribeResult
from .normalize import clean_text, format_ts, utc_now
from .prepare import missing_identity
from .scope import Scope
from .upsert import BatchOptions

GROUPS_MAX = 20
SUBSCRIBE_KEYS = ("email_key", "mobile")  # a sign-up form matches by email, else mobile (never ext_id)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def subscribe(scope: Scope, data: ContactInput, *, segment_ids: list[int], form_type: str | None,
                    expires_hours: int, restore_deleted: bool = False) -> SubscribeResult:
    if form_type is not None:
        form_type = clean_text("form_type", form_type, 64)
        if form_type and not form_type.replace("_", "").replace("-", "").isalnum():
            raise InvalidInput("form_type", "letters, digits, '-' and '_' only (e.g. 'newsletter')")
    if len(segment_ids) > GROUPS_MAX or len(data.list_ids or []) > GROUPS_MAX:
        raise LimitExceeded("lists or segments per subscription", GROUPS_MAX, max(len(segment_ids), len(data.list_ids or [])))
    p = await _prepare(scope, data)
    # Checked on the normalised values: an email of " " is no email (it would make a contact nobody
    # can find, a new one on every call).
    if missing_identity(p, SUBSCRIBE_KEYS):
        raise InvalidInput("contact", "a subscription needs an email or a mobile (blank values count as missing), "
                                      "e.g. {\"email\": \"name@example.com\"}")
    source = f"subscribe:{form_type}" if form_type else "subscribe"
    opts = BatchOptions(match_keys=SUBSCRIBE_KEYS, update_enabled=True, erase=False, source=source,
                        now=utc_now(), new_status="unconfirmed", restore_deleted=restore_deleted)
    token = secrets.token_urlsafe(32)
    expires = format_ts(datetime.now(timezone.utc) + timedelta(hours=expires_hours))

    def unit(w: Writer) -> SubscribeResult:
        if segment_ids:
            missing = sorted(set(segment_ids) - w.static_segment_ids(segment_ids))
            if missing:
                raise NotFound("static segment id", missing, "Find segments with get_segments (a dynamic one's "
                                                             "members follow its filter).")
        outcome, contact_id = _single(w, p, opts)
        if segment_ids:
            for segment_id in dict.fromkeys(segment_ids):
                w.attach(segment_id, [contact_id], opts.now)
        contact = _load(w, contact_id)
        event = subscribe_event(outcome != "created", form_type)
        w.insert_events([(event, contact_id, contact.email, {"form_type": form_type} if form_type else {})], opts.now)
        w.insert_confirmation(_hash(token), contact_id, form_type, opts.now, expires)
        return SubscribeResult(contact=contact, outcome="created" if outcome == "created" else "updated",
                               token=token, expires_at=expires, event=event)

    result = await scope.write(unit, small=True)
    scope.wake_sender()
    return result


async def confirm(scope: Scope, token: str) -> ContactResult:
    now = utc_now()

    def unit(w: Writer) -> ContactResult:
        row = w.confirmation(_hash(token.strip()))
        if row is None:
            raise NotFound("confirmation token", ["(given)"], "Use the token subscribe_contact returned, unchanged.")
        if row["used_at"] is not None:
            raise ContactsError(f"this token was already used at {row['used_at']}; a token confirms once. "
                                "Subscribe the contact again for a new one if needed.")
        if row["expires_at"] <= now:
            raise ContactsError(f"this token expired at {row['expires_at']}; subscribe the contact again for a new one.")
        if not w.use_confirmation(row["token_hash"], now):
            raise ContactsError("this token was just used by another call; a token confirms once.")
        w.set_status(row["contact_id"], "confirmed", now)
        return ContactResult(outcome="updated", contact=_load(w, row["contact_id"]))

    return await scope.write(unit, small=True)
