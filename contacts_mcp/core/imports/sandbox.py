"""The reader child: an untrusted file is read and prepared in a process of its own, under hard limits.

A spreadsheet is decompressed and loaded whole by calamine (native code): a crafted 1.5 KB XLSX can ask
it for hundreds of GB, and a native allocation failure aborts the process it runs in. So every
spreadsheet (and every large file) is read here, never in the server:

  * memory is capped with RLIMIT_AS and CPU time with RLIMIT_CPU, set by the child before it opens the
    file; a child over either limit dies, and only its job fails, with a message saying why;
  * the child dies with its parent whatever happens: PR_SET_PDEATHSIG on Linux, a check that the parent
    pid it was given is still its parent (the parent may die before prctl runs), and a thread that
    watches its stdin, whose write end only the parent holds, for EOF;
  * it is a plain subprocess talking over two pipes (no multiprocessing queue, feeder thread or resource
    tracker that could outlive the server).

Wire: the parent writes one frame (the ReadSpec) to the child's stdin and keeps it open; the child writes
frames ("chunk", Chunk) ... ("end", None), or ("error", message) for a refusal, to its stdout. A frame is
an 8-byte big-endian length and a pickle. The pipe's small buffer is the back-pressure: the child reads
at most one chunk ahead of the batch being applied.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from ..errors import ContactsError
from ..settings import MB

_LEN = struct.Struct(">Q")
_PR_SET_PDEATHSIG = 1


class ReaderFailed(ContactsError):
    """The file could not be read within the reader's limits."""


# The only classes a reader's messages hold. The child runs native code over a hostile file: were it taken
# over, an unrestricted unpickle would let it run code in the server through a crafted message.
_ALLOWED = {("contacts_mcp.core.imports.engine", "Header"), ("contacts_mcp.core.imports.engine", "Chunk"),
            ("contacts_mcp.core.imports.mapping", "Mapping")}


class _Messages(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name}")
        return super().find_class(module, name)


def _message(data: bytes) -> Any:
    try:
        return _Messages(io.BytesIO(data)).load()
    except Exception as exc:  # noqa: BLE001 - whatever a corrupt or hostile message raises
        raise ReaderFailed(f"the file's reader sent something other than rows ({type(exc).__name__}); "
                           "check the file") from None


# -- child side


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes  # noqa: PLC0415 - Linux only

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl: nobody would ever read us
        os._exit(0)


def _watch_stdin() -> None:
    def watch() -> None:
        # EOF on stdin: the parent closed it (done, or cancelled) or died; either way, stop now.
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    import resource  # noqa: PLC0415 - POSIX only

    for what, value in ((resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_CPU, cpu_seconds)):
        _, hard = resource.getrlimit(what)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(what, (value, value if hard == resource.RLIM_INFINITY else min(value, hard)))


