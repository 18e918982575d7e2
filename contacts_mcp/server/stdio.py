"""Stdio transport on the event loop: the SDK's stdio server, fed by non-blocking pipes.

The SDK reads stdin and writes stdout through worker threads: three thread hand-offs per message, which
cost more than a create_contact itself (one client over stdio made ~350 calls/s, against ~1,200 in
process). When stdin and stdout are pipes (how MCP clients launch servers), they are read and written
here with asyncio's pipe transports instead, on the loop. Anything else (a terminal, a file) takes the
SDK's own path.

As the SDK does, the wire is moved off fds 0 and 1 first: fd 0 then reads the null device and fd 1 goes to
stderr, so a stray print or a child process can never corrupt the JSON-RPC stream.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
from collections.abc import AsyncIterator, Callable
from typing import Any
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server

from ..core.settings import MB, Settings
from .gate import body_limit


def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


_ID_VALUE = re.compile(rb'\s*:\s*(-?\d{1,18}|"(?:[^"\\]|\\.){0,200}")')


def _request_id(head: bytes) -> Any:
    """The id of the JSON-RPC message whose first bytes are `head`: the "id" key of the outer object only
    (an "id" inside the arguments is not the request's), or None when it is not among those bytes."""
    depth, i, n = 0, 0, len(head)
    while i < n:
        c = head[i]
        if c == 0x22:  # a string: a key at depth 1 may be "id"
            end = i + 1
            while end < n and head[end] != 0x22:
                end += 2 if head[end] == 0x5C else 1
            if depth == 1 and head[i + 1:end] == b"id":
                found = _ID_VALUE.match(head, end + 1)
                return json.loads(found.group(1)) if found else None
            i = end + 1
            continue
        if c in (0x7B, 0x5B):
            depth += 1
        elif c in (0x7D, 0x5D):
            depth -= 1
        i += 1
    return None


class _Lines:
    """stdin as an async iterator of text lines, each at most `limit` bytes.

    A longer line is never buffered whole: it is skipped up to its newline, the client is told at once (with
    the request's id when it shows in the line's first bytes, so the caller is not left waiting), and the
    next line is read as usual. Letting the StreamReader's limit error escape would end the SDK's reader and
    leave the process running but deaf."""

    def __init__(self, reader: asyncio.StreamReader, limit: int, refuse: Callable[[bytes], None]) -> None:
        self._reader = reader
        self._limit = limit
        self._refuse = refuse

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> str:
        while True:
            try:
                line = await self._reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as end:
                if not end.partial:
                    raise StopAsyncIteration from None
                line = end.partial
            except asyncio.LimitOverrunError as over:
                self._refuse(await self._skip_line(over.consumed))
                continue
            return line.decode("utf-8", errors="replace")

    async def _skip_line(self, buffered: int) -> bytes:
        """Discard the rest of an over-long line; returns its first bytes (to find its id)."""
        head = await self._reader.readexactly(buffered)
        while True:
            try:
                await self._reader.readuntil(b"\n")
                return head[:4096]
            except asyncio.LimitOverrunError as over:
                await self._reader.readexactly(over.consumed)
            except asyncio.IncompleteReadError:
                return head[:4096]


class _Out:
    """stdout as the SDK writes it: write() then flush()."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()


def _refusal(limit: int, head: bytes) -> bytes:
    request_id = _request_id(head)
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "error": {
        "code": -32600, "message": f"message skipped: longer than {limit / MB:g} MB (the largest call a tool can "
                                   "take); send big files as path or url, or split the call"}}).encode() + b"\n"


@asynccontextmanager
async def _pipes(limit: int) -> AsyncIterator[tuple[_Lines, _Out]]:
    wire_in, wire_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    saved_in, saved_out = os.dup(0), os.dup(1)
    os.dup2(null, 0)
    os.dup2(2, 1)
    os.close(null)
    loop = asyncio.get_running_loop()
    # StreamReader's limit bounds its buffer too: it stops reading the pipe past twice that.
    reader = asyncio.StreamReader(limit=limit)
    read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                     os.fdopen(wire_in, "rb", buffering=0))
    write_transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin,
                                                              os.fdopen(wire_out, "wb", buffering=0))
    writer = asyncio.StreamWriter(write_transport, protocol, None, loop)
    try:
        yield _Lines(reader, limit, lambda head: writer.write(_refusal(limit, head))), _Out(writer)
    finally:
        read_transport.close()
        write_transport.close()
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(saved_in)
        os.close(saved_out)


async def run_stdio(server: MCPServer, settings: Settings) -> None:
    """Serve MCP over stdin/stdout until stdin closes. A message is at most what HTTP accepts (body_limit)."""
    if not (_is_pipe(0) and _is_pipe(1)):
        await server.run_stdio_async()
        return
    lowlevel = server._lowlevel_server  # the SDK's run_stdio_async does exactly this with its own streams
    async with _pipes(body_limit(settings)) as (lines, out), stdio_server(stdin=lines, stdout=out) as (read_stream, write_stream):  # type: ignore[arg-type]
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
