"""Runtime settings, read once from the command line and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DEFAULT_REGION = "FR"


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir("contacts-mcp", appauthor=False)) / "contacts.db"


@dataclass(frozen=True)
class Settings:
    db_path: Path
    default_region: str = DEFAULT_REGION

    @classmethod
    def from_env(cls, db_path: str | os.PathLike | None = None, default_region: str | None = None) -> Settings:
        db = db_path or _env("CONTACTS_MCP_DB") or default_db_path()
        region = (default_region or _env("CONTACTS_MCP_DEFAULT_REGION") or DEFAULT_REGION).upper()
        return cls(db_path=Path(db).expanduser(), default_region=region)


def _env(name: str) -> str | None:
    """An environment value, or None when empty or an unexpanded placeholder: bundle clients may pass
    '${user_config.x}' through literally when the user left a setting blank."""
    value = os.environ.get(name, "").strip()
    return None if not value or value.startswith("${") else value
