"""ZIP: exactly one importable file inside, extracted with size and ratio checks, then opened by format."""

from __future__ import annotations

import shutil
import tempfile
import weakref
import zipfile
import zlib
from pathlib import Path

from ...errors import InvalidInput, LimitExceeded
from ._base import (
    Limits, Table, _CHUNK, _FIX_FORMAT, _INNER_ALLOWED, _INNER_EXTENSIONS, _ZIP_RATIO_FLOOR, _mb, _names,
    open_inner,
)
from .detect import _extension


# -- ZIP


def _open_zip(
    path: Path,
    display: str,
    encoding: str | None,
    delimiter: str | None,
    sheet: str | None,
    limits: Limits,
    workdir: Path | None,
) -> Table:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise InvalidInput("file", f"{display} is not a readable ZIP archive ({e}); {_FIX_FORMAT}") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_zip_entries:
            raise LimitExceeded(
                f"entries in ZIP {display}", limits.max_zip_entries, len(infos), "Put only the contact file in the ZIP."
            )
        candidates, nested, others = [], [], []
        for info in infos:
            base = info.filename.rsplit("/", 1)[-1]
            if info.is_dir() or info.filename.startswith("__MACOSX/") or base.startswith("."):
                continue
            ext = _extension(base)
            if ext in _INNER_EXTENSIONS:
                candidates.append(info)
            elif ext == "zip":
                nested.append(info.filename)
            else:
                others.append(info.filename)
        if not candidates:
            if nested:
                raise InvalidInput(
                    "file",
                    f"{display} holds only ZIP archives ({_names(nested)}); a ZIP inside a ZIP is not opened, "
                    "so extract the inner archive and give it directly",
                )
            found = _names(others) if others else "no files"
            raise InvalidInput(
                "file",
                f"{display} holds no contact file (found {found}); the ZIP must hold one {_INNER_ALLOWED} file",
            )
        if len(candidates) > 1:
            raise InvalidInput(
                "file",
                f"{display} holds {len(candidates)} importable files ({_names([i.filename for i in candidates])}); "
                "put one file per ZIP, or give the file itself",
            )
        info = candidates[0]
        entry = f"{display}/{info.filename}"
        if info.flag_bits & 0x1:
            raise InvalidInput(
                "file",
                f"{entry} is password-protected; encrypted ZIPs are not supported, re-create it without a password",
            )
        _check_ratio(entry, info.file_size, info.compress_size, limits)
        if info.file_size > limits.max_file_bytes:
            raise LimitExceeded(
                f"file size of {entry}", _mb(limits.max_file_bytes), _mb(info.file_size),
                "Split the file into smaller ones.",
            )
        ext = _extension(info.filename)
        tmpdir = tempfile.mkdtemp(prefix="contacts-import-", dir=str(workdir) if workdir is not None else None)
        try:
            target = Path(tmpdir) / f"entry.{ext}"
            written = _extract(zf, info, target, entry, limits)
            table = open_inner(target, _INNER_EXTENSIONS[ext], entry, written, encoding, delimiter, sheet, limits)
        except BaseException:
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise
    finalizer = weakref.finalize(table, shutil.rmtree, tmpdir, True)
    table._cleanups.append(finalizer)
    return table


def _check_ratio(entry: str, size: int, compressed: int, limits: Limits) -> None:
    if size <= _ZIP_RATIO_FLOOR:
        return
    ratio = size / max(compressed, 1)
    if ratio > limits.max_zip_ratio:
        raise LimitExceeded(
            f"compression ratio of {entry}",
            limits.max_zip_ratio,
            f"{ratio:.0f} ({_mb(size)} from {compressed} bytes)",
            "This looks like a ZIP bomb; give the contact file itself or a normally compressed ZIP.",
        )


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, entry: str, limits: Limits) -> int:
    """Stream the entry to `target`, counting the bytes really produced (headers can lie)."""
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > limits.max_file_bytes:
                    raise LimitExceeded(
                        f"file size of {entry}", _mb(limits.max_file_bytes), "more than that once extracted",
                        "Split the file into smaller ones.",
                    )
                _check_ratio(entry, written, info.compress_size, limits)
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise InvalidInput("file", f"{entry} is damaged and cannot be extracted ({e}); re-create the ZIP") from None
    except NotImplementedError as e:
        raise InvalidInput(
            "file",
            f"{entry} uses an unsupported compression ({e}); re-create the ZIP with standard (Deflate) compression",
        ) from None
    except RuntimeError as e:  # e.g. an encrypted entry not flagged as such
        raise InvalidInput("file", f"{entry} cannot be extracted ({e}); re-create the ZIP without a password") from None
    return written
