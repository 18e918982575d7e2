"""An export's finished file, found for whoever may have it: the MCP resource (small files) and the HTTP
download route (server/http.py) read it through here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from ...storage.api import Reader
from ..errors import ContactsError, InvalidInput, NotFound
from ..normalize import utc_now
from ..scope import Scope
from .delivery import check_token, key_of
from .jobs import RESOURCE_MAX_BYTES


class LinkRefused(ContactsError):
    """A download link that does not open this file (malformed, forged, for another job or account, expired)."""


def ready_file(row: dict[str, Any] | None, job_id: str) -> Path:
    """The path of a completed export's file; NotFound for anything else (unknown job, an import, another
    account's, not finished, expired)."""
    if row is None or row["kind"] != "export":
        raise NotFound("export job id", [job_id], "List exports with get_jobs kind=export.")
    if row["status"] != "completed":
        raise InvalidInput("job_id", f"export {job_id} is {row['status']}; its file exists once it is completed "
                                     "(get_jobs with wait_seconds)")
    path = row["file_path"]
    if path is None or not Path(path).is_file() or (row["expires_at"] or "") < utc_now():
        raise InvalidInput("job_id", f"export {job_id}'s file was deleted (exports are kept for a while only); "
                                     "export again")
    return Path(path)


async def small_file(scope: Scope, job_id: str, fmt: str) -> bytes:
    row = await scope.read(lambda r: r.job(job_id))
    path = ready_file(row, job_id)
    if row["options"]["format"] != fmt:
        raise NotFound(f"{fmt} export job id", [job_id], f"This export is {row['options']['format']}: read "
                                                         f"contacts://exports/{job_id}.{row['options']['format']}.")
    if (row["bytes"] or 0) > RESOURCE_MAX_BYTES:
        raise InvalidInput("job_id", f"export {job_id} is {row['bytes']:,} bytes, over the 1 MB a resource "
                                     "carries; use its file path or download_url (get_jobs)")
    return await anyio.Path(path).read_bytes()


async def download(scope: Scope, job_id: str, token: str) -> tuple[Path, dict[str, Any]]:
    """The file a signed download link opens (delivery.py), or ContactsError saying why not."""
    def unit(r: Reader) -> tuple[bytes, dict[str, Any] | None]:
        return key_of(r), r.job(job_id)

    key, row = await scope.read(unit)
    refused = check_token(key, scope.account_id, job_id, token)
    if refused:
        raise LinkRefused(refused)
    return ready_file(row, job_id), row  # type: ignore[arg-type]
