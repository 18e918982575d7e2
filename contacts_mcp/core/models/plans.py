"""Mass actions in two steps (core/plans.py): the dry run and what the call with its plan_token did."""

from __future__ import annotations

from pydantic import Field

from ._base import Out
from .contacts import Contact


class PlanResult(Out):
    """A dry run (nothing changed: count, sample, plan_token) or, with the token, the action carried out."""

    done: bool = Field(description="true: carried out; false: a dry run, nothing changed.")
    matching: int = Field(description="Contacts the action covers.")
    changed: int | None = Field(None, description="Contacts it changed (done).")
    sample: list[Contact] = Field(default_factory=list, description="The first few contacts it covers.")
    plan_token: str | None = Field(None, description="Call again with it and the same arguments to carry it out.")
    expires_at: str | None = None
    note: str | None = None
