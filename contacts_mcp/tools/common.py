"""What every tool module shares: registration with annotations, the caller's scope, compact results.

Tools stay thin: they declare typed parameters, call core, and return its pydantic model. Domain
failures (ContactsError) become MCP tool errors the model can read and correct from.
"""

import functools
import json
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from mcp.server.auth.provider import AccessToken

from ..core.accounts import allows
from ..core.errors import ContactsError
from ..core.models import Filter
from ..outbound import OutboundError
from ..core.scope import AppState, Scope
from .errors import MAX_INT, clip, unexpected
from .schema import compact_schema, summarise_output


class AccountToken(AccessToken):
    """A verified token (server/auth.py verifies them): the account it acts for, and its scope."""

    account_id: int
    scope: str


@dataclass
class Toolbox:
    """The tools of one server, built before it is and handed to MCPServer(tools=...): each with its
    trimmed schema and strict arguments. A read-only box holds only the tools that do not write."""

    read_only: bool = False
    tools: list[Tool] = field(default_factory=list)


Cursor = Annotated[str | None, Field(description="next_cursor from the previous page.")]
Offset = Annotated[int, Field(ge=0, le=1_000_000, description="Or skip this many (slower deep).")]
WithTotal = Annotated[bool, Field(description="Also count all matches.")]
RestoreDeleted = Annotated[bool, Field(description="Restore a matching deleted contact (else it fails).")]
FilterArg = Annotated[Filter | None, Field(description="Only contacts matching this filter.")]


def token_of(request: Any) -> AccountToken | None:
    """The verified token of an HTTP request; None over stdio (and in-process), which serve the local account."""
    user = request.scope.get("user") if request is not None and hasattr(request, "scope") else None
    token = getattr(user, "access_token", None) or get_access_token()
    return token if isinstance(token, AccountToken) else None


def caller(ctx: Context) -> AccountToken | None:
    """The verified token of the request being served (see token_of)."""
    return token_of(ctx.request_context.request)


def scope_of(ctx: Context) -> Scope:
    """The caller's scope: the account of its token over HTTP, the local account over stdio."""
    state: AppState = ctx.request_context.lifespan_context
    token = caller(ctx)
    if token is None and getattr(state, "requires_token", False):
        # Defence in depth: the HTTP app refuses requests without a valid token before they get here.
        raise ContactsError("this server needs an API token (Authorization: Bearer <token>)")
    return state.scope(token.account_id) if token else state.scope()


def client_is_local(ctx: Context) -> bool:
    """Whether the client runs on the server's own machine (stdio, in-process): only then do the paths it
    names, such as its MCP roots, mean the server's disk. HTTP callers are remote, whatever they declare."""
    state: AppState = ctx.request_context.lifespan_context
    return not getattr(state, "requires_token", False) and caller(ctx) is None


def require(ctx: Context, needed: str) -> None:
    """Refuse a caller whose token's scope is below `needed` (read < write < admin)."""
    token = caller(ctx)
    if token is not None and not allows(token.scope, needed):  # type: ignore[arg-type]
        raise ToolError(f"this needs a token with scope {needed} (or higher); yours has scope {token.scope}. "
                        f"Ask for a {needed} token, or use read-only tools.")


def bounded(schema: Any) -> Any:
    """Every integer in an input schema bounded by what storage holds (2^63-1), so a client knows before it
    sends; server/guard.py refuses bigger ones naming the argument."""
    if isinstance(schema, dict):
        if schema.get("type") == "integer" and "maximum" not in schema:
            schema = {**schema, "maximum": MAX_INT}
        return {k: bounded(v) if isinstance(v, dict | list) else v for k, v in schema.items()}
    if isinstance(schema, list):
        return [bounded(v) for v in schema]
    return schema


def compact(result: BaseModel) -> CallToolResult:
    """Structured content plus the same JSON as text, without empty values or indentation (serialised
    once: the model's own serialiser runs Python code per object)."""
    data = result.model_dump(mode="json")
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def tool(box: Toolbox, *, read_only: bool, destructive: bool = False,
         idempotent: bool = False) -> Callable[[Callable[..., Awaitable[BaseModel]]], Callable[..., Any]]:
    """Register an async tool whose docstring is its description and whose return type is its output schema."""

    def register(fn: Callable[..., Awaitable[BaseModel]]) -> Callable[..., Any]:
        if not read_only and box.read_only:
            return fn  # a read-only server does not even list the tools that write
        needed = "read" if read_only else "write"
        ctx_name = next(n for n, p in inspect.signature(fn).parameters.items() if p.annotation in (Context, "Context"))

        @functools.wraps(fn)
        async def run(*args: Any, **kwargs: Any) -> CallToolResult:
            ctx = kwargs.get(ctx_name) or next(a for a in args if isinstance(a, Context))
            require(ctx, needed)
            try:
                result = await fn(*args, **kwargs)
            except (ContactsError, OutboundError) as exc:
                raise ToolError(clip(str(exc))) from None
            except ToolError as exc:
                raise ToolError(clip(str(exc))) from None
            except Exception as exc:  # noqa: BLE001 - a bug or an exhausted resource: still an error one can read
                raise ToolError(unexpected(fn.__name__, exc, {k: v for k, v in kwargs.items() if k != ctx_name}))
            return compact(result)

        # No display title: tools/list is paid in every conversation, and the name says as much.
        annotations = ToolAnnotations(read_only_hint=read_only, idempotent_hint=idempotent,
                                      open_world_hint=False)
        if not read_only:
            annotations.destructive_hint = destructive
        registered = Tool.from_function(run, name=fn.__name__, description=inspect.getdoc(fn), annotations=annotations)
        # Unknown arguments are refused (server/guard.py): the schema says so to the client too.
        registered.parameters = bounded(compact_schema(registered.parameters)) | {"additionalProperties": False}
        registered.fn_metadata.output_schema = summarise_output(compact_schema(registered.fn_metadata.output_schema))
        box.tools.append(registered)
        return fn

    return register
