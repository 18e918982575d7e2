"""MCP middleware run before the SDK validates a request's arguments (the SDK's public seam for this).

  * A tool call from a token whose scope is too low is refused before its arguments are validated: a
    read token's big write call costs nothing.
  * Unknown argument names are refused, naming them, the closest accepted name and every accepted one:
    dropping them silently turned a typo (`contact_id` for `contact_ids`) into "no ids: the whole segment".
  * `tools/list` shows a token only the tools its scope may call (what --read-only does on stdio).
  * Numbers past SQLite's range and text holding NUL are refused naming the argument (tools/errors.py);
    a prompt's missing or unknown arguments are named too.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, ListToolsResult, TextContent

from ..core.accounts import allows
from ..tools.common import token_of
from ..tools.errors import bad_value


ARRAY_MAX = 10_000  # items in an array argument whose schema sets no bound (the largest core limit)


@dataclass(frozen=True)
class _Tool:
    needed: str               # the scope it needs
    accepted: tuple[str, ...]  # its argument names, in schema order
    max_items: dict[str, int]  # the bound of each array argument


def _max_items(schema: dict[str, Any]) -> dict[str, int]:
    bounds = {}
    for name, prop in schema.get("properties", {}).items():
        for variant in prop.get("anyOf", [prop]):
            if variant.get("type") == "array":
                bounds[name] = variant.get("maxItems", ARRAY_MAX)
    return bounds


@dataclass
class Guard:
    server: MCPServer
    _tools: dict[str, _Tool] | None = field(default=None, repr=False)
    _prompts: dict[str, dict[str, bool]] | None = field(default=None, repr=False)

    async def tools(self) -> dict[str, _Tool]:
        if self._tools is None:  # every tool is registered before the first request
            self._tools = {t.name: _Tool("read" if t.annotations and t.annotations.read_only_hint else "write",
                                         tuple(t.input_schema.get("properties", {})), _max_items(t.input_schema))
                           for t in await self.server.list_tools()}
        return self._tools

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        if ctx.method == "tools/call" and isinstance(ctx.params, Mapping):
            refusal = await self._refusal(ctx)
            if refusal is not None:
                return CallToolResult(content=[TextContent(type="text", text=refusal)], is_error=True)
        if ctx.method == "prompts/get" and isinstance(ctx.params, Mapping):
            await self._check_prompt(ctx.params)
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

    async def _check_prompt(self, params: Mapping[str, Any]) -> None:
        """A prompt's missing or unknown arguments, named (the SDK let them through to fail inside)."""
        if self._prompts is None:
            self._prompts = {p.name: {a.name: bool(a.required) for a in p.arguments or []}
                             for p in await self.server.list_prompts()}
        name = params.get("name")
        accepted = self._prompts.get(name) if isinstance(name, str) else None
        if accepted is None:
            return
        given = params.get("arguments") or {}
        if not isinstance(given, Mapping):
            raise MCPError(code=INVALID_PARAMS, message=f"prompt {name}: arguments must be an object of names to "
                                                        "text values")
        missing = [a for a, required in accepted.items() if required and not given.get(a)]
        unknown = [_short(str(a)) for a in given if a not in accepted]
        if missing or unknown:
            problems = ([f"needs the argument{'s' if len(missing) > 1 else ''} {', '.join(missing)}"] if missing
                        else []) + ([f"does not take {', '.join(unknown[:5])}"] if unknown else [])
            raise MCPError(code=INVALID_PARAMS, message=f"prompt {name} {' and '.join(problems)}; its arguments: "
                           + ", ".join(f"{a} ({'required' if r else 'optional'})" for a, r in accepted.items()))

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
        if not isinstance(arguments, Mapping):
            return None  # the SDK's validation names what is wrong
        unknown = [k for k in arguments if k not in tool.accepted]
        if not unknown:
            # Counted before validation builds an object per item: 2.7 million {} in 11 MB took 20 s and 3 GB.
            for arg, bound in tool.max_items.items():
                value = arguments.get(arg)
                if isinstance(value, list) and len(value) > bound:
                    return (f"{arg}: at most {bound:,} items per call, received {len(value):,}; nothing was done. "
                            "Split the call.")
            return bad_value(arguments)
        hints = []
        for k in unknown[:5]:
            close = difflib.get_close_matches(k, tool.accepted, n=1, cutoff=0.6)
            hints.append(f"{_short(k)!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        return (f"{name} does not take the argument{'s' if len(unknown) > 1 else ''} {', '.join(hints)}{more}; "
                f"nothing was done. It accepts: {', '.join(tool.accepted)}.")


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:60] + "…"
