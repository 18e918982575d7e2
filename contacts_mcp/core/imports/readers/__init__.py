"""Open an uploaded or downloaded contact file and stream its rows as lists of strings.

One module per format (csvfile, jsonfile, sheets with the xlsx* modules; archive for ZIP), each registering its
opener in `OPENERS` (_base.py): a new format is a module here, its entry in FORMATS and its extensions.

One entry point, `open_table`, turns a CSV, XLSX, XLS, ODS or JSON file (an array, or JSON lines), or a ZIP
holding exactly one of those, into a `Table` whose `rows()` yields `(line_number, cells)` with bounded memory, so a
background import job can process rows in batches and resume after a crash with `rows(skip=n)`.

Every refusal is an `InvalidInput` or `LimitExceeded` whose message says what is wrong and how to fix it.

Row contract (all formats):
  * cells are `str`; spreadsheet and JSON values are converted (see `_cell`): None -> "", bools ->
    "true"/"false", integral numbers without ".0", dates as ISO 8601; a CSV or spreadsheet cell that an
    export guarded against formulas (`'+33612345678`) loses that apostrophe (see `_unguarded`);
  * line numbers are 1-based: the physical sheet row, the CSV record index, or the JSON array index;
  * rows whose cells are all empty are not yielded but still count in line numbers;
  * `rows(skip=n)` passes over the first n rows (blank ones included), so it yields only lines > n:
    a job that has processed up to line N resumes with `rows(skip=N)`;
  * a row with more than `Limits.max_columns` cells (trailing empty cells not counted) is refused;
  * cells longer than `Limits.max_cell_chars` are truncated to that length (not refused).

Memory: CSV is parsed incrementally (`open(newline="")` + `csv.reader`); an XLSX sheet is streamed
(xlsxfile: its XML inflated and parsed a block of rows at a time, only its shared strings held, see
sheet_budget); an XLS or ODS sheet is loaded by calamine (bounded by the file size, the container's
uncompressed size and a cell-count limit) and converted row by row; JSON (at most `max_file_bytes`) is
loaded whole.
"""

from __future__ import annotations

from pathlib import Path

from . import csvfile, jsonfile, sheets  # noqa: F401 - importing them registers their formats
from ._base import FORMATS, Limits, Table, _checked_size, open_inner
from .archive import _open_zip
from .detect import detect_format
from .jsonfile import ATTRIBUTES_PREFIX

__all__ = ["ATTRIBUTES_PREFIX", "FORMATS", "Limits", "Table", "detect_format", "open_table"]


def open_table(
    path: Path,
    *,
    format: str | None = None,  # noqa: A002 - public keyword
    name_hint: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    limits: Limits = Limits(),
    workdir: Path | None = None,
) -> Table:
    """Open `path` as a table of rows. `format` overrides detection; `name_hint` is the original file
    name (used for detection and messages); `encoding`/`delimiter` apply to CSV, `sheet` to
    spreadsheets (default: the first visible worksheet); a ZIP is extracted into a temporary
    directory under `workdir` (default: the system temp dir) that close() removes."""
    path = Path(path)
    display = name_hint or path.name
    size = _checked_size(path, display, limits)
    fmt = detect_format(path, format, name_hint)
    if fmt == "zip":
        return _open_zip(path, display, encoding, delimiter, sheet, limits, workdir)
    return open_inner(path, fmt, display, size, encoding, delimiter, sheet, limits)


