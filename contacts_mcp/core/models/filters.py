"""The filter language's input: one recursive node type (a compact schema, documented once in the
contacts://filters resource; core/filters.py checks and types it)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FilterOp = Literal["eq", "ne", "in", "contains", "starts_with", "gt", "gte", "lt", "lte", "between", "is_set",
                   "is_empty"]


class Filter(BaseModel):
    """{"all":[…]}, {"any":[…]}, {"not":{…}} or {"field":"city","op":"eq","value":"Paris"}; fields and
    predicates (list, segment, reachable, opted_out…): resource contacts://filters."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    all: list[Filter] | None = None
    any: list[Filter] | None = None
    not_: Filter | None = Field(None, alias="not")
    field: str | None = None
    op: FilterOp | None = None
    value: Any = None

    def dump(self) -> dict[str, Any]:
        """The node as an assistant writes it (what a dynamic segment keeps)."""
        return self.model_dump(by_alias=True, exclude_none=True)
