"""The job tools, for imports and exports alike: get_jobs, cancel_job."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from ..core import jobs as core
from ..core.exports.delivery import Delivery
from ..core.models import ExportJob, ImportJob, JobPage
from .common import Cursor, Toolbox, client_is_local, scope_of, tool

Wait = Annotated[int, Field(description="Wait this long for the end (progress notified).", ge=0, le=60)]


def delivery_of(ctx: Context) -> Delivery:
    """How this caller gets an export's file: a path if it runs on this machine, else a URL on this server."""
    request = ctx.request_context.request
    base = str(request.base_url) if request is not None and hasattr(request, "base_url") else None
    return Delivery(local=client_is_local(ctx), base_url=base)


async def progress(ctx: Context, job: ImportJob | ExportJob) -> None:
    text = (f"{job.lines_read} lines read, {job.invalid} invalid" if isinstance(job, ImportJob)
            else f"{job.rows} of {job.total_rows or '?'} contacts written")
    await ctx.report_progress(job.percent, 100, f"{job.status}: {text}")


def register(box: Toolbox) -> None:
    @tool(box, read_only=True, idempotent=True)
    async def get_jobs(
        ctx: Context,
        job_id: Annotated[str | None, Field(description="One job.")] = None,
        kind: Annotated[Literal["import", "export"] | None, Field(description="Only jobs of this kind.")] = None,
        status: Annotated[Literal["queued", "running", "completed", "failed", "cancelled"] | None,
                          Field(description="Only jobs in this state.")] = None,
        wait_seconds: Wait = 0,
        limit: Annotated[int, Field(description="Page size.", ge=1, le=50)] = 10,
        cursor: Cursor = None,
    ) -> JobPage:
        """Read one import or export job, optionally waiting for its end; or page through jobs, newest first."""
        scope, delivery = scope_of(ctx), delivery_of(ctx)
        if job_id is not None:
            job = await (core.wait_for(scope, job_id, wait_seconds, lambda j: progress(ctx, j), delivery)
                         if wait_seconds else core.get_job(scope, job_id, delivery))
            return JobPage(jobs=[job])
        return await core.list_jobs(scope, status=status, kind=kind, limit=limit, cursor=cursor, delivery=delivery)

    @tool(box, read_only=False, destructive=True)
    async def cancel_job(
        ctx: Context,
        job_id: Annotated[str, Field(description="The queued or running job to stop.")],
    ) -> JobPage:
        """Stop a queued or running job. An import keeps the lines already imported (see its counts); an export
        writes no file."""
        return JobPage(jobs=[await core.cancel_job(scope_of(ctx), job_id, delivery_of(ctx))])
