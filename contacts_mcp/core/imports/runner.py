"""The job runner: runs queued import and export jobs for as long as the server lives (an export's own
work is core/exports/jobs.py), and deletes export files whose time has come.

Started in the server lifespan. At start-up it also picks up jobs left `running` by a stopped or
killed process and resumes each from its checkpoint.

Fairness: up to `jobs_at_once` jobs run side by side, at most `jobs_per_account` of one account, so a
tenant's slow or stalled jobs (a URL that trickles) never hold up another's; their batches interleave on
the one writer. Each job runs in a cancel scope of its own: cancelling it stops it at once, in the middle
of a download or a read, and frees its slot.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskGroup

from ..contacts import match_order
from ..errors import ContactsError
from ..fields import registry
from ..normalize import utc_now
from ..scope import AppState, Scope
from ..upsert import BatchOptions
from ...outbound import OutboundError, download, post_json
from ...storage.api import Claim
from . import engine
from ..exports import jobs as exports
from ..exports.delivery import Delivery
from .jobs import FINISHED, ImportOptions, to_model
from .readers import Limits
from .sources import discard_own_file, url_policy
from .worker import ChunkSource

log = logging.getLogger(__name__)


POLL_SECONDS = 2.0
SWEEP_SECONDS = 60.0  # how often expired export files are looked for
MAX_STARTS = 3  # a job is started at most this many times without applying a batch: once, then twice more


def _begin(w: Any, job_id: str) -> dict[str, Any] | None:
    """The job about to run, its start counted; or failed, if its earlier starts all ended with the server
    dying before it applied a single batch (whatever in the file does that would do it again)."""
    job = w.job(job_id)
    if job is None or job["status"] in FINISHED:
        return job
    if job["starts"] >= MAX_STARTS:
        w.update_job(job_id, {"status": "failed", "finished_at": utc_now(), "error":
                              f"the server stopped {job['starts']} times while this job was running, each time "
                              "before it got anywhere, so it is not tried again. " + (
                                  "Check the file (or save it as CSV) and import it again" if job["kind"] == "import"
                                  else "Export again, maybe less at a time (a list, a filter)")})
    else:
        w.update_job(job_id, {"starts": job["starts"] + 1})
    return w.job(job_id)


def _mark_running(w: Any, job_id: str, started: str) -> bool:
    if w.job_status(job_id) not in ("queued", "running"):
        return False  # cancelled meanwhile
    w.update_job(job_id, {"status": "running", "started_at": started})
    return True


class _ClaimLost(Exception):
    """This process no longer holds the job's claim (its claim connection dropped)."""


