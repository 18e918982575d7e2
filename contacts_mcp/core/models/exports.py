"""Export jobs, and the page of jobs of both kinds the job tools return."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import Out
from .imports import ImportJob, JobStatus

ExportFormat = Literal["csv", "xlsx", "jsonl"]
Delimiter = Literal[",", ";", "\t", "|"]  # a CSV export's: the ones an import detects


class ExportJob(Out):
    """An export job; once completed: file (local), download_url (HTTP), resource (<= 1 MB)."""

    kind: Literal["export"] = "export"
    id: str
    status: JobStatus
    source: str
    format: ExportFormat
    columns: list[str]
    rows: int
    total_rows: int | None = None
    percent: float
    bytes: int | None = None
    file: str | None = None
    download_url: str | None = Field(None, description="Valid 15 min; get_jobs gives a new one.")
    resource: str | None = None
    expires_at: str | None = Field(None, description="The file is deleted then.")
    error: str | None = None
    notify: str | None = None
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None


class JobPage(Out):
    jobs: list[ImportJob | ExportJob]  # told apart by kind (anyOf: the tools' compact schemas keep no discriminator)
    next_cursor: str | None = None
