"""Where an import file is read: a bounded child process, or a thread for small plain-text files.

Normalising and validating a line costs about as much CPU as applying it to the database, so on two
cores a child reading and preparing chunks ahead while the server applies them is also faster. Every
spreadsheet and every ZIP is read in a child whatever its size, because their readers decompress and
load native data structures that a crafted file can blow up (see sandbox). Small CSV and JSON files,
read by our own bounded Python code, are read in a thread instead, sparing the child's start-up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import anyio

from ..errors import ContactsError
from .engine import Chunk, Header, ReadSpec, read_chunks
from .readers import detect_format
from .sandbox import ReaderFailed, ReaderProcess

PROCESS_MIN_BYTES = 2 * 1024 * 1024
CONTAINERS = ("xlsx", "xls", "ods", "zip")  # formats whose reading decompresses or runs native code


def needs_child(spec: ReadSpec) -> bool:
    if detect_format(spec.path, spec.format, spec.name_hint) in CONTAINERS:
        return True
    try:
        return os.path.getsize(spec.path) >= PROCESS_MIN_BYTES and (os.cpu_count() or 1) > 1
    except OSError:
        return False  # open_table reports the unreadable file


class ChunkSource:
    """A file's Header, then its chunks from the checkpoint on, from a reader child or a thread."""

    def __init__(self, spec: ReadSpec, *, memory_bytes: int, seconds: int, use_process: bool | None = None) -> None:
        if use_process is None:
            use_process = needs_child(spec)
        self._child: ReaderProcess | None = None
        self._iter: Iterator[Header | Chunk] | None = None
        if use_process:
            spreadsheet = detect_format(spec.path, spec.format, spec.name_hint) in CONTAINERS
            self._child = ReaderProcess(spec, memory_bytes=memory_bytes, seconds=seconds, spreadsheet=spreadsheet)
        else:
            self._iter = read_chunks(spec)

    async def next(self) -> Header | Chunk | None:
        if self._iter is not None:
            return await anyio.to_thread.run_sync(next, self._iter, None)
        assert self._child is not None
        kind, payload = await anyio.to_thread.run_sync(self._child.receive, abandon_on_cancel=True)
        if kind == "chunk":
            return payload
        if kind == "end":
            return None
        if kind == "error":
            raise ContactsError(payload)
        if kind == "memory":
            raise ReaderFailed(self._child.memory_message())
        raise ReaderFailed(f"the file's reader failed ({payload}); check the file, or save it as CSV")

    def close(self) -> None:
        if self._iter is not None:
            self._iter.close()  # type: ignore[attr-defined]
        if self._child is not None:
            self._child.close()

    @property
    def child_pid(self) -> int | None:
        return self._child.pid if self._child is not None else None
