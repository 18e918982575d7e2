"""export_contacts: a list, segment, filter or the whole base to a CSV, XLSX or JSON-lines file."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from ..core import jobs
from ..core.exports import jobs as core
from ..core.models import Delimiter, ExportFormat, ExportJob
from .common import FilterArg, Toolbox, scope_of, tool
from .jobs import Wait, delivery_of, progress


def register(box: Toolbox) -> None:
    @tool(box, read_only=False)
    async def export_contacts(
        ctx: Context,
        list_id: Annotated[int | None, Field(description="Export this list's members.")] = None,
        segment_id: Annotated[int | None, Field(description="Export this segment's.")] = None,
        filter: FilterArg = None,  # noqa: A002
        deleted: Annotated[Literal["no", "also", "only"], Field(description="Deleted contacts: left out, too, "
                                                                            "or only them.")] = "no",
        columns: Annotated[list[str] | None, Field(max_length=200, description="In this order. Default: fields, "
                                                   "lists, segments, optout_<channel>, status, id, source, "
                                                   "created_at, updated_at.")] = None,
        format: Annotated[ExportFormat, Field(description="File format.")] = "csv",  # noqa: A002
        delimiter: Annotated[Delimiter, Field(description="CSV delimiter.")] = ",",
        bom: Annotated[bool, Field(description="CSV: start with a UTF-8 BOM (Excel).")] = False,
        notify_url: Annotated[str | None, Field(description="POSTed the summary at the end.")] = None,
        wait_seconds: Wait = 0,
    ) -> ExportJob:
        """Export contacts (of a list, a segment, a filter: those in all given; else everyone) to a file in a
        background job: follow it with get_jobs. Formula-like cells get a leading apostrophe; import_file reads
        the file back as is."""
        scope, delivery = scope_of(ctx), delivery_of(ctx)
        options = core.ExportOptions(format=format, columns=list(columns or []), list_id=list_id,
                                     segment_id=segment_id, filter=filter.dump() if filter else None,
                                     deleted=deleted, delimiter=delimiter, bom=bom)
        job = await core.create_export(scope, options, notify_url=notify_url, delivery=delivery)
        if wait_seconds:
            job = await jobs.wait_for(scope, job.id, wait_seconds, lambda j: progress(ctx, j), delivery)
        return job  # type: ignore[return-value]
