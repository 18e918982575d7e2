"""Contact tools: create_contact (also updates by id), get_contacts, upsert_contacts, delete_contacts,
apply_to_contacts (mass actions by filter, in two steps)."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from ..core import bulk
from ..core import contacts as core
from ..core.erase import erase
from ..core.models import (ChannelOrAll, ContactInput, ContactPage, ContactResult, DeleteResult, Filter, PlanResult,
                           UpsertResult)
from ..core.optouts import Reason
from .common import Cursor, FilterArg, Offset, RestoreDeleted, Toolbox, WithTotal, caller, scope_of, tool

ContactIds = Annotated[list[int], Field(description="Contact ids (1 to 1000).", min_length=1, max_length=1000)]
Erase = Annotated[bool, Field(description="Empty values ('' or null) clear stored ones.")]
UpdateEnabled = Annotated[bool, Field(description="false: a match fails as a duplicate.")]


def register(box: Toolbox) -> None:
    @tool(box, read_only=False)
    async def create_contact(
        ctx: Context,
        contact: Annotated[ContactInput, Field(description="The contact (needs email, mobile or ext_id), or with "
                                                           "contact_id only the fields to change.")],
        contact_id: Annotated[int | None, Field(description="Update this contact (its identities too).")] = None,
        update_enabled: UpdateEnabled = True,
        empty_values_erase: Erase = False,
        restore_deleted: RestoreDeleted = False,
    ) -> ContactResult:
        """Create one contact, or update the one with the same ext_id, else email (any case), else mobile
        (a deleted one only with restore_deleted); with contact_id, update that one. Opt-outs are never
        lifted. Returns it and the outcome. For many contacts: upsert_contacts, import_file."""
        if contact_id is not None:
            return await core.update_contact(scope_of(ctx), contact_id, contact, empty_values_erase=empty_values_erase,
                                             restore_deleted=restore_deleted)
        return await core.create_contact(scope_of(ctx), contact, update_enabled=update_enabled,
                                         empty_values_erase=empty_values_erase, restore_deleted=restore_deleted)

    @tool(box, read_only=True, idempotent=True)
    async def get_contacts(
        ctx: Context,
        contact_ids: Annotated[list[int] | None, Field(description="Look up these contact ids.")] = None,
        ext_ids: Annotated[list[str] | None, Field(description="Look up these external ids.")] = None,
        emails: Annotated[list[str] | None, Field(description="Look up these emails (any case).")] = None,
        mobiles: Annotated[list[str] | None, Field(description="Look up these mobile numbers (any format).")] = None,
        list_id: Annotated[int | None, Field(description="Only members of this list.")] = None,
        segment_id: Annotated[int | None, Field(description="Only members of this segment.")] = None,
        filter: FilterArg = None,  # noqa: A002
        search: Annotated[str | None, Field(description="Text in email, phone, names or company.",
                                            max_length=200)] = None,
        created_since: Annotated[str | None, Field(description="ISO 8601, inclusive.")] = None,
        modified_since: Annotated[str | None, Field(description="ISO 8601, inclusive.")] = None,
        deleted: Annotated[Literal["exclude", "include", "only"],
                           Field(description="Deleted contacts: exclude (default), include, or only them.")] = "exclude",
        sort: Annotated[Literal["desc", "asc"], Field(description="By creation time; desc (newest first) "
                                                                  "by default.")] = "desc",
        limit: Annotated[int, Field(description="Page size.", ge=1, le=100)] = 25,
        cursor: Cursor = None,
        offset: Offset = 0,
        with_total: WithTotal = False,
    ) -> ContactPage:
        """Look contacts up by ids/ext_ids/emails/mobiles (at most 100; deleted ones included; unknown ones
        in not_found), or list them by list, segment, filter, search or dates, page by page (follow
        next_cursor); with_total counts all matches exactly."""
        return await core.get_contacts(
            scope_of(ctx), ids=contact_ids, ext_ids=ext_ids, emails=emails, mobiles=mobiles, list_id=list_id,
            segment_id=segment_id, search=search, created_since=created_since, modified_since=modified_since, deleted=deleted,
            sort=sort, limit=limit, cursor=cursor, offset=offset, with_total=with_total, filter=filter)

    @tool(box, read_only=False)
    async def upsert_contacts(
        ctx: Context,
        contacts: Annotated[list[ContactInput], Field(description="1 to 3,000 contacts, each as in create_contact.",
                                                      max_length=3000)],
        dedupe_on: Annotated[Literal["email", "mobile", "ext_id"],
                             Field(description="The identity that finds an existing contact; ext_id, when a "
                                               "contact has one, is tried first.")] = "email",
        update_enabled: UpdateEnabled = True,
        empty_values_erase: Erase = False,
        event_key: Annotated[str | None, Field(description="Event type (letters, digits) per new contact.")] = None,
        restore_deleted: RestoreDeleted = False,
        create_fields: Annotated[bool, Field(description="Unknown attributes become text fields.")] = False,
    ) -> UpsertResult:
        """Create or update up to 3,000 contacts, each succeeding or failing alone; each may join or leave
        lists and segments. Returns counts and per-contact outcomes with each failure's reason."""
        return await core.upsert_contacts(scope_of(ctx), contacts, dedupe_on=dedupe_on,
                                              update_enabled=update_enabled, empty_values_erase=empty_values_erase,
                                          event_key=event_key, restore_deleted=restore_deleted,
                                          create_fields=create_fields)

    @tool(box, read_only=False, destructive=True, idempotent=True)
    async def delete_contacts(
        ctx: Context,
        contact_ids: ContactIds,
        action: Annotated[Literal["delete", "restore", "erase"],
                          Field(description="delete (soft: restorable), restore, erase (for good).")] = "delete",
        confirm: Annotated[str | None, Field(description="erase: as a call without it says.")] = None,
        reason: Annotated[str | None, Field(max_length=500, description="erase: why (audited).")] = None,
    ) -> DeleteResult:
        """Soft-delete contacts (they leave every statistic but keep their data and opt-outs), restore them,
        or erase their data for good (opt-outs kept as hashes). Returns how many changed and the unknown ids."""
        if action == "erase":
            token = caller(ctx)
            return await erase(scope_of(ctx), contact_ids, confirm=confirm, reason=reason,
                               by=f"token {token.token}" if token else "local")
        return await core.set_deleted(scope_of(ctx), contact_ids, restore=action == "restore")

    @tool(box, read_only=False, destructive=True)
    async def apply_to_contacts(
        ctx: Context,
        action: Annotated[bulk.Action, Field(description="What to do to each matching contact.")],
        filter: Annotated[Filter, Field(description="The contacts, e.g. a whole list: "  # noqa: A002
                                                    '{"field":"list","op":"eq","value":12}.')],
        list_id: Annotated[int | None, Field(description="add_to_list / remove_from_list: the list.")] = None,
        segment_id: Annotated[int | None, Field(description="attach / detach: a static segment.")] = None,
        reason: Annotated[Reason | None, Field(description="optout: as in optout_contact.")] = None,
        channels: Annotated[list[ChannelOrAll] | None, Field(min_length=1, description="optout: as in "
                                                                                        "optout_contact.")] = None,
        plan_token: Annotated[str | None, Field(max_length=200, description="From the dry run.")] = None,
    ) -> PlanResult:
        """Opt out, soft-delete, add to/remove from a list, attach/detach a static segment: every contact a
        filter matches, in two calls. Without plan_token: a dry run (count, sample, plan_token; nothing
        changes). The same call with plan_token carries it out, unless the matching contacts changed."""
        return await bulk.apply(scope_of(ctx), action, filter, plan_token=plan_token, list_id=list_id,
                                segment_id=segment_id, reason=reason, channels=channels)
