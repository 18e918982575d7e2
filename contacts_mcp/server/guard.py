"""MCP middleware run before the SDK validates a request's arguments (the SDK's public seam for this).

  * A tool call from a token whose scope is too low is refused before its arguments are validated: a
    read token's big write call costs nothing.
  * Unknown argument names are refused, naming them, the closest accepted name and every accepted one:
    dropping them silently turned a typo (`contact_id` for `contact_ids`) into "no ids: the whole segment".
  * `tools/list` shows a token only the tools its scope may call (what --read-only does on stdio).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ListToolsResult, TextContent

from ..core.accounts import allows
from ..tools.common import token_of


@dataclass(frozen=True)
class _Tool:
    needed: str               # the scope it needs
    accepted: tuple[str, ...]  # its argument names, in schema order


@dataclass
class Guard:
    server: MCPServer
    _tools: dict[str, _Tool] | None = field(default=None, repr=False)

    async def tools(self) -> dict[str, _Tool]:
        if self._tools is None:  # every tool is registered before the first request
            self._tools = {t.name: _Tool("read" if t.annotations and t.annotations.read_only_hint else "write",
                                         tuple(t.input_schema.get("properties", {})))
                           for t in await self.server.list_tools()}
        return self._tools

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        if ctx.method == "tools/call" and isinstance(ctx.params, Mapping):
            refusal = await self._refusal(ctx)
            if refusal is not None:
                return CallToolResult(content=[TextContent(type="text", text=refusal)], is_error=True)
        result = await call_next(ctx)
        if ctx.method == "tools/list":
            token = token_of(ctx.request)
            if token is not None:
                result = await self._visible(result, token.scope)
        return result

    async def _visible(self, result: Any, scope: str) -> Any:
        """The tools/list result without the tools `scope` may not call (a model, or its dict on the wire)."""
        tools = await self.tools()

        def shown(name: str) -> bool:
            return name not in tools or allows(scope, tools[name].needed)  # type: ignore[arg-type]

        if isinstance(result, ListToolsResult):
            return result.model_copy(update={"tools": [t for t in result.tools if shown(t.name)]})
        if isinstance(result, dict) and isinstance(result.get("tools"), list):
            return {**result, "tools": [t for t in result["tools"] if shown(t.get("name", ""))]}
        return result

    async def _refusal(self, ctx: Any) -> str | None:
        name = ctx.params.get("name")
        tool = (await self.tools()).get(name) if isinstance(name, str) else None
        if tool is None:
            return None  # the SDK answers unknown tools itself
        token = token_of(ctx.request)
        if token is not None and not allows(token.scope, tool.needed):  # type: ignore[arg-type]
            return (f"{name} needs a token with scope {tool.needed} (or higher); yours has scope {token.scope}. "
                    f"Ask for a {tool.needed} token, or use read-only tools.")
        arguments = ctx.params.get("arguments")
        unknown = [k for k in arguments if k not in tool.accepted] if isinstance(arguments, Mapping) else []
        if not unknown:
            return None
        hints = []
        for k in unknown[:5]:
            close = difflib.get_close_matches(k, tool.accepted, n=1, cutoff=0.6)
            hints.append(f"{_short(k)!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        return (f"{name} does not take the argument{'s' if len(unknown) > 1 else ''} {', '.join(hints)}{more}; "
                f"nothing was done. It accepts: {', '.join(tool.accepted)}.")


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:60] + "…"
