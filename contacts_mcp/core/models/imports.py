"""Import jobs and their error reports."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import Out


JobStatus = Literal["queued", "running", "completed", "failed", "cancelled"]


class ImportJob(Out):
    """An import job: status, counts; rejected lines in error_report (+ .csv); unknown_columns ignored."""

    kind: Literal["import"] = "import"
    id: str
    status: JobStatus
    source: str
    list_id: int | None = None
    lines_read: int
    total_lines: int | None = None
    created: int
    updated: int
    unchanged: int
    invalid: int
    duplicates: int
    skipped: int
    percent: float
    mapping: dict[str, str] | None = None
    unknown_columns: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    error: str | None = None
    error_report: str | None = None
    notify: str | None = None
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None





class ImportErrorLine(Out):
    line: int
    values: dict[str, str]
    reason: str


class ImportErrorPage(Out):
    job_id: str
    errors: list[ImportErrorLine]
    next_cursor: str | None = None
