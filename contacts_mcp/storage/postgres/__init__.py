"""The PostgreSQL backend of storage/api.py: many server processes on one database (psycopg 3)."""

from .queries import Reader, Writer
from .store import Store

__all__ = ["Reader", "Store", "Writer"]
