"""JSON: an array of objects, or JSON lines (an object a line); nested `attributes` flattened into
`attributes.NAME` columns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from ...errors import InvalidInput
from ._base import Limits, OPENERS, Table, _CountedTable, _cell
from .detect import _extension


class _JsonTable(_CountedTable):
    """The objects' keys as columns. A nested `attributes` object (the v3-style body) gives a column per
    name, "attributes.NAME", placed before the top-level keys: where both name one field, the top-level
    value wins (the last non-empty key does, see mapping)."""

    header_from_keys = True

    def __init__(self, name: str, keys: list[str], nested: list[str], items: list[dict], limits: Limits) -> None:
        super().__init__("json", name, limits)
        self._keys = keys
        self._nested = nested
        self._items = items
        self.total_rows = len(items)
        header = [f"{ATTRIBUTES_PREFIX}{k}" for k in nested] + keys
        self._first, self._first_line = (header if header else None), (0 if header else None)

    def _iter(self, skip: int, track: bool) -> Iterator[tuple[int, list[str]]]:
        keys, nested = self._keys, self._nested
        items = enumerate(islice(self._items, skip, None), skip + 1)
        if not nested:
            rows = ((line, [_cell(item.get(k)) for k in keys]) for line, item in items)
        else:
            rows = ((line, _nested_cells(item, nested, keys)) for line, item in items)
        return self._emit(rows, skip, track)

    def _close(self) -> None:
        self._items = []


ATTRIBUTES_PREFIX = "attributes."


def _nested_cells(item: dict, nested: list[str], keys: list[str]) -> list[str]:
    attributes = item.get("attributes")
    if attributes.__class__ is not dict:
        return [""] * len(nested) + [_cell(item.get(k)) for k in keys]
    return [_cell(attributes.get(k)) for k in nested] + [_cell(item.get(k)) if k != "attributes" else ""
                                                        for k in keys]


# -- JSON


def _open_json(path: Path, name: str, limits: Limits) -> Table:
    shape = ('JSON imports are an array of objects like [{"email": "ann@example.com", "name": "Ann"}, ...], or '
             "JSON lines (one object per line, as an export's .jsonl file)")
    lines = _extension(name) in ("jsonl", "ndjson")
    try:
        with open(path, "rb") as f:
            raw = f.read()
        try:
            data = _json_lines(raw) if lines else json.loads(raw)
        except json.JSONDecodeError as e:
            # One object followed by more: JSON lines in a file not named so.
            if lines or e.msg != "Extra data" or not raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
                raise
            data = _json_lines(raw)
    except UnicodeDecodeError as e:
        raise InvalidInput("file", f"{name} is not UTF-8 encoded JSON ({e.reason}); re-save it as UTF-8") from None
    except json.JSONDecodeError as e:
        raise InvalidInput(
            "file", f"{name} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); {shape}"
        ) from None
    except RecursionError:
        raise InvalidInput("file", f"{name} nests too deeply to be read; {shape}") from None
    if not isinstance(data, list):
        got = f"an object with keys {', '.join(map(repr, list(data)[:10]))}" if isinstance(data, dict) else _kind(data)
        raise InvalidInput("file", f"{shape}; {name} holds {got} instead (give the array itself)")
    keys: dict[str, None] = {}
    nested: dict[str, None] = {}
    for i, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise InvalidInput("file", f"{shape}; item {i} of {name} is {_kind(item)}")
        attributes = item.get("attributes")
        if isinstance(attributes, dict):  # the v3-style body: {"email": ..., "attributes": {"FNAME": ...}}
            if any(k not in nested for k in attributes):
                nested.update(dict.fromkeys(attributes))
            new = any(k not in keys and k != "attributes" for k in item)
            if new:
                keys.update(dict.fromkeys(k for k in item if k != "attributes"))
        elif len(item) > len(keys) or any(k not in keys for k in item):
            keys.update(dict.fromkeys(item))
        else:
            continue
        if len(keys) + len(nested) > limits.max_columns:
            raise InvalidInput(
                "file",
                f"the objects of {name} use {len(keys) + len(nested)} different keys by item {i}; at most "
                f"{limits.max_columns} columns are allowed, so keep only the contact fields",
            )
    return _JsonTable(name, list(keys), list(nested), data, limits)


def _json_lines(raw: bytes) -> list[Any]:
    """The values of a JSON-lines file, one a non-blank line. Split on newlines only: a JSON string may hold
    U+2028, which str.splitlines splits on. An error tells its place in the whole file."""
    text = raw.decode("utf-8-sig")
    data = []
    start = 0
    for line in text.split("\n"):
        if line.strip():
            try:
                data.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise json.JSONDecodeError(e.msg, text, start + e.pos) from None
        start += len(line) + 1
    return data


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}
    return kinds.get(type(v), "an object" if isinstance(v, dict) else type(v).__name__)


# -- spreadsheets


OPENERS["json"] = lambda path, fmt, display, size, encoding, delimiter, sheet, limits: _open_json(path, display, limits)
