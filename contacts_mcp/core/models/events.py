"""Subscriptions, events and webhooks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._base import Out
from .contacts import Contact


class SubscribeInput(BaseModel):
    """The sign-up form's fields."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = None
    mobile: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    company: str | None = None
    attributes: dict[str, Any] | None = Field(None, description="Fields by name or alias.")
    list_ids: list[int] | None = Field(None, max_length=20, description="Lists to join.")
    groups: list[str] | None = Field(None, max_length=20, description="Lists or segments to join, by name.")


class SubscribeResult(Out):
    contact: Contact
    outcome: Literal["created", "updated"]
    token: str = Field(description="Single-use; pass to confirm_subscription before expires_at.")
    expires_at: str
    event: str = Field(description="The event recorded, e.g. subscribeFromApi-newsletter.")


class Event(Out):
    id: int
    type: str
    contact_id: int | None = None
    email: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: str


class EventPage(Out):
    events: list[Event]
    next_cursor: str | None = None


class Webhook(Out):
    id: int
    url: str
    event_types: list[str]
    created_at: str
    secret: str | None = Field(None, description="On create only: deliveries carry X-Contacts-Signature: "
                                                 "sha256=HMAC-SHA256(secret, body).")
    deliveries: dict[str, int] = Field(default_factory=dict, description="Counts by status: pending, delivered, "
                                                                          "failed.")
    recent: list[dict[str, Any]] = Field(default_factory=list, description="Latest deliveries with their outcome.")


class WebhooksResult(Out):
    webhooks: list[Webhook] = Field(default_factory=list)
    deleted: int | None = None
