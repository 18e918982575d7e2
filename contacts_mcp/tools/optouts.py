"""Opt-out and statistics tools: optout_contact, restore_optout, get_optouts, get_stats."""

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from ..core import optouts as core
from ..core import stats
from ..core.models import ChannelOrAll, OptOutPage, OptOutResult, RestoreResult, StatsResult
from .common import Cursor, FilterArg, Toolbox, scope_of, tool

_IDS = Annotated[list[int] | None, Field(description="Contacts by id.")]
_EMAILS = Annotated[list[str] | None, Field(description="Contacts or bare addresses by email.")]
_MOBILES = Annotated[list[str] | None, Field(description="Contacts or bare addresses by mobile.")]


def register(box: Toolbox) -> None:
    @tool(box, read_only=False, idempotent=True)
    async def optout_contact(
        ctx: Context,
        reason: Annotated[core.Reason, Field(description="unsubscribed (they asked), owner_blocked (you decided), "
                                                         "hardbounce (address invalid), complaint (marked as spam).")],
        channels: Annotated[list[ChannelOrAll] | None, Field(
            min_length=1, description="Channels to block. Default: email for hardbounce/complaint, else all.")] = None,
        contact_ids: _IDS = None,
        emails: _EMAILS = None,
        mobiles: _MOBILES = None,
        source: Annotated[str, Field(max_length=100, description="Where it came from, e.g. 'unsubscribe link'.")] = "api",
    ) -> OptOutResult:
        """Block contacts on channels with a reason: up to 10,000 ids, emails and mobiles (a whole list or a
        filter: apply_to_contacts). An address that is no contact yet is blocked for whoever takes it. Only
        restore_optout lifts an opt-out; unknown ids fail the call."""
        return await core.optout(scope_of(ctx), contact_ids=contact_ids or [], emails=emails or [],
                                 mobiles=mobiles or [], channels=list(channels or core.default_channels(reason)),
                                 reason=reason, source=source)

    @tool(box, read_only=False, destructive=True)
    async def restore_optout(
        ctx: Context,
        reason: Annotated[str, Field(min_length=3, max_length=500,
                                     description="Why the opt-out is lifted; kept in the audit trail.")],
        channels: Annotated[list[ChannelOrAll], Field(min_length=1, description="Channels to lift.")] = ["all"],  # noqa: B006
        contact_ids: _IDS = None,
        emails: _EMAILS = None,
        mobiles: _MOBILES = None,
        restored_by: Annotated[str, Field(max_length=100, description="Who asked for it.")] = "assistant",
    ) -> RestoreResult:
        """Lift opt-outs of contacts or addresses on channels: the only way a contact becomes reachable
        again. Only with the contact's consent; each lifted record is kept with who and why."""
        return await core.restore(scope_of(ctx), contact_ids=contact_ids or [], emails=emails or [],
                                  mobiles=mobiles or [], channels=list(channels), reason=reason,
                                  restored_by=restored_by)

    @tool(box, read_only=True, idempotent=True)
    async def get_optouts(
        ctx: Context,
        reason: Annotated[core.Reason | None, Field(description="Only this reason.")] = None,
        channel: Annotated[ChannelOrAll | None, Field(description="Only this channel.")] = None,
        since: Annotated[str | None, Field(description="Recorded at or after (ISO 8601).")] = None,
        until: Annotated[str | None, Field(description="Recorded before (ISO 8601).")] = None,
        list_id: Annotated[int | None, Field(description="Only contacts of this list.")] = None,
        contact_id: Annotated[int | None, Field(description="Only this contact.")] = None,
        include_restored: Annotated[bool, Field(description="Also lifted ones, with who and why.")] = False,
        limit: Annotated[int, Field(ge=1, le=200, description="Page size.")] = 50,
        cursor: Cursor = None,
    ) -> OptOutPage:
        """Opt-out records, newest first: contact, address, channel, reason, source, date."""
        return await core.get_optouts(scope_of(ctx), reason=reason, channel=channel, since=since, until=until,
                                      list_id=list_id, contact_id=contact_id, include_restored=include_restored,
                                      limit=limit, cursor=cursor)

    @tool(box, read_only=True, idempotent=True)
    async def get_stats(
        ctx: Context,
        list_ids: Annotated[list[int] | None, Field(max_length=100,
                                                    description="Lists; none means the whole base.")] = None,
        segment_ids: Annotated[list[int] | None, Field(max_length=100, description="Or segments.")] = None,
        filter: FilterArg = None,  # noqa: A002
    ) -> StatsResult:
        """Exact counts now, for the whole base or lists: subscribers, reachable by email/sms/voice/voicemail,
        opted out by channel and reason, blacklisted, unconfirmed, missing addresses. Several lists also give
        each list's figures and unique subscribers. A filter counts its contacts (within one list or segment if
        given). PNG chart: contacts://stats/{all|list id}/chart.png."""
        return await stats.get_stats(scope_of(ctx), list_ids, segment_ids, filter)
