"""Resources: one contact or one list by id, as JSON."""

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from ..core import contacts, lists
from ..core.errors import ContactsError
from ..tools.common import scope_of


def _id(value: str, kind: str) -> int:
    if not value.isdigit():
        raise ResourceNotFoundError(f"{kind} id must be a number, received {value!r}")
    return int(value)


def register(server: MCPServer) -> None:
    @server.resource("contacts://contacts/{id}", name="contact", mime_type="application/json",
                     description="One contact by id, as get_contacts returns it (deleted ones included).")
    async def contact_resource(id: str, ctx: Context) -> str:
        found = await contacts.get_contacts(scope_of(ctx), ids=[_id(id, "contact")])
        if not found.contacts:
            raise ResourceNotFoundError(f"unknown contact id: {id}")
        return found.contacts[0].model_dump_json()

    @server.resource("contacts://lists/{id}", name="list", mime_type="application/json",
                     description="One list by id with all its properties and statistics.")
    async def list_resource(id: str, ctx: Context) -> str:
        try:
            found = await lists.get_lists(scope_of(ctx), ids=[_id(id, "list")], folder_id=None,
                                          properties=list(lists.ALL_PROPERTIES), limit=1, cursor=None)
        except ContactsError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        if not found.lists:
            raise ResourceNotFoundError(f"unknown list id: {id}")
        return found.lists[0].model_dump_json()
