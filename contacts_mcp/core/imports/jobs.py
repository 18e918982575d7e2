"""Import jobs as the tools see them: queue one, read its state, wait for it, cancel it, read its errors."""

from __future__ import annotations

import codecs
import csv
import io
import secrets
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ...storage.api import Reader, Writer
from ..errors import InvalidInput, LimitExceeded, NotFound
from ..events import check_event_key
from ..fields import registry
from ..groups import group_ids
from ..exports.cells import neutralise
from ..models import ImportErrorLine, ImportErrorPage, ImportJob
from ..normalize import clean_text, utc_now
from ..pagination import decode_cursor, page
from ..scope import Scope
from ...outbound import check_url, split_credentials
from .mapping import check_explicit
from .sources import Source, discard_own_file, store_source, url_policy

FINISHED = ("completed", "failed", "cancelled")
ERRORS_PAGE = 100
ERRORS_CSV_MAX_LINES = 100_000
Channel = Literal["email", "sms"]


@dataclass
class ImportOptions:
    """What a job does with its file; stored with the job so a resumed job behaves the same."""

    format: str | None = None
    has_header: bool | None = None
    mapping: dict[str, str] | None = None
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    list_ids: list[int] = field(default_factory=list)
    segment_ids: list[int] = field(default_factory=list)
    unlink_segment_ids: list[int] = field(default_factory=list)
    update_existing: bool = True
    empty_values_erase: bool = False
    optout_channels: list[str] = field(default_factory=list)
    dedupe_on: str = "email"
    name_hint: str | None = None
    event_key: str | None = None
    restore_deleted: bool = False


def _job(r: Reader, job_id: str) -> dict[str, Any]:
    row = r.job(job_id)
    if row is None:
        raise NotFound("import job id", [job_id], "List jobs with get_jobs.")
    return row


def job_uri(job_id: str) -> str:
    return f"contacts://imports/{job_id}"


def notify_text(row: dict[str, Any]) -> str | None:
    """What became of the job's notify_url POST, if it was made."""
    notify = row.get("notify_result")
    if not notify:
        return None
    return (f"delivered to {row['notify_url']}" if notify.get("delivered") else
            f"not delivered to {row['notify_url']} after {notify.get('attempts')} attempts: {notify.get('error')}")


def to_model(row: dict[str, Any]) -> ImportJob:
    skipped = row.get("skipped") or 0
    notes = [*(row.get("notes") or []), *([f"{skipped} line{'s' if skipped > 1 else ''} of existing contacts "
                                           "skipped (update_enabled=false); not in the error report"]
                                          if skipped else [])]
    return ImportJob(
        id=row["id"], status=row["status"], source=f"{row['source_kind']}: {row['source_name']}",
        list_id=row["list_id"], lines_read=row["lines_read"], total_lines=row["total_lines"],
        created=row["created"], updated=row["updated"], unchanged=row["unchanged"], invalid=row["invalid"],
        duplicates=row["duplicates"], skipped=skipped, notes=notes, percent=row["percent"], mapping=row["mapping"],
        unknown_columns=row["unknown_columns"] or [], error=row["error"],
        error_report=f"{job_uri(row['id'])}/errors" if row["invalid"] else None,
        notify=notify_text(row),
        created_at=row["created_at"], started_at=row["started_at"], finished_at=row["finished_at"])


QUEUED_MAX = 20  # jobs of one account waiting to run (imports and exports), each import with a copy of its file


def room_in_queue(r: Reader) -> None:
    if len(r.jobs(status="queued", after_seq=None, limit=QUEUED_MAX + 1)) >= QUEUED_MAX:
        raise LimitExceeded("jobs waiting to run", QUEUED_MAX, f"{QUEUED_MAX} already",
                            "Wait for some to finish (get_jobs), or cancel some (cancel_job).")


