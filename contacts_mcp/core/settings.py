"""Runtime settings, read once from the command line and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DEFAULT_REGION = "FR"
MB = 1024 * 1024


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir("contacts-mcp", appauthor=False)) / "contacts.db"


def is_database_url(text: str) -> bool:
    """A PostgreSQL URL (postgresql://… or postgres://…); anything else names a SQLite file."""
    return text.lower().startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class Settings:
    db_path: Path  # the SQLite file, unless db_url is set
    db_url: str | None = None  # PostgreSQL: many server processes share one database
    files_dir: Path | None = None  # import files kept until their job ends; with PostgreSQL, a shared folder
    default_region: str = DEFAULT_REGION
    # Local files may only be imported from inside these folders (and the client's MCP roots).
    import_roots: tuple[Path, ...] = ()
    allow_private_urls: bool = False
    max_file_bytes: int = 20 * MB
    max_inline_bytes: int = 10 * MB
    reader_memory_bytes: int = 1024 * MB  # an import file's reader child: address-space cap (RLIMIT_AS)
    reader_seconds: int = 600  # ... and its CPU time (RLIMIT_CPU), also the longest wait for its next chunk
    jobs_at_once: int = 4  # import jobs running side by side, all accounts together...
    jobs_per_account: int = 2  # ...and at most this many of one account
    download_min_rate: int = 1024  # bytes a second a download must keep up, measured over...
    download_rate_window: float = 15.0  # ...this many seconds (a trickling host holds nothing for long)
    read_only: bool = False  # stdio: list and run only the read-only tools
    rate_limit: float = 50.0  # HTTP: requests a second per API token (bursts up to twice that); 0 = off
    webhook_first_delay: float = 2.0  # seconds before a failed webhook delivery's 2nd attempt; doubles after
    export_dir: Path | None = None  # export files (CONTACTS_MCP_EXPORT_DIR); with PostgreSQL, a shared folder
    export_hours: float = 24.0  # an export's file is deleted this long after it is written

    @property
    def jobs_dir(self) -> Path:
        """Where import sources given inline or by URL are kept until their job ends: files_dir, else next to
        the SQLite file. With PostgreSQL, a job may run in any server process, so every process must see the
        same folder (a shared mount) when they run on several machines."""
        if self.files_dir is not None:
            return self.files_dir
        if self.db_url is not None:
            return default_db_path().parent / "imports"
        return self.db_path.parent / f"{self.db_path.stem}-imports"

    @property
    def exports_dir(self) -> Path:
        """Where export files are written (then deleted after export_hours): export_dir, else a folder next
        to the SQLite file (the user data folder by default). With PostgreSQL, the download or resource may be
        asked of any server process: on several machines this must be a shared mount."""
        if self.export_dir is not None:
            return self.export_dir
        if self.db_url is not None:
            return default_db_path().parent / "exports"
        return self.db_path.parent / f"{self.db_path.stem}-exports"

    @property
    def database(self) -> str:
        """What the store opens, as shown to people (a PostgreSQL URL without its password)."""
        if self.db_url is None:
            return str(self.db_path)
        head, sep, tail = self.db_url.partition("@")
        scheme, _, credentials = head.partition("://")
        return f"{scheme}://{credentials.split(':')[0]}@{tail}" if sep else self.db_url

    @classmethod
    def from_env(cls, db_path: str | os.PathLike | None = None, default_region: str | None = None) -> Settings:
        db = str(db_path or _env("CONTACTS_MCP_DB") or default_db_path())
        url = db if is_database_url(db) else None
        files = _env("CONTACTS_MCP_FILES_DIR")
        exports = _env("CONTACTS_MCP_EXPORT_DIR")
        region = (default_region or _env("CONTACTS_MCP_DEFAULT_REGION") or DEFAULT_REGION).upper()
        roots = tuple(Path(p).expanduser().resolve() for p in (_env("CONTACTS_MCP_IMPORT_ROOTS") or "").split(os.pathsep)
                      if p.strip())
        return cls(db_path=default_db_path() if url else Path(db).expanduser(), db_url=url,
                   files_dir=Path(files).expanduser().resolve() if files else None, default_region=region, import_roots=roots,
                   allow_private_urls=_flag("CONTACTS_MCP_ALLOW_PRIVATE_URLS"),
                   max_file_bytes=_megabytes("CONTACTS_MCP_MAX_FILE_MB", cls.max_file_bytes),
                   max_inline_bytes=_megabytes("CONTACTS_MCP_MAX_INLINE_MB", cls.max_inline_bytes),
                   reader_memory_bytes=_megabytes("CONTACTS_MCP_READER_MEMORY_MB", cls.reader_memory_bytes),
                   reader_seconds=int(_env("CONTACTS_MCP_READER_SECONDS") or cls.reader_seconds),
                   jobs_at_once=int(_env("CONTACTS_MCP_JOBS_AT_ONCE") or cls.jobs_at_once),
                   jobs_per_account=int(_env("CONTACTS_MCP_JOBS_PER_ACCOUNT") or cls.jobs_per_account),
                   read_only=_flag("CONTACTS_MCP_READ_ONLY"),
                   rate_limit=float(_env("CONTACTS_MCP_RATE_LIMIT") or cls.rate_limit),
                   export_dir=Path(exports).expanduser().resolve() if exports else None,
                   export_hours=float(_env("CONTACTS_MCP_EXPORT_HOURS") or cls.export_hours))


def _megabytes(name: str, default: int) -> int:
    """A size given in MB (decimals allowed), in bytes."""
    value = _env(name)
    return int(float(value) * MB) if value else default


def _flag(name: str) -> bool:
    return (_env(name) or "") in ("1", "true", "yes")


def _env(name: str) -> str | None:
    """An environment value, or None when empty or an unexpanded placeholder: bundle clients may pass
    '${user_config.x}' through literally when the user left a setting blank."""
    value = os.environ.get(name, "").strip()
    return None if not value or value.startswith("${") else value