def _read_exact(fd: int, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        block = os.read(fd, n - len(data))
        if not block:
            raise EOFError
        data += block
    return bytes(data)


def _read_frame(fd: int) -> Any:
    return pickle.loads(_read_exact(fd, _LEN.unpack(_read_exact(fd, _LEN.size))[0]))  # noqa: S301 - our parent


def _child(parent: int) -> None:
    # The wire is our own copy of fd 1; fd 1 then goes to the null device, so a stray print (or a library
    # writing to stdout) can never corrupt a frame.
    wire = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    _die_with_parent(parent)
    try:
        spec, memory_bytes, cpu_seconds = _read_frame(0)
    except EOFError:
        os._exit(0)
    _watch_stdin()
    from .engine import read_chunks  # noqa: PLC0415 - imported once the limits can be set around it

    _limit(memory_bytes, cpu_seconds)

    def send(message: tuple[str, Any]) -> None:
        out = io.BytesIO()
        pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
        # No memo: a chunk holds no object twice that matters, nor any cycle, and the memo's bookkeeping of
        # every string made pickling a chunk 3.5x slower (6.0 ms against 1.7 for 5,000 lines).
        pickler.fast = True
        pickler.dump(message)
        data = out.getbuffer()
        wire.write(_LEN.pack(len(data)))
        wire.write(data)
        wire.flush()

    try:
        for item in read_chunks(spec):
            send(("chunk", item))
        send(("end", None))
    except ContactsError as exc:
        send(("error", str(exc)))
    except MemoryError:
        send(("memory", None))
    except BrokenPipeError:
        pass
    except BaseException as exc:  # noqa: BLE001 - reported to the job; a traceback would go nowhere useful
        send(("crash", f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"))
    wire.close()


# -- parent side


class ReaderProcess:
    """A child reading one file: `receive()` returns its next (kind, payload); `close()` ends it."""

    def __init__(self, spec: Any, *, memory_bytes: int, seconds: int, spreadsheet: bool) -> None:
        self._memory = memory_bytes
        self._seconds = seconds
        self._what = "spreadsheet" if spreadsheet else "file"
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - read after the child's death, closed in close()
        env = dict(os.environ, MALLOC_ARENA_MAX="2")  # glibc reserves 64 MB of address space per arena
        # Started from the event loop's thread, on purpose: PR_SET_PDEATHSIG fires when the *thread* that
        # started the child ends, and a worker thread may be retired while the child still runs.
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", __name__, str(os.getpid())], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, env=env, close_fds=True)
        data = pickle.dumps((spec, memory_bytes, seconds), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._proc.stdin.write(_LEN.pack(len(data)) + data)
            self._proc.stdin.flush()
        except BrokenPipeError:
            pass  # the child died at once: receive() tells why
        self._fd = self._proc.stdout.fileno()
        self._buffer = bytearray()
        # A receive() abandoned by a cancelled job may still be reading the pipe in its thread: the pipe is
        # closed by whichever of close() and that thread comes last, so its fd number is never reused
        # under a reader that still holds it.
        self._lock = threading.Lock()
        self._receiving = self._closed = False

    def receive(self) -> tuple[str, Any]:
        """The next message (blocking; run it in a thread). A child that dies or stalls is reported as
        a ReaderFailed saying why."""
        with self._lock:
            if self._closed:
                raise ReaderFailed("the import was stopped")
            self._receiving = True
        try:
            head = self._read(_LEN.size)
            return _message(self._read(_LEN.unpack(head)[0]))
        finally:
            with self._lock:
                self._receiving = False
                last = self._closed
            if last:
                self._close_pipe()

    def _read(self, n: int) -> bytes:
        # Our own deadline besides the child's CPU limit: a child blocked without using CPU is stopped too.
        deadline = time.monotonic() + self._seconds
        while len(self._buffer) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise ReaderFailed(f"reading the {self._what} took more than {self._seconds} s; split it, or save "
                                   "it as CSV")
            ready, _, _ = select.select([self._fd], [], [], min(left, 1.0))
            if not ready:
                continue
            block = os.read(self._fd, max(n - len(self._buffer), 1 << 20))
            if not block:
                raise ReaderFailed(self._death())
            self._buffer += block
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    def _death(self) -> str:
        try:
            code = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, self._stderr.tell() - 2000))
        said = self._stderr.read().decode("utf-8", "replace")
        cap = f"{self._memory // MB} MB"
        if "memory allocation" in said or "MemoryError" in said or code == -signal.SIGABRT:
            return (f"the {self._what} needs more than {cap} to read (its reader ran out of memory): a sheet whose "
                    "cells span a huge range (stray formatting far from the data) or very many large cells. "
                    "Delete unused rows and columns, split the sheet, or save it as CSV")
        if code in (-signal.SIGXCPU, -signal.SIGKILL):
            return (f"reading the {self._what} took more than {self._seconds} s of CPU (or the system stopped its "
                    "reader); split it, or save it as CSV")
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        last = " ".join(said.split())[-200:]
        return f"the {self._what}'s reader stopped ({how}){': ' + last if last else ''}; check the file"

    def memory_message(self) -> str:
        return (f"the {self._what} needs more than {self._memory // MB} MB to read; delete unused rows and "
                "columns, split it, or save it as CSV")

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()  # a receive() in progress now reads EOF and returns
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        with self._lock:
            self._closed = True
            busy = self._receiving
        if not busy:
            self._close_pipe()

    def _close_pipe(self) -> None:
        with contextlib.suppress(OSError):
            self._proc.stdout.close()
        with contextlib.suppress(OSError):
            self._stderr.close()

    @property
    def pid(self) -> int:
        return self._proc.pid


if __name__ == "__main__":
    _child(int(sys.argv[1]))
