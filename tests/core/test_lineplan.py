"""Differential tests: a compiled line plan prepares every import line exactly as the generic path does
(row_values + prepare + missing_identity, as read_chunks did per line): same tuple, same column names,
same error message."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts_mcp.core.errors import InvalidInput
from contacts_mcp.core.fields import _build
from contacts_mcp.core.imports.lineplan import _date, line_plan
from contacts_mcp.core.imports.mapping import Mapping
from contacts_mcp.core.models import BUILTIN_FIELDS
from contacts_mcp.core.normalize import normalize_date
from contacts_mcp.core.prepare import missing_identity, prepare

PROPERTY = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CUSTOM = [
    {"name": "tier", "type": "choice", "choices": ["gold", "Silver", "bronze"]},
    {"name": "score", "type": "number", "choices": None},
    {"name": "vip", "type": "boolean", "choices": None},
    {"name": "joined", "type": "date", "choices": None},
    {"name": "notes", "type": "text", "choices": None},
]
# Custom fields named like prepare()'s other arguments: mappings with them take the generic path.
ODD_CUSTOM = [{"name": n, "type": "text", "choices": None}
              for n in ("email_blacklisted", "list_ids", "blocked_senders")]
REG = _build(CUSTOM, [])
ODD_REG = _build(CUSTOM + ODD_CUSTOM, [])

MATCH_KEYS = [("ext_id", "email_key", "mobile"), ("ext_id", "email_key"), ("ext_id", "mobile"), ("ext_id",), ()]
REGIONS = ["FR", "US", "JP"]  # JP: no phone fast path

LONG = "x" * 255
CELLS = {
    "text": ["", " ", "Ann", "  Ann Lee ", "\u00a0Zoé\u2003", "a\x00b", "\x00", " \x00 ", "\x00 a \x00", LONG,
             LONG + "x", f" {LONG} ", LONG[:-1] + "\x00\x00", "x" * 300],
    "email": ["ann@example.com", " Ann.Lee@Example.COM ", "INFO@Example.com", "bad", "ann@", "@example.com",
              "ann@@example.com", "ann lee@example.com", "ann@localhost", "ann@exa--mple.com", "josé@example.com",
              "ann@xn--bcher-kva.example", "a\x00@example.com", "ann@example.com\x00", '"a b"@example.com',
              "ann@[192.168.0.1]", "x" * 250 + "@example.com", "ann@example.invalid", "Ann <ann@example.com>",
              "\u200b", " \ufeffann@example.com\u200b "],
    "phone": ["0612345678", "06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "+33 (0)6 12 34 56 78",
              "612345678", "12", "not a phone", "+33 1", "(201) 555-0123", "+1 201 555 0123", "+44 20 7946 0958",
              "03-1234-5678", "+81 3-1234-5678", "0612345678\x00", "+33612345678 ext. 12", "1" * 41, "06.12.34.56.78",
              "\u200b ", "\u200b06 12 34 56 78"],
    "date": ["1990-05-17", " 1990-05-17 ", "17/05/1990", "17.05.1990", "17-05-1990", "31/02/1990", "1990-02-30",
             "2024-W01-1", "19900517", "0000-01-01", "0001-01-01", "1990-5-17", "yesterday",
             "\uff11\uff19\uff19\uff10-05-17", "1990-05-17\x00", "1990-05-17T10:00"],
    "ext_id": ["A1", " A1 ", "x" * 100, "x" * 101, "CRM-\x00-7", "\u200b", " \ufeffA1\u200b ", "\u2060 \u200d"],
    "number": ["42", "3.5", "3,5", "1e3", "1 000", "1\u00a0000", "abc", "-0", "inf", "nan", "0x10", "1,000.5"],
    "boolean": ["yes", "Non", "x", "TRUE", "maybe", "0"],
    "choice": ["gold", "GOLD", " silver ", "Silver", "bronze", "copper"],
}
ALL_CELLS = sorted({c for pool in CELLS.values() for c in pool})
FIELDS = [*BUILTIN_FIELDS, "ext_id", "tier", "score", "vip", "joined", "notes"]


def generic(mapping: Mapping, cells: list[str], region: str, reg: Any, match_keys: tuple[str, ...]) -> tuple:
    """read_chunks' per-line preparation before plans, kept here as the reference."""
    values: dict[str, str] = {}
    for i, f in enumerate(mapping.fields):
        if f is not None:
            cell = cells[i] if i < len(cells) else ""
            if cell or f not in values:
                values[f] = cell
    p = prepare(values, region, reg)
    if wanted := missing_identity(p, match_keys):
        raise InvalidInput("line", f"has no {wanted}, the identity this import deduplicates on")
    return tuple(p.columns), (*p.columns.values(), p.attributes)


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 - compared, whatever it is
        return type(exc).__name__, str(exc)


