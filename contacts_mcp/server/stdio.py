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
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server


def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class _Lines:
    """stdin as an async iterator of text lines."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> str:
        line = await self._reader.readline()
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")


class _Out:
    """stdout as the SDK writes it: write() then flush()."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()


@asynccontextmanager
async def _pipes() -> AsyncIterator[tuple[_Lines, _Out]]:
    wire_in, wire_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    saved_in, saved_out = os.dup(0), os.dup(1)
    os.dup2(null, 0)
    os.dup2(2, 1)
    os.close(null)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)  # a line is a whole message: imports can be big
    read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                     os.fdopen(wire_in, "rb", buffering=0))
    write_transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin,
                                                              os.fdopen(wire_out, "wb", buffering=0))
    writer = asyncio.StreamWriter(write_transport, protocol, None, loop)
    try:
        yield _Lines(reader), _Out(writer)
    finally:
        read_transport.close()
        write_transport.close()
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(saved_in)
        os.close(saved_out)


async def run_stdio(server: MCPServer) -> None:
    """Serve MCP over stdin/stdout until stdin closes."""
    if not (_is_pipe(0) and _is_pipe(1)):
        await server.run_stdio_async()
        return
    lowlevel = server._lowlevel_server  # the SDK's run_stdio_async does exactly this with its own streams
    async with _pipes() as (lines, out), stdio_server(stdin=lines, stdout=out) as (read_stream, write_stream):  # type: ignore[arg-type]
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
