"""Field tools: set_field_alias, manage_fields, get_fields."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from ..core import fields as core
from ..core import stats
from ..core.errors import InvalidInput
from ..core.models import FieldPage, FieldsChange
from .common import Cursor, Toolbox, scope_of, tool


def register(box: Toolbox) -> None:
    @tool(box, read_only=False, destructive=True, idempotent=True)
    async def set_field_alias(
        ctx: Context,
        field: Annotated[str, Field(description="The field (built-in like 'mobile', or custom).")],
        alias: Annotated[str, Field(description="A column header to match to it on import, e.g. 'Portable'.")],
        remove: Annotated[bool, Field(description="true removes this alias instead of adding it.")] = False,
    ) -> FieldsChange:
        """Add (or remove) an import alias: a file column with that header is read into the field. Aliases are
        unique across fields, matched ignoring case, accents and punctuation. Returns the field."""
        return await core.set_alias(scope_of(ctx), field, alias, remove)

    @tool(box, read_only=False, destructive=True)
    async def manage_fields(
        ctx: Context,
        action: Annotated[Literal["create", "update", "delete"], Field(description="What to do.")],
        name: Annotated[str, Field(description="The custom field, e.g. 'loyalty_tier' (lower-case, digits, _).")],
        type: Annotated[Literal["text", "number", "date", "boolean", "choice"] | None,
                        Field(description="create: the value type (fixed once created).")] = None,
        choices: Annotated[list[str] | None, Field(description="choice fields: the allowed values.")] = None,
    ) -> FieldsChange:
        """Create a typed custom field (text, number, date, boolean, choice), change a choice field's choices,
        or delete a custom field and its values. Every write checks values against the type."""
        scope = scope_of(ctx)
        if action == "create":
            return await core.create_field(scope, name, type, choices)
        if action == "update":
            return await core.update_field(scope, name, type, choices)
        if type is not None or choices is not None:
            raise InvalidInput("delete", "takes only the field name")
        return await core.delete_field(scope, name)

    @tool(box, read_only=True, idempotent=True)
    async def get_fields(
        ctx: Context,
        names: Annotated[list[str] | None, Field(description="Only these fields.")] = None,
        with_stats: Annotated[bool, Field(description="Add fill statistics: per field, contacts with a value, "
                                                      "share and longest value (a full scan: slower).")] = False,
        list_id: Annotated[int | None, Field(description="with_stats: count only this list's members.")] = None,
        limit: Annotated[int, Field(description="Page size.", ge=1, le=200)] = 100,
        cursor: Cursor = None,
    ) -> FieldPage:
        """List the contact fields: built-in ones (in the canonical column order of header-less imports) then
        custom ones, each with its type, choices and import aliases."""
        scope = scope_of(ctx)
        found = await core.get_fields(scope, names=names, limit=limit, cursor=cursor)
        if with_stats:
            figures = await stats.get_field_stats(scope, list_id)
            shown = {f.name for f in found.fields}
            found.stats = figures.model_copy(update={"fields": [f for f in figures.fields if f.field in shown]})
        return found
