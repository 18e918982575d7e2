"""Builds the MCP server: the store opened for the server's lifetime, tools, resources, instructions."""

from contextlib import AbstractAsyncContextManager

from mcp.server.mcpserver import MCPServer

from .. import __version__
from ..core.scope import AppState
from ..core.settings import Settings
from ..tools import contacts, events, fields, folders, imports, lists, optouts, segments
from . import prompts, resources
from .instructions import INSTRUCTIONS

TOOL_MODULES = (contacts, lists, folders, fields, imports, optouts, segments, events)


def build_server(settings: Settings) -> MCPServer:
    def lifespan(_: MCPServer) -> AbstractAsyncContextManager[AppState]:
        return AppState.running(settings)

    server = MCPServer("contacts-mcp", title="Contacts", version=__version__, instructions=INSTRUCTIONS,
                       lifespan=lifespan, log_level="WARNING")
    for module in TOOL_MODULES:
        module.register(server)
    resources.register(server)
    prompts.register(server)
    return server
