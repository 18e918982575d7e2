"""The SQLite backend of storage/api.py: one file in WAL mode, one writer thread, pooled readers."""

from .store import Reader, Store, Writer

__all__ = ["Reader", "Store", "Writer"]
