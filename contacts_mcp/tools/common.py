"""What every tool module shares: registration with annotations, the caller's scope, compact results.

Tools stay thin: they declare typed parameters, call core, and return its pydantic model. Domain
failures (ContactsError) become MCP tool errors the model can read and correct from.
"""

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from ..core.errors import ContactsError
from ..core.scope import AppState, Scope
from .schema import compact_schema, summarise_output


Cursor = Annotated[str | None, Field(description="next_cursor from the previous page.")]


def scope_of(ctx: Context) -> Scope:
    """The caller's scope. Stdio serves the local account; token-mapped accounts come with HTTP auth."""
    state: AppState = ctx.request_context.lifespan_context
    return state.scope()


def compact(result: BaseModel) -> CallToolResult:
    """Structured content plus the same JSON as text, without empty values or indentation."""
    return CallToolResult(content=[TextContent(type="text", text=result.model_dump_json())],
                          structured_content=result.model_dump(mode="json"))


def tool(server: MCPServer, *, read_only: bool, destructive: bool = False, idempotent: bool = False,
         title: str | None = None) -> Callable[[Callable[..., Awaitable[BaseModel]]], Callable[..., Any]]:
    """Register an async tool whose docstring is its description and whose return type is its output schema."""

    def register(fn: Callable[..., Awaitable[BaseModel]]) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def run(*args: Any, **kwargs: Any) -> CallToolResult:
            try:
                result = await fn(*args, **kwargs)
            except ContactsError as exc:
                raise ToolError(str(exc)) from None
            return compact(result)

        annotations = ToolAnnotations(title=title, read_only_hint=read_only, idempotent_hint=idempotent,
                                      open_world_hint=False)
        if not read_only:
            annotations.destructive_hint = destructive
        server.add_tool(run, name=fn.__name__, description=inspect.getdoc(fn), annotations=annotations)
        registered = server._tool_manager.get_tool(fn.__name__)  # the SDK reads these fields live
        registered.parameters = compact_schema(registered.parameters)
        registered.fn_metadata.output_schema = summarise_output(compact_schema(registered.fn_metadata.output_schema))
        return fn

    return register
