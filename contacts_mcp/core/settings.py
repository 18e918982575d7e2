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


@dataclass(frozen=True)
class Settings:
    db_path: Path
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

    @property
    def jobs_dir(self) -> Path:
        """Where import sources given inline or by URL are kept until their job ends (next to the database)."""
        return self.db_path.parent / f"{self.db_path.stem}-imports"

    @classmethod
    def from_env(cls, db_path: str | os.PathLike | None = None, default_region: str | None = None) -> Settings:
        db = db_path or _env("CONTACTS_MCP_DB") or default_db_path()
        region = (default_region or _env("CONTACTS_MCP_DEFAULT_REGION") or DEFAULT_REGION).upper()
        roots = tuple(Path(p).expanduser().resolve() for p in (_env("CONTACTS_MCP_IMPORT_ROOTS") or "").split(os.pathsep)
                      if p.strip())
        return cls(db_path=Path(db).expanduser(), default_region=region, import_roots=roots,
                   allow_private_urls=_flag("CONTACTS_MCP_ALLOW_PRIVATE_URLS"),
                   max_file_bytes=_megabytes("CONTACTS_MCP_MAX_FILE_MB", cls.max_file_bytes),
                   max_inline_bytes=_megabytes("CONTACTS_MCP_MAX_INLINE_MB", cls.max_inline_bytes),
                   reader_memory_bytes=_megabytes("CONTACTS_MCP_READER_MEMORY_MB", cls.reader_memory_bytes),
                   reader_seconds=int(_env("CONTACTS_MCP_READER_SECONDS") or cls.reader_seconds),
                   jobs_at_once=int(_env("CONTACTS_MCP_JOBS_AT_ONCE") or cls.jobs_at_once),
                   jobs_per_account=int(_env("CONTACTS_MCP_JOBS_PER_ACCOUNT") or cls.jobs_per_account),
                   read_only=_flag("CONTACTS_MCP_READ_ONLY"),
                   rate_limit=float(_env("CONTACTS_MCP_RATE_LIMIT") or cls.rate_limit))


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
