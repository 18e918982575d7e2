"""Subscription and event tools: subscribe_contact, confirm_subscription, get_events, manage_webhooks."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from ..core import events as core
from ..core import subscriptions
from ..core.models import ContactInput, ContactResult, EventPage, SubscribeInput, SubscribeResult, WebhooksResult
from .common import Cursor, RestoreDeleted, Toolbox, scope_of, tool


def register(box: Toolbox) -> None:
    @tool(box, read_only=False)
    async def subscribe_contact(
        ctx: Context,
        contact: Annotated[SubscribeInput, Field(description="email and/or mobile required.")],
        segment_ids: Annotated[list[int] | None, Field(description="Segments to join.")] = None,
        form_type: Annotated[str | None, Field(description="The sign-up form, e.g. 'newsletter'.")] = None,
        expires_hours: Annotated[int, Field(ge=1, le=720, description="Token lifetime.")] = 48,
        restore_deleted: RestoreDeleted = False,
    ) -> SubscribeResult:
        """Sign-up form: creates an unconfirmed contact (not emailable) or updates the one with that email or
        mobile; returns a single-use token for confirm_subscription. Never lifts opt-outs."""
        return await subscriptions.subscribe(scope_of(ctx), ContactInput(**contact.model_dump(exclude_unset=True)),
                                             segment_ids=segment_ids or [],
                                             form_type=form_type, expires_hours=expires_hours,
                                             restore_deleted=restore_deleted)

    @tool(box, read_only=False)
    async def confirm_subscription(
        ctx: Context, token: Annotated[str, Field(description="From subscribe_contact.")],
    ) -> ContactResult:
        """Confirm with the token from subscribe_contact: the contact becomes confirmed."""
        return await subscriptions.confirm(scope_of(ctx), token)

    @tool(box, read_only=True, idempotent=True)
    async def get_events(
        ctx: Context,
        type: Annotated[str | None, Field(description="e.g. subscribeFromApi-newsletter, or an event_key.")] = None,
        contact_id: Annotated[int | None, Field(description="Only this contact's.")] = None,
        since: Annotated[str | None, Field(description="ISO 8601, inclusive.")] = None,
        until: Annotated[str | None, Field(description="ISO 8601, exclusive.")] = None,
        limit: Annotated[int, Field(ge=1, le=200, description="Page size.")] = 50,
        cursor: Cursor = None,
    ) -> EventPage:
        """Events oldest first: subscriptions, and event_key events of imports and bulk upserts."""
        return await core.get_events(scope_of(ctx), type=type, contact_id=contact_id, since=since, until=until,
                                     limit=limit, cursor=cursor)

    @tool(box, read_only=False, destructive=True)
    async def manage_webhooks(
        ctx: Context,
        action: Annotated[Literal["create", "delete", "list"], Field(description="What to do.")],
        url: Annotated[str | None, Field(description="create: the https URL to POST events to.")] = None,
        event_types: Annotated[list[str] | None, Field(description="create: types to send; default all.")] = None,
        webhook_id: Annotated[int | None, Field(description="delete: the webhook.")] = None,
    ) -> WebhooksResult:
        """POST events to a URL, retried with backoff in the background; list shows delivery outcomes."""
        return await core.manage_webhooks(scope_of(ctx), action, url=url, event_types=event_types,
                                          webhook_id=webhook_id)
