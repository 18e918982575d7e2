"""Error texts an assistant can act on: bad values checked before validation, unexpected failures named,
and no echo of a huge value.

SQLite stores integers up to 2^63-1 and no text can hold a NUL character: a value past either used to
surface as a bare "Error executing tool X" from deep inside storage. They are found here first, on the
raw arguments, with the argument's path in the message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

MAX_INT = 2**63 - 1
MIN_INT = -(2**63)
SHOWN = 200  # characters of a caller's value an error may quote
_QUOTED = re.compile(r"""'(?:[^'\\]|\\.){%d,}'|"(?:[^"\\]|\\.){%d,}\"""" % (SHOWN, SHOWN))
_MAX_MESSAGE = 4000

log = logging.getLogger("contacts_mcp.tools")


def _any_bad(arguments: Mapping[str, Any]) -> bool:
    """The quick pass over every value (no paths built: a 10 MB json_rows has half a million values)."""
    stack: list[Any] = list(arguments.values())
    pop, extend = stack.pop, stack.extend
    while stack:
        value = pop()
        kind = type(value)
        if kind is str:
            if "\x00" in value:
                return True
        elif kind is int:
            if not MIN_INT <= value <= MAX_INT:
                return True
        elif kind is dict:
            extend(value.values())
            if any("\x00" in k for k in value):
                return True
        elif kind is list:
            extend(value)
        elif isinstance(value, Mapping | list | int | str) and not isinstance(value, bool):
            return True  # an unusual subclass: let the thorough pass judge it
    return False


def bad_value(arguments: Mapping[str, Any]) -> str | None:
    """What is wrong with the first number too large for storage or text with a NUL character, naming the
    argument (e.g. contacts[3].email); None when there is none."""
    if not _any_bad(arguments):
        return None
    stack: list[tuple[str, Any]] = [(k, v) for k, v in arguments.items()]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return f"{path}: contains a NUL character (\\u0000), which no value may hold; remove it"
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            if not MIN_INT <= value <= MAX_INT:
                return (f"{path}: {shorten(str(value), 40)} is out of range; ids and numbers go from "
                        f"{MIN_INT} to {MAX_INT}")
        elif isinstance(value, Mapping):
            stack.extend((f"{path}.{shorten(str(k), 40)}", v) for k, v in value.items())
            stack.extend((f"{path} (a key)", k) for k in value if isinstance(k, str))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(value))
    return None


def shorten(text: str, limit: int = SHOWN) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def clip(message: str) -> str:
    """The message with every quoted value cut to SHOWN characters, and itself bounded."""
    message = _QUOTED.sub(lambda m: m.group(0)[:SHOWN] + f"…{m.group(0)[0]} ({len(m.group(0)):,} characters)", message)
    return shorten(message, _MAX_MESSAGE)


def unexpected(tool: str, exc: BaseException, arguments: Mapping[str, Any]) -> str:
    """The text for a failure that is not a domain error (a bug, or a resource the request exhausted),
    logged with its traceback for the operator; the caller gets what it can do about it."""
    log.error("tool %s failed", tool, exc_info=exc)
    sizes = {k: len(v) for k, v in arguments.items() if isinstance(v, str | list | dict)}
    largest = max(sizes, key=sizes.__getitem__) if sizes else None
    if isinstance(exc, MemoryError):
        where = f" (largest argument: {largest}, {sizes[largest]:,} items or characters)" if largest else ""
        return f"{tool}: the request needs more memory than the server can give it{where}; send less per call"
    given = ", ".join(arguments) or "no arguments"
    return (f"{tool} could not complete: an unexpected {type(exc).__name__} occurred on these arguments ({given}). "
            "Check the values against the tool's schema, or report it "
            "to the server's operator (the details are in its log)")
