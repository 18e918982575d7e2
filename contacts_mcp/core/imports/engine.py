"""The import pipeline: rows read and prepared in batches, each batch applied and checkpointed in one
transaction.

Reading and preparing (normalisation, validation) is CPU work done off the event loop, in a thread;
applying is one write unit per batch on the writer thread (lanes.apply_lines: new contacts together, the
other lines through upsert.apply_batch, the path every contact write takes). A batch's contacts, its rejected lines and the job's checkpoint (the last line applied) commit
together, so a job stopped at any point, even by SIGKILL, resumes from its checkpoint without losing
or repeating a line. An export's own columns (status, lists, segments, opt-outs: extras.py) are read with
their line and applied with its contact, in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from ...storage.api import COUNTERS
from ..errors import ContactsError, InvalidInput
from ..fields import Registry
from ..lanes import apply_lines
from ..upsert import BatchOptions
from .extras import BatchExtras, Extras, line_reader
from .lineplan import line_plan
from .mapping import Mapping, resolve
from .readers import Limits, open_table

BATCH_ROWS = 10000


@dataclass(frozen=True)
class ReadSpec:
    """Everything needed to read and prepare a file's rows (plain data: it can cross to a worker)."""

    path: Path
    format: str | None
    name_hint: str | None
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    limits: Limits
    region: str
    registry: Registry
    has_header: bool | None
    explicit: dict[str, str] | None
    checkpoint: int              # the last line already applied (0: none)
    match_keys: tuple[str, ...]
    batch_rows: int = BATCH_ROWS


@dataclass
class Header:
    """What reading the file told before its first chunk: how columns map to fields, and its size."""

    mapping: Mapping
    total_lines: int | None      # data lines, when the format tells them up front
    format: str


@dataclass
class Chunk:
    """A batch of prepared lines in a compact form that is cheap to send between processes: each line is
    a tuple of values in `names` order plus its custom attributes, or the message of why it is invalid."""

    checkpoint: int                              # the last line this chunk covers
    progress: float | None = None
    names: tuple[str, ...] = ()                  # the prepared columns (the same for every line of a job)
    lines: list[int] = field(default_factory=list)
    rows: list[tuple | str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)  # original cells joined by RAW_SEP, for the error report
    extras: list[Extras | None] = field(default_factory=list)  # per line, when the file has an export's columns

    def items(self) -> list[tuple | ContactsError]:
        """Lines as read (apply_batch builds a Prepared only for a line that matches a contact)."""
        return [row if row.__class__ is tuple else ContactsError(row) for row in self.rows]


RAW_SEP = "\x1f"
_OUTCOME = itemgetter(0)  # an ItemResult's outcome
_COUNTER = {"failed": "invalid", "duplicate": "duplicates"}  # the job's counter of an outcome, where named otherwise


def read_chunks(spec: ReadSpec) -> Iterator[Header | Chunk]:
    """The file's Header, then its prepared rows in batches from the checkpoint on. A spreadsheet is
    loaded once, by whichever process reads it."""
    with open_table(spec.path, format=spec.format, name_hint=spec.name_hint, encoding=spec.encoding,
                    delimiter=spec.delimiter, sheet=spec.sheet, limits=spec.limits) as table:
        first_row = table.first_row()
        if not first_row:
            raise InvalidInput("file", "has no rows")
        columns = resolve(first_row, spec.registry, has_header=spec.has_header, explicit=spec.explicit,
                          keys_are_header=table.header_from_keys)
        total = table.total_rows
        if total is not None and columns.has_header and not table.header_from_keys:
            total -= 1
        yield Header(mapping=columns, total_lines=total, format=table.format)
        # The header is the first non-blank row; resuming skips by line number (re-reading up to the
        # checkpoint is cheap next to applying, and unlike a byte offset survives blank and multi-line rows).
        header_line = table.first_row_line if columns.has_header and not table.header_from_keys else 0
        plan = line_plan(columns, spec.region, spec.registry, spec.match_keys)
        prepare_line = plan.prepare
        read_extras = line_reader(columns.extras, arrays=table.format == "json")
        chunk = Chunk(checkpoint=spec.checkpoint, names=plan.names)
        for line, cells in table.rows(skip=max(spec.checkpoint, header_line or 0)):
            chunk.checkpoint = line
            chunk.lines.append(line)
            chunk.raw.append(RAW_SEP.join(cells))
            try:
                chunk.rows.append(prepare_line(cells))
            except ContactsError as exc:
                chunk.rows.append(str(exc))
            if read_extras is not None:
                try:
                    extras = read_extras(cells)
                except ContactsError as exc:  # the line is invalid as a whole, naming every problem
                    earlier = chunk.rows[-1]
                    chunk.rows[-1] = f"{earlier}; {exc}" if earlier.__class__ is str else str(exc)
                    extras = None
                chunk.extras.append(extras if chunk.rows[-1].__class__ is tuple else None)
            if len(chunk.rows) >= spec.batch_rows:
                chunk.progress = table.progress()
                yield chunk
                chunk = Chunk(checkpoint=line, names=plan.names)
        chunk.progress = 1.0
        yield chunk  # possibly empty: it carries the final checkpoint


def apply_chunk(w: Any, job_id: str, chunk: Chunk, opts: BatchOptions, headers: list[str]) -> dict[str, int]:
    """One batch in the caller's write transaction: contacts (with their extras), rejected lines, checkpoint.
    Returns the counts."""
    items = chunk.items()
    extras = BatchExtras(w, chunk.extras) if any(chunk.extras) else None
    if extras is not None:
        items = extras.refuse(items)  # before anything of the line is applied
    results = apply_lines(w, items, opts, chunk.names) if chunk.rows else []
    if extras is not None:
        results = extras.apply(w, results, opts)
    counts = dict.fromkeys(COUNTERS, 0)
    outcomes = Counter(map(_OUTCOME, results))  # in C: a line costs nothing here but its outcome's count
    for outcome, n in outcomes.items():
        counts[_COUNTER.get(outcome, outcome)] += n
    errors = []
    if outcomes["failed"]:
        for line, raw, result in zip(chunk.lines, chunk.raw, results):
            if result.outcome == "failed":
                cells = raw.split(RAW_SEP)
                errors.append((line, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(headers)},
                               result.error))
    if errors:
        w.insert_errors(job_id, errors)
    percent = round(100.0 * (chunk.progress or 0.0), 1)
    w.advance_job(job_id, checkpoint=chunk.checkpoint, percent=percent, counts=counts)
    return counts
