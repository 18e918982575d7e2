"""contacts-mcp: an MCP server that gives AI assistants a contact-management backend."""

__version__ = "0.1.0"