async def create_import(scope: Scope, source: Source, options: ImportOptions, *, new_list_name: str | None,
                        new_list_folder_id: int | None, notify_url: str | None,
                        client_roots: list[Path], groups: list[str] | None = None) -> ImportJob:
    """Validate everything that can be checked now, keep the source, queue the job. Returns at once.
    A URL's user:password@ is taken out first: it is kept in the runner's memory only, for the download."""
    auth = None
    if source.url is not None:
        url, auth = split_credentials(source.url)
        source = replace(source, url=url)
    check_event_key(options.event_key)
    if options.delimiter is not None and len(options.delimiter) != 1:
        raise InvalidInput("delimiter", f"must be one character such as ',' ';' or a tab, received {options.delimiter!r}")
    if options.encoding is not None:
        try:
            codecs.lookup(options.encoding)
        except LookupError:
            raise InvalidInput("encoding", f"{options.encoding!r} is not a known encoding; use utf-8, cp1252 "
                                           "(Windows-1252) or latin-1, or omit it to detect it") from None
    check_explicit(options.mapping, await registry(scope, fresh=True))
    if both := sorted(set(options.segment_ids) & set(options.unlink_segment_ids)):
        raise InvalidInput("unlink_segment_ids", f"segment ids {both} are also in segment_ids; a contact cannot "
                                                 "join and leave a segment: keep each id in one of them")
    list_name = clean_text("new_list_name", new_list_name) if new_list_name is not None else None
    if new_list_name is not None and not list_name:
        raise InvalidInput("new_list_name", "cannot be empty")
    if notify_url:
        await check_url(notify_url, url_policy(scope.settings))  # refused now, not when the job ends
    await scope.read(room_in_queue)  # before the source is copied: waiting jobs hold their files on disk
    job_id = "imp_" + secrets.token_urlsafe(16)
    stored = await store_source(source, job_id, scope.settings, client_roots)
    options.name_hint = stored.name_hint
    now = utc_now()

    def unit(w: Writer) -> ImportJob:
        room_in_queue(w)  # again, in the transaction: calls made at once all counted
        if groups:
            lists, segments = group_ids(w, groups)
            options.list_ids = list(dict.fromkeys([*options.list_ids, *lists]))
            options.segment_ids = list(dict.fromkeys([*options.segment_ids, *segments]))
        wanted = options.list_ids
        missing = sorted(set(wanted) - w.existing_list_ids(wanted)) if wanted else []
        if missing:
            raise NotFound("list id", missing, "Find list ids with get_lists, or use new_list_name.")
        wanted = [*options.segment_ids, *options.unlink_segment_ids]
        missing = sorted(set(wanted) - w.static_segment_ids(wanted)) if wanted else []
        if missing:
            raise NotFound("static segment id", missing, "Find segment ids with get_segments, or create one with "
                                                         "manage_segments (a dynamic one's members follow its filter).")
        if new_list_folder_id is not None and not w.existing_folder_ids([new_list_folder_id]):
            raise NotFound("folder id", [new_list_folder_id], "Find folder ids with get_folders.")
        list_id = w.insert_list(name=list_name, description=f"Imported from {stored.name}"[:1000],
                                folder_id=new_list_folder_id, now=now) if list_name else None
        w.insert_job({"id": job_id, "status": "queued", "source_kind": stored.kind, "source_name": stored.name[:500],
                      "file_path": str(stored.file_path) if stored.file_path else None,
                      "options": asdict(options) | {"owned": stored.owned, "url": source.url,
                                                    "credentials": auth is not None},
                      "list_id": list_id, "notify_url": notify_url, "created_at": now})
        return to_model(w.job(job_id))

    if auth is not None and scope.runner is not None:  # before the job exists: the runner may start it at once
        scope.runner.credentials[job_id] = auth
    try:
        job = await scope.write(unit)
    except BaseException:
        if stored.owned and stored.file_path:
            stored.file_path.unlink(missing_ok=True)
        if scope.runner is not None:
            scope.runner.credentials.pop(job_id, None)
        raise
    if scope.runner is not None:
        scope.runner.wake()
    return job


async def error_page(scope: Scope, job_id: str, cursor: str | None, limit: int = ERRORS_PAGE) -> ImportErrorPage:
    query = {"errors": job_id}
    after = decode_cursor(cursor, query) or 0

    def unit(r: Reader) -> list[dict[str, Any]]:
        _job(r, job_id)
        return r.errors(job_id, after_line=after, limit=limit + 1)

    lines = [ImportErrorLine(line=e["line"], values=e["data"], reason=e["reason"]) for e in await scope.read(unit)]
    kept, next_cursor = page(lines, limit=limit, key=lambda e: e.line, query=query)
    return ImportErrorPage(job_id=job_id, errors=kept, next_cursor=next_cursor)


async def errors_csv(scope: Scope, job_id: str) -> str:
    """The error report as CSV: line, reason, then the line's original columns."""
    def unit(r: Reader) -> str:
        job = _job(r, job_id)
        headers = dict.fromkeys(job["mapping"] or {})  # an ordered set: columns in order of appearance
        rows = []
        for n, e in enumerate(r.iter_errors(job_id)):
            if n >= ERRORS_CSV_MAX_LINES:
                break
            headers.update(dict.fromkeys(e["data"]))
            rows.append(e)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["line", "reason", *map(neutralise, headers)])
        for e in rows:
            writer.writerow([e["line"], neutralise(e["reason"]), *(neutralise(e["data"].get(h, "")) for h in headers)])
        return out.getvalue()

    return await scope.read(unit)
