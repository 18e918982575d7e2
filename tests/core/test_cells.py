"""The formula guard of exported cells: neutralise() (storage/columns.py), its SQL twin (storage/sqlite/exports.py,
both backends) and restore() (core/exports/cells.py), which an import applies."""

from __future__ import annotations

import sqlite3

from hypothesis import given, strategies as st

from contacts_mcp.core.exports.cells import neutralise, restore
from contacts_mcp.storage.sqlite.exports import ExportReads

SAMPLES = ["", "a", "=1+1", "+33612345678", "-x", "@home", "\tTab", "\rCR", "'", "''", "'=x", "''+y", "'plain",
           "O'Neil", "A", "@", "=", "Zoë", "1 rue", " =spaced"]
_TEXT = st.text(alphabet=st.sampled_from("'=+-@\t\rab ÉZ0"), max_size=6)


@given(_TEXT)
def test_restore_gives_back_exactly_what_neutralise_guarded(text):
    assert restore(neutralise(text)) == text


@given(_TEXT)
def test_a_neutralised_cell_never_starts_like_a_formula(text):
    assert neutralise(text)[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_the_sql_guard_of_both_backends_is_the_python_one(pg_url):
    import psycopg

    sqlite_expr = ExportReads._neutral(ExportReads, ":v")
    conn = sqlite3.connect(":memory:")
    pg = psycopg.connect(pg_url, autocommit=True)
    pg_expr = ExportReads._neutral(type("PG", (), {"FIRST_CODE": "ascii", "BYTES": ' COLLATE "C"'}), "%(v)s::text")
    try:
        for text in SAMPLES:
            expected = neutralise(text)
            assert conn.execute(f"SELECT {sqlite_expr}", {"v": text}).fetchone()[0] == expected, text
            assert pg.execute(f"SELECT {pg_expr}", {"v": text}).fetchone()[0] == expected, text
    finally:
        conn.close()
        pg.close()
