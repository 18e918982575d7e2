"""Export jobs: queued by export_contacts, run by the job runner (core/imports/runner.py) beside imports,
in the same table, queue and tools.

An export reads one snapshot (Store.stream: one transaction, whatever imports commit meanwhile) and
streams it, a batch at a time, into a `.part` file renamed when complete, so a file that exists is whole.
Memory stays flat: nothing but one batch is ever held.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import get_args
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio

from ...outbound import check_url
from ...storage.api import All, Node, Reader, Writer
from ..errors import ContactsError, InvalidInput, NotFound
from ..fields import registry
from ..filters import Filters, filters_of, member
from ..imports.jobs import QUEUED_MAX, notify_text, room_in_queue
from ..imports.sources import url_policy
from ..lists import require_list
from ..models import Delimiter, ExportJob, Filter
from ..normalize import format_ts, utc_now
from ..scope import Scope
from .columns import GROUPS, check_names, default_columns, shapers, storage_columns
from .delivery import Delivery, link
from .writers import EXTENSIONS, open_writer

PAGE = 500  # lists or segments read a page at a time for their names
DELIMITERS: tuple[str, ...] = get_args(Delimiter)
RESOURCE_MAX_BYTES = 1024 * 1024
XLSX_MAX_ROWS = 1_048_576  # Excel's rows, the header's included
log = logging.getLogger(__name__)


@dataclass
class ExportOptions:
    """What an export writes; stored with the job, so a job restarted after a crash writes the same."""

    format: str = "csv"
    columns: list[str] = field(default_factory=list)
    list_id: int | None = None
    segment_id: int | None = None
    filter: dict[str, Any] | None = None
    deleted: str = "no"
    delimiter: str = ","
    bom: bool = False


class _Stopped(Exception):
    """The job was cancelled while its file was being written."""


def _tree(r: Reader, compiler: Filters, options: ExportOptions) -> Node | None:
    """Who is exported: the list's members, the segment's (static or dynamic), the filter's contacts, all
    three together when several are given; everyone when none is."""
    parts: list[Node] = []
    if options.list_id is not None:
        require_list(r, options.list_id)
        parts.append(member("list", [options.list_id]))
    if options.segment_id is not None:
        rows = r.segments_by_ids([options.segment_id])
        if not rows:
            raise NotFound("segment id", [options.segment_id], "Find segment ids with get_segments.")
        parts.append(compiler.segment(r, rows[0]))
    if options.filter is not None:
        parts.append(compiler.compile(r, Filter.model_validate(options.filter)))
    return None if not parts else parts[0] if len(parts) == 1 else All(tuple(parts))


def _describe(options: ExportOptions) -> tuple[str, str]:
    """The job's source kind and name, e.g. ("list", "list 3 + filter")."""
    named = [f"list {options.list_id}" if options.list_id is not None else "",
             f"segment {options.segment_id}" if options.segment_id is not None else "",
             "filter" if options.filter is not None else ""]
    named = [n for n in named if n]
    kind = named[0].split()[0] if named else "all"
    text = " + ".join(named) if named else "all contacts"
    return kind, text + ("" if options.deleted == "no" else " (deleted too)" if options.deleted == "also"
                         else " (deleted only)")


def to_model(row: dict[str, Any], delivery: Delivery, key: bytes) -> ExportJob:
    options = row["options"]
    path, size = row["file_path"], row["bytes"]
    ready = row["status"] == "completed" and path is not None and Path(path).is_file()
    expired = row["status"] == "completed" and not ready
    ext = EXTENSIONS[options["format"]]
    return ExportJob(
        id=row["id"], status=row["status"], source=row["source_name"], format=options["format"],
        columns=options["columns"], rows=row["lines_read"], total_rows=row["total_lines"], percent=row["percent"],
        bytes=size, file=path if ready and delivery.local else None,
        download_url=link(key, row["account_id"], row["id"], delivery.base_url) if ready and delivery.base_url else None,
        resource=f"contacts://exports/{row['id']}.{ext}" if ready and size is not None and size <= RESOURCE_MAX_BYTES
        else None,
        expires_at=row["expires_at"],
        error=row["error"] or (f"the file was deleted (exports are kept until expires_at only); export again"
                               if expired else None),
        notify=notify_text(row), created_at=row["created_at"], started_at=row["started_at"],
        finished_at=row["finished_at"])


