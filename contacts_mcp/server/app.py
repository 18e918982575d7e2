"""Builds the MCP server: the store opened for the server's lifetime, tools, resources, instructions."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer

from .. import __version__
from .auth import Verifier
from ..core.scope import AppState
from .lifespan import running
from ..core.settings import Settings
from ..tools import contacts, events, exports, fields, folders, imports, jobs, lists, optouts, segments
from ..tools.common import Toolbox
from . import prompts, resources
from .guard import Guard
from .instructions import INSTRUCTIONS

TOOL_MODULES = (contacts, lists, folders, fields, imports, exports, jobs, optouts, segments, events)


def build_server(settings: Settings, *, verifier: Verifier | None = None) -> MCPServer:
    """The server. With a `verifier`, every request must carry an API token (HTTP), which picks its account
    and scope. With `settings.read_only`, the tools that write are not registered at all (--read-only)."""
    tokens = verifier is not None

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[AppState]:
        async with running(settings) as state:
            state.requires_token = tokens
            if verifier is not None:
                verifier.state = state
            yield state

    # The SDK wants an issuer for its auth settings; tokens here are issued by the CLI, not over OAuth.
    auth = AuthSettings(issuer_url="http://127.0.0.1", resource_server_url=None) if tokens else None
    box = Toolbox(read_only=settings.read_only)
    for module in TOOL_MODULES:
        module.register(box)
    server = MCPServer("contacts-mcp", title="Contacts", version=__version__, instructions=INSTRUCTIONS,
                       lifespan=lifespan, log_level="WARNING", token_verifier=verifier, auth=auth, tools=box.tools)
    server.middleware.append(Guard(server))
    resources.register(server)
    prompts.register(server)
    return server
