"""Where an import's bytes come from, made safe before a job is queued.

A local path must resolve (symlinks followed) inside an allowed root: the configured import roots or
the roots a local MCP client declared; nothing else on the server's disk is readable this way. The file
actually opened is checked again and copied at once, so a job never reopens a path that may have changed.
Inline bodies, uploads and those copies are written to the jobs folder next to the database, so a job
survives a restart.
URLs are vetted now (a refusal is immediate) and downloaded by the job under the same rules.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from ..errors import InvalidInput, LimitExceeded
from ..settings import MB, Settings
from ...outbound import UrlPolicy, check_url



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
    return UrlPolicy(allow_private=settings.allow_private_urls, min_rate=settings.download_min_rate,
                     rate_window=settings.download_rate_window)


def _mb(n: int) -> str:
    return f"{n / MB:g} MB"


def check_path(raw: str, roots: list[Path], max_bytes: int) -> Path:
    """The resolved path of `raw` if it names a regular file inside a root (symlinks and '..' followed first,
    so no link or relative trick leaves a root). Only a first answer: the file may change before it is
    opened, so `copy_inside_roots` checks again the file it actually opens."""
    if not roots:
        raise InvalidInput("path", "local files can only be imported from allowed folders, and none is set: start "
                                   "the server with CONTACTS_MCP_IMPORT_ROOTS, or send the file as csv_text, "
                                   "file_base64 or url")
    try:
        path = Path(raw).expanduser().resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # ValueError: a NUL byte in the path
        raise InvalidInput("path", f"{_shown(raw)} does not exist or cannot be read") from None
    _inside(path, roots, raw)
    try:
        info = path.stat()
    except OSError:  # gone since it was resolved
        raise InvalidInput("path", f"{_shown(raw)} changed while it was being opened; import it again") from None
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput("path", f"{_shown(raw)} is not a regular file")
    _size_allowed(info.st_size, max_bytes)
    return path


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= 200 else raw[:200] + "…")


def _inside(path: Path, roots: list[Path], raw: str) -> None:
    if not any(path == root or root in path.parents for root in roots):
        raise InvalidInput("path", f"{_shown(raw)} is outside the folders files may be imported from "
                                   f"({', '.join(str(r) for r in roots)})")


def _size_allowed(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise LimitExceeded("file size", _mb(max_bytes), _mb(size), "Split the file, or raise CONTACTS_MCP_MAX_FILE_MB.")


def _opened_path(fd: int, fallback: Path) -> Path:
    """Where the open file really is. Linux names it in /proc (any directory swapped for a symlink between the
    check and the open shows here); elsewhere the checked path stands, bound to the file by inode below."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return fallback


def copy_inside_roots(raw: str, roots: list[Path], max_bytes: int, target: Path,
                      private: tuple[Path, ...] = ()) -> Path:
    """Open the caller's file once, check the file actually opened, and copy it to `target` (the job's own
    file): the job never opens the caller's path again, so swapping the file for a symlink after this call
    cannot make it read anything else. Returns the resolved path the copy was made from."""
    path = check_path(raw, roots, max_bytes)
    try:
        # O_NOFOLLOW: a last component swapped for a symlink since check_path is refused, not followed.
        # O_NONBLOCK: a FIFO swapped in cannot hang the server waiting for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        raise InvalidInput("path", f"{_shown(raw)} changed while it was being opened (now a link or gone); "
                                   "import it again") from None
    with os.fdopen(fd, "rb") as src:
        info = os.fstat(src.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput("path", f"{_shown(raw)} is not a regular file")
        opened = _opened_path(src.fileno(), path)
        _inside(opened, roots, raw)
        # A root may hold the server's own data (the database, other jobs' files): never readable this way.
        if any(opened == p or opened.name.startswith(p.name + "-") and opened.parent == p.parent
               or p in opened.parents for p in private):
            raise InvalidInput("path", f"{_shown(raw)} is the server's own data, not an import file")
        if opened == path:  # bind the name checked to the file opened (meaningful where /proc is missing)
            try:
                same = os.stat(path, follow_symlinks=False)
            except OSError:
                same = None
            if same is None or (same.st_dev, same.st_ino) != (info.st_dev, info.st_ino):
                raise InvalidInput("path", f"{_shown(raw)} changed while it was being opened; import it again")
        _size_allowed(info.st_size, max_bytes)
        os.set_blocking(src.fileno(), True)
        _copy(src, target, max_bytes)
    return path


def _copy(src: Any, target: Path, max_bytes: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    copied = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while block := src.read(1024 * 1024):
                copied += len(block)
                _size_allowed(copied, max_bytes)  # a file growing while copied stops at the limit
                out.write(block)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


async def store_source(source: Source, job_id: str, settings: Settings, client_roots: list[Path]) -> Stored:
    kind = source.kind()
    jobs_dir = settings.jobs_dir
    if kind == "path":
        copy = jobs_dir / f"{job_id}{_suffix(Path(source.path or '').suffix.lower())}"
        path = await anyio.to_thread.run_sync(copy_inside_roots, source.path or "",
                                              [*settings.import_roots, *client_roots], settings.max_file_bytes, copy,
                                              (settings.db_path.resolve(), settings.jobs_dir.resolve()))
        return Stored(kind, str(path), copy, path.name, owned=True)
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


def _suffix(suffix: str) -> str:
    return suffix if suffix.isascii() and len(suffix) <= 8 and "/" not in suffix else ".bin"


def _write(jobs_dir: Path, job_id: str, suffix: str, data: bytes, kind: str, name: str,
           name_hint: str | None = None) -> Stored:
    jobs_dir.mkdir(parents=True, exist_ok=True)
    path = jobs_dir / f"{job_id}{_suffix(suffix)}"
    # Exclusive creation, owner-only: the folder may be shared, the job id is the file's only name.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return Stored(kind, name, path, name_hint or path.name, owned=True)