async def create_export(scope: Scope, options: ExportOptions, *, notify_url: str | None,
                        delivery: Delivery) -> ExportJob:
    """Check everything that can be checked now, queue the job; returns at once."""
    if options.delimiter not in DELIMITERS:
        raise InvalidInput("delimiter", f"must be one of {', '.join(map(repr, DELIMITERS))} (the ones imports "
                                        f"detect); received {options.delimiter!r}")
    await registry(scope, fresh=True)
    compiler = await filters_of(scope)
    options.columns = (check_names(options.columns) if options.columns
                       else default_columns(compiler.reg, options.deleted))
    storage_columns(options.columns, compiler.reg)
    if notify_url:
        await check_url(notify_url, url_policy(scope.settings))
    job_id = "exp_" + secrets.token_urlsafe(16)
    source_kind, source_name = _describe(options)

    def unit(w: Writer) -> ExportJob:
        room_in_queue(w)
        _tree(w, compiler, options)  # a list, segment or filter that is not there is refused now
        w.insert_job({"id": job_id, "kind": "export", "status": "queued", "source_kind": source_kind,
                      "source_name": source_name, "format": options.format, "options": asdict(options),
                      "notify_url": notify_url, "created_at": utc_now()})
        return to_model(w.job(job_id), delivery, b"")

    job = await scope.write(unit)
    if scope.runner is not None:
        scope.runner.wake()
    return job


def _group_names(r: Reader, kind: str) -> dict[int, str]:
    names: dict[int, str] = {}
    after = None
    while True:
        rows = (r.list_lists(folder_id=None, after_id=after, limit=PAGE) if kind == "list"
                else r.list_segments(after_id=after, limit=PAGE))
        names.update((row["id"], row["name"]) for row in rows if not row.get("filter_json"))
        if len(rows) < PAGE:
            return names
        after = rows[-1]["id"]


def _write_file(r: Reader, compiler: Filters, options: ExportOptions, part: Path,
                tick: Callable[[int, int], None], stop: threading.Event) -> int:
    """The whole export, on one snapshot, into `part`; the number of contacts written. `tick(rows, total)`
    hears the progress about once a second."""
    tree = _tree(r, compiler, options)
    columns = storage_columns(options.columns, compiler.reg)
    total = r.export_count(tree, deleted=options.deleted)
    if options.format == "xlsx" and total >= XLSX_MAX_ROWS:
        raise InvalidInput("format", f"xlsx: a sheet holds {XLSX_MAX_ROWS - 1:,} contacts at most and this export "
                                     f"has {total:,}; use csv or jsonl, or export less (a list, a filter)")
    with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
        out = open_writer(options.format, file, delimiter=options.delimiter, bom=options.bom)
        out.header(options.columns)
        native = options.format == "csv" and r.native_csv
        written, told = 0, time.monotonic()
        for chunk, rows in _native(r, tree, columns, options) if native else _batches(r, tree, columns, options):
            if stop.is_set():
                raise _Stopped
            out.raw(chunk) if native else out.rows(chunk)  # type: ignore[attr-defined] - raw: a CsvWriter
            written += rows
            if time.monotonic() - told >= 1.0:
                tick(min(written, total), total)
                told = time.monotonic()
        out.close()
    return total if native else written


def _native(r: Reader, tree: Node | None, columns: list, options: ExportOptions) -> Iterator[tuple[bytes, int]]:
    """CSV the database writes itself (PostgreSQL: COPY), with its line breaks as a count (progress only: a
    quoted field may hold one too)."""
    for data in r.export_csv(tree, columns, deleted=options.deleted, delimiter=options.delimiter):
        yield data, data.count(b"\n")


def _batches(r: Reader, tree: Node | None, columns: list, options: ExportOptions) -> Iterator[tuple[list, int]]:
    """Rows as the file shows them: group ids named, JSON lines' values typed (columns.shapers)."""
    text = options.format != "jsonl"
    shape = shapers(columns, {kind: _group_names(r, kind) for kind in GROUPS.values()
                              if any(c.group == kind for c in columns)}, text=text)
    for batch in r.export_rows(tree, columns, deleted=options.deleted, text=text):
        yield ([_shaped(row, shape) for row in batch] if shape else batch), len(batch)