class JobRunner:
    def __init__(self, state: AppState, tg: TaskGroup) -> None:
        self.state = state
        self._tg = tg
        self._wake = anyio.Event()
        self._cancelled: set[str] = set()
        self._running: dict[str, tuple[int, anyio.CancelScope]] = {}  # job id -> (account id, its scope)
        self._claims: dict[str, Claim] = {}  # job id -> this process's claim on it
        self._stops: dict[str, threading.Event] = {}  # job id -> set to stop its export's writing thread
        self._swept = 0.0
        # A URL's user and password, for the job that downloads it: only ever in this memory (see _process).
        self.credentials: dict[str, tuple[str, str]] = {}

    def wake(self) -> None:
        self._wake.set()

    def cancel(self, job_id: str) -> None:
        self.credentials.pop(job_id, None)
        running = self._running.get(job_id)
        if running is not None:  # a queued job is never started: its status says cancelled
            self._cancelled.add(job_id)
            if job_id in self._stops:
                self._stops[job_id].set()  # an export's thread stops at its next batch
            running[1].cancel()  # a download or a read in progress stops now, not at the next batch

    async def run(self) -> None:
        try:
            await self._loop()
        finally:  # the server stops: exports' threads stop at their next batch instead of running to the end
            for stop in self._stops.values():
                stop.set()

    async def _loop(self) -> None:
        settings = self.state.settings
        while True:
            self._wake = anyio.Event()
            if time.monotonic() - self._swept >= SWEEP_SECONDS:
                self._swept = time.monotonic()
                try:
                    await exports.sweep(self.state)
                except Exception:  # the database away for a moment: the next sweep tries again
                    log.exception("the sweep of expired export files failed")
            for account_id, job_id in await self.state.store.pending_jobs():
                if len(self._running) >= settings.jobs_at_once:
                    break
                busy = sum(1 for account, _ in self._running.values() if account == account_id)
                if job_id in self._running or busy >= settings.jobs_per_account:
                    continue  # that account waits for one of its own jobs to end; others go on
                # Several server processes may share the database (PostgreSQL): the one that claims a job runs it.
                claim = await self.state.store.claim(f"import job {job_id}")
                if claim is None:
                    continue
                self._running[job_id] = (account_id, anyio.CancelScope())
                self._claims[job_id] = claim
                self._tg.start_soon(self._slot, account_id, job_id)
            # Woken by a new job or a free slot of this process; else a look every few seconds, for jobs
            # another process queued, or left behind when it died (its claims went with it).
            with anyio.move_on_after(POLL_SECONDS):
                await self._wake.wait()

    async def _slot(self, account_id: int, job_id: str) -> None:
        try:
            await self._run_job(self.state.scope(account_id), job_id)
        finally:
            with anyio.CancelScope(shield=True):
                await self._claims.pop(job_id).release()
            self._running.pop(job_id, None)
            self._cancelled.discard(job_id)
            self._stops.pop(job_id, None)
            self.credentials.pop(job_id, None)
            self.wake()  # a slot is free: the next job may start

    async def _run_job(self, scope: Scope, job_id: str) -> None:
        with self._running[job_id][1]:
            job = await scope.write(lambda w: _begin(w, job_id))
            if job is None or job["status"] in FINISHED:
                return
            try:
                if job["kind"] == "export":
                    self._stops[job_id] = threading.Event()
                    await exports.run_export(scope, job, self._stops[job_id])
                else:
                    await self._process(scope, job)
            except _ClaimLost:
                # Another process may run it now, from the last batch committed: this one leaves it as it is.
                log.warning("import job %s: this process lost its claim on it; stopped here", job_id)
                return
            except (ContactsError, OutboundError) as exc:
                await self._finish(scope, job_id, "failed", str(exc))
            except Exception as exc:  # a bug must fail the job, not the runner
                log.exception("job %s crashed", job_id)
                await self._finish(scope, job_id, "failed", f"internal error ({type(exc).__name__})" + (
                    "; the lines counted so far were imported" if job["kind"] == "import" else ""))
        final = await scope.read(lambda r: r.job(job_id))
        if final["status"] in FINISHED:
            discard_own_file(final)
            if final["notify_url"]:
                self._tg.start_soon(self._notify, scope, final)

    async def _process(self, scope: Scope, job: dict[str, Any]) -> None:
        job_id = job["id"]
        raw_options = dict(job["options"])
        raw_options.pop("owned", None)  # read again where the file is deleted
        url = raw_options.pop("url", None)
        with_credentials = raw_options.pop("credentials", False)  # a flag: the user and password are not stored
        options = ImportOptions(**raw_options)
        settings = scope.settings
        path = Path(job["file_path"]) if job["file_path"] else None
        if path is None or not path.exists():
            if not url:
                raise ContactsError(f"the file of this job is gone ({job['source_name']}); import it again")
            auth = self.credentials.get(job_id)
            if with_credentials and auth is None:
                raise ContactsError("the server restarted before this job downloaded its URL, and the URL's user "
                                    "and password are never stored, so they are gone: start the import again")
            # Downloading is part of running: the job says so, and a cancel stops the transfer.
            started = job["started_at"] or utc_now()
            if not await scope.write(lambda w: _mark_running(w, job_id, started)):
                return
            job = {**job, "started_at": started}
            path = settings.jobs_dir / f"{job_id}.download"
            settings.jobs_dir.mkdir(parents=True, exist_ok=True)
            got = await download(url, path, max_bytes=settings.max_file_bytes, policy=url_policy(settings),
                                 auth=auth)
            options.name_hint = options.name_hint or got.filename
            await scope.write(lambda w: w.update_job(job_id, {"file_path": str(path)}))
        reg = await registry(scope, fresh=True)
        # Spreadsheet XML inflates 10-20x: the uncompressed bound follows the file bound, while the per-entry
        # compression ratio (100:1) still stops bombs.
        limits = Limits(max_file_bytes=settings.max_file_bytes, max_zip_total_bytes=25 * settings.max_file_bytes,
                        max_reader_bytes=settings.reader_memory_bytes)
        match_keys = match_order(options.dedupe_on)  # type: ignore[arg-type]
        spec = engine.ReadSpec(path=path, format=options.format, name_hint=options.name_hint,
                               encoding=options.encoding, delimiter=options.delimiter, sheet=options.sheet,
                               limits=limits, region=settings.default_region, registry=reg,
                               has_header=options.has_header, explicit=options.mapping,
                               checkpoint=job["checkpoint"], match_keys=match_keys)
        chunks = ChunkSource(spec, memory_bytes=settings.reader_memory_bytes, seconds=settings.reader_seconds)
        try:
            header = await chunks.next()
            if not isinstance(header, engine.Header):
                raise RuntimeError("the reader sent no header")
            started = job["started_at"] or utc_now()

            def start(w: Any) -> bool:
                if w.job(job_id)["status"] not in ("queued", "running"):
                    return False  # cancelled while the file was being opened
                w.update_job(job_id, {"status": "running", "started_at": started, "format": header.format,
                                      "mapping": header.mapping.described(),
                                      "unknown_columns": header.mapping.unknown, "total_lines": header.total_lines,
                                      "notes": header.mapping.notes or None})
                return True

            if not await scope.write(start):
                return
            lists = tuple(dict.fromkeys([*options.list_ids, *([job["list_id"]] if job["list_id"] else [])]))
            await self._apply_all(scope, job_id, chunks, options, match_keys, lists, header.mapping.headers)
        finally:
            chunks.close()
        if job_id not in self._cancelled:
            await self._finish(scope, job_id, "completed", None)

    async def _apply_all(self, scope: Scope, job_id: str, chunks: ChunkSource, options: ImportOptions,
                         match_keys: tuple[str, ...], lists: tuple[int, ...], headers: list[str]) -> None:
        job_opts = BatchOptions(match_keys=match_keys, update_enabled=options.update_existing,
                                erase=options.empty_values_erase, source=f"import:{job_id}", now=utc_now(),
                                repeats="skip", job_id=job_id, list_ids=lists, skip_existing=True,
                                segment_ids=tuple(options.segment_ids),
                                unlink_segment_ids=tuple(options.unlink_segment_ids),
                                optout=tuple(options.optout_channels), event_key=options.event_key,
                                restore_deleted=options.restore_deleted)
        failure: Exception | None = None
        # The next chunk is received (and decoded) while this one is applied: the writer never waits for it.
        send, receive = anyio.create_memory_object_stream[engine.Chunk | Exception | None](0)

        async def read_ahead() -> None:
            async with send:
                while True:
                    try:
                        chunk = await chunks.next()
                    except Exception as exc:  # noqa: BLE001 - raised by the loop below, as if read there
                        await send.send(exc)
                        return
                    await send.send(chunk)
                    if chunk is None:
                        return

        async with anyio.create_task_group() as tg, receive:
            tg.start_soon(read_ahead)
            async for chunk in receive:
                if isinstance(chunk, Exception):
                    failure = chunk  # raised outside the task group, which would wrap it in a group
                    break
                if chunk is None or job_id in self._cancelled:
                    break
                if not await self._claims[job_id].held():
                    failure = _ClaimLost(job_id)
                    break
                opts = dataclasses.replace(job_opts, now=utc_now())  # each batch stamped with its own time

                def unit(w: Any, chunk: engine.Chunk = chunk, opts: BatchOptions = opts) -> bool:
                    # Checked inside the transaction: once a cancel has committed, no batch follows it.
                    if w.job_status(job_id) != "running":
                        return False
                    engine.apply_chunk(w, job_id, chunk, opts, headers)
                    return True

                if not await scope.write(unit):
                    break
            tg.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _finish(self, scope: Scope, job_id: str, status: str, error: str | None) -> None:
        def unit(w: Any) -> None:
            job = w.job(job_id)
            if job["status"] in ("queued", "running"):
                values: dict[str, Any] = {"status": status, "error": error, "finished_at": utc_now()}
                if status == "completed":
                    # A CSV's length is known only once read: then the lines read are the total.
                    values.update(percent=100.0, total_lines=job["total_lines"] or job["lines_read"])
                w.update_job(job_id, values)

        await scope.write(unit)

    async def _notify(self, scope: Scope, job: dict[str, Any]) -> None:
        kind = job["kind"]
        # An export's summary holds no path nor link: whoever is notified reads the job for those.
        summary = (to_model(job) if kind == "import" else exports.to_model(job, Delivery(local=False), b"")
                   ).model_dump(mode="json")
        try:
            result = await post_json(job["notify_url"], {"event": f"{kind}.finished", "job": summary},
                                     policy=url_policy(scope.settings))
            outcome = {"delivered": result.delivered, "attempts": result.attempts, "status": result.status,
                       "error": result.error}
        except (ContactsError, OutboundError) as exc:
            outcome = {"delivered": False, "attempts": 0, "status": None, "error": str(exc)}
        await scope.write(lambda w: w.update_job(job["id"], {"notify_result": outcome}))