def check(fields: list[str | None], rows: list[list[str]], region: str = "FR",
          match_keys: tuple[str, ...] = MATCH_KEYS[0], reg: Any = REG) -> None:
    mapping = Mapping(has_header=True, fields=fields, headers=[f"h{i}" for i in range(len(fields))], unknown=[])
    plan = line_plan(mapping, region, reg, match_keys)
    for cells in rows:
        expected = outcome(generic, mapping, cells, region, reg, match_keys)
        got = outcome(plan.prepare, list(cells))
        if expected[0] == "ok":
            names, row = expected[1]
            expected = ("ok", row)
            assert plan.names == names
        # repr: NaN (a number "nan" is accepted) equals itself, and 1, 1.0 and True differ
        assert repr(got) == repr(expected), cells


def kind_of(field: str | None) -> str:
    if field in ("email",):
        return "email"
    if field in ("mobile", "fixed_phone", "fax"):
        return "phone"
    if field in ("birth_date", "joined"):
        return "date"
    return {"ext_id": "ext_id", "score": "number", "vip": "boolean", "tier": "choice"}.get(field or "", "text")


# ------------------------------------------------------------------------------------------ hand-picked

BENCH = list(BUILTIN_FIELDS)
GOOD = ["M", "Ann", "Lee", "ann@example.com", "", "0612345678", "", "1 rue de la Paix", "", "75001", "Paris", "",
        "France", "1980-01-01", "Acme", "R1"]


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("match_keys", MATCH_KEYS)
def test_each_interesting_cell_in_each_column_matches_the_generic_path(region, match_keys):
    fields = [*BENCH, "ext_id", "tier", "score", "vip", "joined", "notes"]
    base = [*GOOD, "", "gold", "1", "yes", "", ""]
    rows = [base, base[:3], base[:6], [], [""] * len(base), ["", "", "", "", "", "", "", "x"]]
    for col, field in enumerate(fields):
        for cell in CELLS[kind_of(field)] + CELLS["text"][:3]:
            rows.append([*base[:col], cell, *base[col + 1:]])
    check(fields, rows, region, match_keys)


def test_several_bad_fields_are_all_named_in_column_order():
    fields = ["mobile", "first_name", "email", "score", "birth_date"]
    mapping = Mapping(has_header=True, fields=fields, headers=fields, unknown=[])
    plan = line_plan(mapping, "FR", REG, MATCH_KEYS[0])
    with pytest.raises(InvalidInput) as err:
        plan.prepare(["12", "x" * 300, "bad", "abc", "31/02/1990"])
    message = str(err.value)
    assert message.startswith("mobile: ")
    starts = [message.index(f"; {name}: ") for name in fields[1:]]
    assert starts == sorted(starts)
    check(fields, [["12", "x" * 300, "bad", "abc", "31/02/1990"], ["", "Ann", "", "", ""]])


def test_a_line_without_the_identity_matched_on_is_refused_with_the_generic_message():
    check(["first_name", "email", "mobile"], [["Ann", "", ""], ["Ann", " ", "\x00"], ["Ann", "", "0612345678"],
                                              ["Ann", "\u200b", "\ufeff "]], match_keys=("ext_id", "email_key"))
    check(["ext_id", "email"], [["\u200b", "\t"], [" \u2060", "a@example.com"]], match_keys=("ext_id",))
    check(["first_name", "tier"], [["Ann", "gold"]])  # no identity column at all
    check(["first_name", "email"], [["Ann", ""]], match_keys=())  # nothing required


