"""The built-in attributes are one table (core.models.BUILTINS); every other list of them must agree."""

import sqlite3

from contacts_mcp.core import fields
from contacts_mcp.core.models import BUILTIN_FIELDS, BUILTINS, Contact, ContactInput
from contacts_mcp.storage.sqlite.contacts import DATA_COLUMNS
from contacts_mcp.storage.sqlite.migrations import MIGRATIONS
from contacts_mcp.storage.sqlite.stats import FILL_COLUMNS
from contacts_mcp.storage.tree import fold


def test_the_input_and_output_models_declare_every_built_in_field():
    # (identities first in the models, for the assistant reading the schema; the canonical order is the table's)
    assert set(BUILTIN_FIELDS) <= set(ContactInput.model_fields)
    assert set(BUILTIN_FIELDS) <= set(Contact.model_fields)


def test_storage_has_a_column_for_every_built_in_field_and_reports_each_fill_rate():
    assert FILL_COLUMNS == ("ext_id", *BUILTIN_FIELDS)
    assert set(BUILTIN_FIELDS) <= set(DATA_COLUMNS)
    conn = sqlite3.connect(":memory:")
    conn.create_function("contacts_fold", 1, fold, deterministic=True)  # the folded indexes need it (migration 014)
    for _, _, statements in MIGRATIONS:
        for sql in statements:
            conn.execute(sql, {"now": "2026-01-01T00:00:00Z"} if ":now" in sql else ())
    columns = {row[1] for row in conn.execute("PRAGMA table_info(contacts)")}
    assert set(BUILTIN_FIELDS) <= columns


def test_the_field_registry_lists_the_built_in_fields_in_the_canonical_order_with_their_kinds():
    reg = fields._build([], [])
    builtins = [f for f in reg.fields.values() if f.builtin]
    assert [f.name for f in builtins] == ["ext_id", *BUILTIN_FIELDS]
    assert {f.name: f.type for f in builtins} == {"ext_id": "id", **BUILTINS}
