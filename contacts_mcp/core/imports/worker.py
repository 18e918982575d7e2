"""Reading and preparing an import file in a second process, while this one applies batches.

Normalising and validating a line (parsing, email and phone checks) costs about as much CPU as
applying it to the database, so on a machine with two cores the two halves run side by side: a worker
process reads and prepares chunks ahead (a bounded queue keeps memory flat), the server applies them.
Small files are read in a thread instead, sparing the worker's start-up (about half a second).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
from collections.abc import Iterator
from typing import Any

import anyio

from ..errors import ContactsError
from .engine import Chunk, Header, ReadSpec, read_chunks

PROCESS_MIN_BYTES = 2 * 1024 * 1024
AHEAD = 3  # chunks prepared ahead of the one being applied


def _serve(spec: ReadSpec, out: Any) -> None:
    # stdout may be the MCP stdio channel of the parent: nothing from this process may land there.
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    parent = os.getppid()

    def send(message: tuple[str, Any]) -> None:
        # A parent killed outright (SIGKILL, OOM) cannot stop us, and its queue would stay full for
        # ever: notice the new parent pid and leave instead of lingering as an orphan.
        while True:
            try:
                out.put(message, timeout=1.0)
                return
            except queue.Full:
                if os.getppid() != parent:
                    os._exit(0)

    try:
        for chunk in read_chunks(spec):
            send(("chunk", chunk))
        send(("end", None))
    except ContactsError as exc:
        send(("error", str(exc)))
    except Exception as exc:  # reported to the job; the traceback would go nowhere useful
        send(("crash", f"{type(exc).__name__}: {exc}"))


class ChunkSource:
    """A file's Header, then its chunks from the checkpoint on, from a worker process or a thread."""

    def __init__(self, spec: ReadSpec, *, use_process: bool | None = None) -> None:
        if use_process is None:
            try:
                use_process = os.path.getsize(spec.path) >= PROCESS_MIN_BYTES and (os.cpu_count() or 1) > 1
            except OSError:
                use_process = False
        self._proc: Any = None
        self._iter: Iterator[Header | Chunk] | None = None
        if use_process:
            ctx = multiprocessing.get_context("spawn")  # never fork a process running threads and an event loop
            self._queue = ctx.Queue(maxsize=AHEAD)
            self._proc = ctx.Process(target=_serve, args=(spec, self._queue), daemon=True)
            self._proc.start()
        else:
            self._iter = read_chunks(spec)

    async def next(self) -> Header | Chunk | None:
        if self._iter is not None:
            return await anyio.to_thread.run_sync(next, self._iter, None)
        kind, payload = await anyio.to_thread.run_sync(self._receive, abandon_on_cancel=True)
        if kind == "chunk":
            return payload
        if kind == "end":
            return None
        if kind == "error":
            raise ContactsError(payload)
        raise RuntimeError(f"import reader failed: {payload}")

    def _receive(self) -> tuple[str, Any]:
        while True:
            try:
                return self._queue.get(timeout=0.5)
            except queue.Empty:
                if not self._proc.is_alive():
                    return ("crash", f"the reader process stopped (exit code {self._proc.exitcode})")

    def close(self) -> None:
        if self._iter is not None:
            self._iter.close()  # type: ignore[attr-defined]
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.terminate()
            self._proc.join(timeout=5)
            self._queue.close()
            self._queue.cancel_join_thread()