def test_two_columns_of_one_field_keep_the_last_non_empty_cell():
    fields = ["email", "first_name", "email", None, "mobile", "mobile", "tier", "tier"]
    rows = [["a@example.com", "Ann", "b@example.com", "x", "", "0612345678", "gold", ""],
            ["a@example.com", "Ann", "", "x", "0612345678", "", "", "bronze"],
            ["", "Ann", " ", "x", "12", "0612345678", "copper", "gold"],
            ["", "", "", "", "", "", "", ""], ["a@example.com"]]
    check(fields, rows)


def test_columns_mapped_to_nothing_and_cells_beyond_the_mapping_are_ignored():
    check([None, "email", None, "first_name"], [["\x00" * 300, "a@example.com", "bad", "Ann", "extra", "x" * 999],
                                                ["junk", "a@example.com"]])


@pytest.mark.parametrize("fields, reg", [
    (["email", "nope"], REG),                       # not a field: every line refused
    (["email", "email_blacklisted"], ODD_REG),       # custom fields that prepare() reads as arguments
    (["email", "list_ids", "notes"], ODD_REG),
    (["email", "blocked_senders"], ODD_REG),
])
def test_odd_mappings_take_the_generic_path(fields, reg):
    rows = [["a@example.com", ""], ["a@example.com", "x"], ["", "a@example.com"], ["bad", "b"], ["a@example.com"]]
    check(fields, rows, reg=reg)


# ------------------------------------------------------------------------------------------ generated

field_lists = st.lists(st.one_of(st.none(), st.sampled_from(FIELDS)), min_size=1, max_size=14)
any_cell = st.one_of(st.sampled_from(ALL_CELLS), st.text(max_size=12),
                     st.text(alphabet=" \x00\t0123456789+-./()@abcAB", max_size=20))


@st.composite
def files(draw: Any) -> tuple[list[str | None], list[list[str]]]:
    fields = draw(field_lists)
    width = len(fields)
    rows = draw(st.lists(st.lists(any_cell, min_size=0, max_size=width + 2), min_size=1, max_size=8))
    return fields, rows


@PROPERTY
@given(files(), st.sampled_from(REGIONS), st.sampled_from(MATCH_KEYS))
def test_generated_files_match_the_generic_path(file, region, match_keys):
    fields, rows = file
    check(fields, rows, region, match_keys)


@st.composite
def typed_rows(draw: Any) -> tuple[list[str | None], list[list[str]]]:
    """Cells suited to their column (so most lines are valid), with an odd one now and then."""
    fields = draw(field_lists)
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        row = [draw(st.sampled_from(["", *CELLS[kind_of(f)][:6]])) if draw(st.integers(0, 9)) else draw(any_cell)
               for f in fields]
        rows.append(row[:draw(st.integers(0, len(row)))] if draw(st.integers(0, 5)) == 0 else row)
    return fields, rows


@PROPERTY
@given(typed_rows(), st.sampled_from(REGIONS), st.sampled_from(MATCH_KEYS))
def test_generated_typed_files_match_the_generic_path(file, region, match_keys):
    fields, rows = file
    check(fields, rows, region, match_keys)


# ------------------------------------------------------------------------------------------ dates

def test_iso_dates_are_returned_as_normalize_date_returns_them():
    for n in range(date.min.toordinal(), date.max.toordinal() + 1, 3):  # every few days of every year
        text = date.fromordinal(n).isoformat()
        assert _date(text) == normalize_date(text) == text


@PROPERTY
@given(st.from_regex(r"[0-9\uff10\uff11x+ ]{4}-[0-9\uff10 ]{2}-[0-9\u0663 ]{2}", fullmatch=True))
def test_date_shaped_texts_are_read_as_normalize_date_reads_them(text):
    assert repr(outcome(_date, text)) == repr(outcome(normalize_date, text))
