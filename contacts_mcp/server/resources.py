"""Resources: one contact or one list by id, as JSON; charts; import jobs; small export files; the filter
language."""

from collections.abc import Awaitable
from typing import TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from ..core import contacts, filters, jobs as all_jobs, lists, stats
from ..core.exports import files
from ..core.imports import jobs
from ..core.errors import ContactsError
from ..tools.common import scope_of

T = TypeVar("T")


def _id(value: str, kind: str) -> int:
    if not value.isdigit():
        raise ResourceNotFoundError(f"{kind} id must be a number, received {value!r}")
    return int(value)


async def _found(result: Awaitable[T]) -> T:
    """A resource's content; a domain error (unknown id, another account's) reads as not found."""
    try:
        return await result
    except ContactsError as exc:
        raise ResourceNotFoundError(str(exc)) from None


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
        found = await _found(lists.get_lists(scope_of(ctx), ids=[_id(id, "list")], folder_id=None,
                                             properties=list(lists.ALL_PROPERTIES), limit=1, cursor=None))
        if not found.lists:
            raise ResourceNotFoundError(f"unknown list id: {id}")
        return found.lists[0].model_dump_json()

    @server.resource("contacts://stats/{target}/chart.png", name="reachability_chart", mime_type="image/png",
                     description="Reachability per channel (reachable, opted out, no address) as a PNG bar chart; "
                                 "target is 'all' for the whole base or a list id.")
    async def chart_resource(target: str, ctx: Context) -> bytes:
        return await _found(stats.chart(scope_of(ctx), None if target == "all" else _id(target, "list")))

    @server.resource("contacts://imports/{job_id}", name="import_job", mime_type="application/json",
                     description="One import job: status, counts, percent, mapping, error report link.")
    async def job_resource(job_id: str, ctx: Context) -> str:
        return (await _found(all_jobs.get_job(scope_of(ctx), job_id))).model_dump_json()

    @server.resource("contacts://imports/{job_id}/errors{?cursor}", name="import_errors",
                     mime_type="application/json",
                     description="An import's rejected lines (line, original values, reason), 100 a page; "
                                 "pass next_cursor as ?cursor= for the next page.")
    async def errors_resource(job_id: str, ctx: Context, cursor: str | None = None) -> str:
        return (await _found(jobs.error_page(scope_of(ctx), job_id, cursor))).model_dump_json()

    @server.resource("contacts://imports/{job_id}/errors.csv", name="import_errors_csv", mime_type="text/csv",
                     description="An import's rejected lines as a CSV file (line, reason, original columns).")
    async def errors_csv_resource(job_id: str, ctx: Context) -> str:
        return await _found(jobs.errors_csv(scope_of(ctx), job_id))

    @server.resource("contacts://exports/{job_id}.csv", name="export_csv", mime_type="text/csv",
                     description="A completed CSV export's file, up to 1 MB (larger: its path or download_url).")
    async def export_csv(job_id: str, ctx: Context) -> str:
        return (await _found(files.small_file(scope_of(ctx), job_id, "csv"))).decode("utf-8")

    @server.resource("contacts://exports/{job_id}.jsonl", name="export_jsonl", mime_type="application/x-ndjson",
                     description="A completed JSON-lines export's file, up to 1 MB.")
    async def export_jsonl(job_id: str, ctx: Context) -> str:
        return (await _found(files.small_file(scope_of(ctx), job_id, "jsonl"))).decode("utf-8")

    @server.resource("contacts://exports/{job_id}.xlsx", name="export_xlsx",
                     mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     description="A completed XLSX export's file, up to 1 MB.")
    async def export_xlsx(job_id: str, ctx: Context) -> bytes:
        return await _found(files.small_file(scope_of(ctx), job_id, "xlsx"))

    @server.resource("contacts://filters", name="filter_language", mime_type="text/plain",
                     description="The filter language of get_contacts, get_stats, apply_to_contacts and dynamic "
                                 "segments: nodes, operators, fields, predicates, limits, an example.")
    async def filters_resource() -> str:  # static: the SDK gives a static resource no context (custom fields: get_fields)
        return filters.doc()