def _shaped(row: tuple, shape: list) -> list:
    values = list(row)
    for i, fn in shape:
        values[i] = fn(values[i])
    return values


async def run_export(scope: Scope, job: dict[str, Any], stop: threading.Event) -> None:
    """Write the job's file (the job runner's part: it marks the job failed if this raises)."""
    job_id = job["id"]
    options = ExportOptions(**job["options"])
    folder = scope.settings.exports_dir
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # A name of this attempt's own, created here or failing: another process that took the job over (its
    # claim lost here) never writes into the same file.
    part = folder / f"{job_id}.{secrets.token_hex(4)}.{EXTENSIONS[options.format]}.part"
    started = job["started_at"] or utc_now()

    def begin(w: Writer) -> bool:
        if w.job_status(job_id) not in ("queued", "running"):
            return False  # cancelled meanwhile
        w.update_job(job_id, {"status": "running", "started_at": started, "lines_read": 0, "percent": 0.0})
        return True

    if not await scope.write(begin, small=True):
        return
    await registry(scope, fresh=True)  # fields changed since the job was queued are the ones written
    compiler = await filters_of(scope)

    async def told(rows: int, total: int) -> None:
        values = {"lines_read": rows, "total_lines": total, "percent": round(100.0 * rows / total, 1) if total else 0.0}

        def unit(w: Writer) -> bool:
            if w.job_status(job_id) != "running":
                return False
            w.update_job(job_id, values)
            return True

        if not await scope.write(unit, small=True):
            stop.set()  # cancelled, maybe from another server process: this one stops writing

    def tick(rows: int, total: int) -> None:  # from the export's thread: the write runs on the event loop
        anyio.from_thread.run(told, rows, total)

    try:
        written = await scope.store.stream(
            scope.account_id, lambda r: _write_file(r, compiler, options, part, tick, stop))
    except _Stopped:
        part.unlink(missing_ok=True)
        return
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    final = folder / f"{job_id}.{EXTENSIONS[options.format]}"
    os.replace(part, final)
    size = final.stat().st_size
    expires = format_ts(datetime.now(timezone.utc) + timedelta(hours=scope.settings.export_hours))

    def finish(w: Writer) -> bool:
        if w.job_status(job_id) != "running":
            return False  # cancelled at the last moment: the file goes
        w.update_job(job_id, {"status": "completed", "lines_read": written, "total_lines": written, "percent": 100.0,
                              "file_path": str(final), "bytes": size, "expires_at": expires,
                              "finished_at": utc_now()})
        return True

    with anyio.CancelScope(shield=True):  # a cancel now must not leave a finished file nobody knows of
        if not await scope.write(finish, small=True):
            final.unlink(missing_ok=True)


async def sweep(state: Any) -> None:
    """Delete the export files whose time has come, across accounts, and the .part files a crash left behind
    (the job runner calls it now and then). A file that cannot be deleted is logged and tried again next time:
    it never stops the runner."""
    for account_id, job_id, path in await state.store.expired_exports(utc_now()):
        try:
            Path(path).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("export %s: its expired file %s could not be deleted: %s", job_id, path, exc)
            continue
        await state.scope(account_id).write(lambda w, job_id=job_id: w.update_job(job_id, {"file_path": None}),
                                            small=True)
    folder = state.settings.exports_dir
    cutoff = time.time() - state.settings.export_hours * 3600
    for part in folder.glob("*.part") if folder.is_dir() else ():
        try:
            if part.stat().st_mtime < cutoff:
                part.unlink()
        except OSError as exc:
            log.warning("export folder: %s could not be deleted: %s", part, exc)


def forget_files(w: Writer) -> list[Path]:
    """In an erasure's transaction: every export file of the account is forgotten (no copy of an erased contact
    may stay on disk or be downloaded); the caller deletes the files the list names once it has committed."""
    paths = []
    for row in w.jobs(status="completed", after_seq=None, limit=1_000_000, kind="export"):
        if row["file_path"]:
            paths.append(Path(row["file_path"]))
            w.update_job(row["id"], {"file_path": None, "error": "deleted with every export file when contacts "
                                                                 "were erased; export again"})
    return paths


def delete_files(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("export file %s could not be deleted: %s", path, exc)
