"""Where an import's bytes come from, made safe before a job is queued.

A local path must resolve (symlinks followed) inside an allowed root: the configured import roots or
the roots the MCP client declared; nothing else on the server's disk is readable this way. Inline
bodies and uploads are written to the jobs folder next to the database, so a job survives a restart.
URLs are vetted now (a refusal is immediate) and downloaded by the job under the same rules.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, LimitExceeded
from ..settings import MB, Settings
from ..urls import UrlPolicy, check_url



@dataclass
class Source:
    path: str | None = None
    url: str | None = None
    csv_text: str | None = None
    json_rows: list[dict[str, Any]] | None = None
    file_base64: str | None = None
    filename: str | None = None

    def kind(self) -> str:
        given = [k for k in ("path", "url", "csv_text", "json_rows", "file_base64") if getattr(self, k) is not None]
        if len(given) != 1:
            raise InvalidInput("source", "give exactly one of path, url, csv_text, json_rows or file_base64"
                                         + (f" (received {', '.join(given)})" if given else ""))
        return given[0]


@dataclass
class Stored:
    kind: str
    name: str                 # what the job shows as its source
    file_path: Path | None    # None for a URL until the job downloads it
    name_hint: str | None     # a file name whose extension tells the format
    owned: bool               # the file is the job's own copy, deleted when the job ends


def discard_own_file(job: dict[str, Any]) -> None:
    """Delete the job's own copy of its file (a path given by the caller is never deleted)."""
    if job["options"].get("owned") and job["file_path"]:
        Path(job["file_path"]).unlink(missing_ok=True)


def url_policy(settings: Settings) -> UrlPolicy:
    return UrlPolicy(allow_private=settings.allow_private_urls)


def _mb(n: int) -> str:
    return f"{n / MB:g} MB"


def check_path(raw: str, roots: list[Path], max_bytes: int) -> Path:
    if not roots:
        raise InvalidInput("path", "local files can only be imported from allowed folders, and none is set: start "
                                   "the server with CONTACTS_MCP_IMPORT_ROOTS, or send the file as csv_text, "
                                   "file_base64 or url")
    try:
        path = Path(raw).expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        raise InvalidInput("path", f"{raw!r} does not exist or cannot be read") from None
    # Resolved (symlinks and '..' followed) before the check, so no link or relative trick leaves a root.
    if not any(path == root or root in path.parents for root in roots):
        raise InvalidInput("path", f"{raw!r} is outside the folders files may be imported from "
                                   f"({', '.join(str(r) for r in roots)})")
    if not path.is_file():
        raise InvalidInput("path", f"{raw!r} is not a regular file")
    size = path.stat().st_size
    if size > max_bytes:
        raise LimitExceeded("file size", _mb(max_bytes), _mb(size), "Split the file, or raise CONTACTS_MCP_MAX_FILE_MB.")
    return path


async def store_source(source: Source, job_id: str, settings: Settings, client_roots: list[Path]) -> Stored:
    kind = source.kind()
    jobs_dir = settings.jobs_dir
    if kind == "path":
        path = check_path(source.path or "", [*settings.import_roots, *client_roots], settings.max_file_bytes)
        return Stored(kind, str(path), path, path.name, owned=False)
    if kind == "url":
        await check_url(source.url or "", url_policy(settings))
        return Stored(kind, source.url or "", None, source.filename, owned=True)
    if kind == "csv_text":
        data = (source.csv_text or "").encode("utf-8")
        _inline_limit(data, settings, "csv_text")
        return _write(jobs_dir, job_id, ".csv", data, kind, "inline CSV")
    if kind == "json_rows":
        data = json.dumps(source.json_rows, ensure_ascii=False).encode("utf-8")
        _inline_limit(data, settings, "json_rows")
        return _write(jobs_dir, job_id, ".json", data, kind, f"inline JSON ({len(source.json_rows or [])} rows)")
    text = source.file_base64 or ""
    if len(text) > settings.max_file_bytes * 4 // 3 + 8:
        raise LimitExceeded("file_base64 size (decoded)", _mb(settings.max_file_bytes), f"about {_mb(len(text) * 3 // 4)}")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("file_base64", "is not valid base64; send the file's bytes base64-encoded (RFC 4648)") from None
    if len(data) > settings.max_file_bytes:
        raise LimitExceeded("file size", _mb(settings.max_file_bytes), _mb(len(data)))
    suffix = Path(source.filename).suffix.lower() if source.filename else ""
    return _write(jobs_dir, job_id, suffix or ".bin", data, kind, source.filename or "uploaded file",
                  name_hint=source.filename)


def _inline_limit(data: bytes, settings: Settings, field: str) -> None:
    if len(data) > settings.max_inline_bytes:
        raise LimitExceeded(f"{field} size", _mb(settings.max_inline_bytes), _mb(len(data)),
                            "Send a bigger file as file_base64, url or path.")


def _write(jobs_dir: Path, job_id: str, suffix: str, data: bytes, kind: str, name: str,
           name_hint: str | None = None) -> Stored:
    jobs_dir.mkdir(parents=True, exist_ok=True)
    path = jobs_dir / f"{job_id}{suffix if suffix.isascii() and len(suffix) <= 8 else '.bin'}"
    # Exclusive creation, owner-only: the folder may be shared, the job id is the file's only name.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return Stored(kind, name, path, name_hint or path.name, owned=True)
