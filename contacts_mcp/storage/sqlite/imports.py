"""Import jobs: their state and checkpoint, and the error report of rejected lines."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from ..rows import COUNTERS
from .session import Session, chunks, marks

_JSON = ("options", "mapping", "unknown_columns", "notify_result", "notes")


def _encode(values: dict[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v) if k in _JSON and v is not None else v for k, v in values.items()}


def _decode(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is not None:
        for col in _JSON:
            if row.get(col) is not None:
                row[col] = json.loads(row[col])
    return row


class ImportReads(Session):
    def job(self, job_id: str) -> dict[str, Any] | None:
        return _decode(self._one("SELECT * FROM import_jobs WHERE account_id = ? AND id = ?", [self.account_id, job_id]))

    def job_status(self, job_id: str) -> str | None:
        return self._value("SELECT status FROM import_jobs WHERE account_id = ? AND id = ?", [self.account_id, job_id])

    def jobs(self, *, status: str | None, after_seq: int | None, limit: int,
             kind: str | None = None) -> list[dict[str, Any]]:
        where, params = ["account_id = ?"], [self.account_id]
        if status:
            where.append("status = ?")
            params.append(status)
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if after_seq is not None:
            where.append("seq < ?")
            params.append(after_seq)
        rows = self._all(f"SELECT * FROM import_jobs WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?",
                         [*params, limit])
        return [_decode(r) for r in rows]

    def jobs_of_lists(self, list_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The import that created each list, if one did."""
        out: dict[int, dict[str, Any]] = {}
        for part in chunks(list(list_ids)):
            for r in self._all(f"SELECT * FROM import_jobs WHERE account_id = ? AND list_id IN ({marks(len(part))})",
                               [self.account_id, *part]):
                out[r["list_id"]] = _decode(r)
        return out

    def errors(self, job_id: str, *, after_line: int, limit: int) -> list[dict[str, Any]]:
        rows = self._all("SELECT line, data, reason FROM import_errors WHERE job_id = ? AND account_id = ? "
                         "AND line > ? ORDER BY line LIMIT ?", [job_id, self.account_id, after_line, limit])
        for r in rows:
            r["data"] = json.loads(r["data"])
        return rows

    def iter_errors(self, job_id: str, batch: int = 1000) -> Iterator[dict[str, Any]]:
        after = 0
        while rows := self.errors(job_id, after_line=after, limit=batch):
            yield from rows
            after = rows[-1]["line"]


class ImportWrites(ImportReads):
    def insert_job(self, values: dict[str, Any]) -> None:
        values = _encode(values)
        cols = list(values)
        self._run(f"INSERT INTO import_jobs (account_id, {', '.join(cols)}) VALUES (?, {marks(len(cols))})",
                  [self.account_id, *values.values()])

    def update_job(self, job_id: str, values: dict[str, Any]) -> None:
        values = _encode(values)
        sets = ", ".join(f"{c} = ?" for c in values)
        self._run(f"UPDATE import_jobs SET {sets} WHERE account_id = ? AND id = ?",
                  [*values.values(), self.account_id, job_id])

    def advance_job(self, job_id: str, *, checkpoint: int, percent: float, counts: dict[str, int]) -> None:
        """Record a batch in its own transaction: the checkpoint (last line applied) and the counters
        move together, so a resumed job neither repeats nor loses a line."""
        adds = ", ".join(f"{c} = {c} + ?" for c in ("lines_read", *COUNTERS))
        # starts = 1: the run that applied this batch got somewhere, so earlier fruitless starts no longer count.
        self._run(f"UPDATE import_jobs SET checkpoint = ?, percent = ?, starts = 1, {adds} "
                  "WHERE account_id = ? AND id = ?",
                  [checkpoint, percent, sum(counts.get(c, 0) for c in COUNTERS),
                   *(counts.get(c, 0) for c in COUNTERS), self.account_id, job_id])

    def insert_errors(self, job_id: str, rows: Sequence[tuple[int, Any, str]]) -> None:
        """(line, original values, reason) rows; a line already reported (a resumed batch) is kept once."""
        self._conn.executemany(
            "INSERT INTO import_errors (job_id, line, account_id, data, reason) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (job_id, line) DO NOTHING",
            [(job_id, line, self.account_id, json.dumps(data, ensure_ascii=False), reason) for line, data, reason in rows])


def pending_jobs(conn: Any) -> list[tuple[int, str]]:
    """(account id, job id) of every job still to run, oldest first, across accounts: for the job runner
    only, which then works on each job inside that job's own account."""
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT account_id, id FROM import_jobs WHERE status IN ('queued', 'running') ORDER BY seq").fetchall()]


def expired_exports(conn: Any, now: str) -> list[tuple[int, str, str]]:
    """(account id, job id, file) of the export files kept past their time, across accounts: for the job
    runner's clean-up only, which then clears each inside its own account."""
    return [(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT account_id, id, file_path FROM import_jobs WHERE expires_at IS NOT NULL AND file_path IS NOT NULL "
        "AND expires_at < ?", [now]).fetchall()]
