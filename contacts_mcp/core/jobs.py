"""Background jobs of both kinds, imports and exports, as the job tools see them: read one, wait for it,
page through them, cancel one. They share a table, a queue and a runner (core/imports/runner.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from ..storage.api import Reader, Writer
from .errors import InvalidInput, NotFound
from .exports import jobs as exports
from .exports.delivery import Delivery, key_of
from .imports import jobs as imports
from .imports.sources import discard_own_file
from .models import ExportJob, ImportJob, JobPage
from .normalize import utc_now
from .pagination import decode_cursor, page
from .scope import Scope

Job = ImportJob | ExportJob
FINISHED = imports.FINISHED
WAIT_MAX_SECONDS = 60
LOCAL = Delivery(local=True)


def _row(r: Reader, job_id: str) -> dict[str, Any]:
    row = r.job(job_id)
    if row is None:
        raise NotFound("job id", [job_id], "List jobs with get_jobs.")
    return row


def _model(r: Reader, row: dict[str, Any], delivery: Delivery) -> Job:
    if row["kind"] == "export":
        return exports.to_model(row, delivery, key_of(r) if delivery.base_url else b"")
    return imports.to_model(row)


async def get_job(scope: Scope, job_id: str, delivery: Delivery = LOCAL) -> Job:
    return await scope.read(lambda r: _model(r, _row(r, job_id), delivery))


async def wait_for(scope: Scope, job_id: str, seconds: float, report: Callable[[Job], Awaitable[None]] | None = None,
                   delivery: Delivery = LOCAL) -> Job:
    """The job once it has finished, or as it stands after `seconds`; `report` hears each change."""
    job = await get_job(scope, job_id, delivery)
    last = None
    with anyio.move_on_after(min(seconds, WAIT_MAX_SECONDS)):
        while job.status not in FINISHED:
            if report is not None and (job.status, job.percent) != last:
                last = (job.status, job.percent)
                await report(job)
            await anyio.sleep(0.2)
            job = await get_job(scope, job_id, delivery)
    if report is not None and job.status in FINISHED:
        await report(job)
    return job


async def list_jobs(scope: Scope, *, status: str | None, kind: str | None, limit: int, cursor: str | None,
                    delivery: Delivery = LOCAL) -> JobPage:
    query = {"status": status, "kind": kind}
    after = decode_cursor(cursor, query)

    def unit(r: Reader) -> tuple[list[Job], dict[str, int]]:
        rows = r.jobs(status=status, after_seq=after, limit=limit + 1, kind=kind)
        return [_model(r, row, delivery) for row in rows], {row["id"]: row["seq"] for row in rows}

    jobs, seqs = await scope.read(unit)
    kept, next_cursor = page(jobs, limit=limit, key=lambda j: seqs[j.id], query=query)
    return JobPage(jobs=kept, next_cursor=next_cursor)


async def cancel_job(scope: Scope, job_id: str, delivery: Delivery = LOCAL) -> Job:
    """Stop a queued or running job: an import keeps the batches it applied (the counts say how many lines),
    an export writes no file."""
    def unit(w: Writer) -> Job:
        row = _row(w, job_id)
        if row["status"] in FINISHED:
            raise InvalidInput("job_id", f"job {job_id} has already {row['status']}; only queued or running jobs "
                                         "can be cancelled")
        w.update_job(job_id, {"status": "cancelled", "finished_at": utc_now()})
        # A queued job never reaches the runner, which deletes a job's own copy of its file: do it here.
        if row["status"] == "queued":
            discard_own_file(row)
        return _model(w, w.job(job_id), delivery)

    job = await scope.write(unit, small=True)
    if scope.runner is not None:
        scope.runner.cancel(job_id)
    return job
