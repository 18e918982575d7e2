"""The streamed XLSX writer (core/exports/xlsx.py): what it writes, read back by python-calamine (the
importer's reader) and openpyxl."""

from __future__ import annotations

import datetime as dt
import enum
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from contacts_mcp.core.exports import xlsx
from contacts_mcp.core.exports.xlsx import MAX_TEXT, XlsxWriter
from contacts_mcp.core.imports.readers import open_table

FORMULA_LIKE = ["=1+2", "=HYPERLINK(\"http://x\")", "+33612345678", "-2", "@SUM(A1)", "'=x", "\t=1", "\r=1"]


def written(*batches: Sequence[Sequence[object]], sheet_name: str = "contacts") -> bytes:
    file = io.BytesIO()
    out = XlsxWriter(file, sheet_name=sheet_name)
    for batch in batches:
        out.write_rows(batch)
    out.close()
    return file.getvalue()


def by_calamine(data: bytes) -> list[list[object]]:
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()


def by_openpyxl(data: bytes) -> list[list[object]]:
    return [[c.value for c in row] for row in openpyxl.load_workbook(io.BytesIO(data)).worksheets[0].iter_rows()]


def openpyxl_types(data: bytes) -> list[list[str]]:
    return [[c.data_type for c in row] for row in openpyxl.load_workbook(io.BytesIO(data)).worksheets[0].iter_rows()]


def test_formula_looking_texts_stay_texts_exactly_as_written():
    data = written([FORMULA_LIKE])
    assert by_calamine(data) == [FORMULA_LIKE]
    assert by_openpyxl(data) == [FORMULA_LIKE]
    assert openpyxl_types(data) == [["s"] * len(FORMULA_LIKE)]
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")


def test_numbers_and_booleans_are_typed_cells_and_a_boolean_is_no_integer():
    row = [0, 42, -7, 1.5, -0.25, 1e-05, 123456789.125, True, False, 2**53]
    data = written([row])
    assert by_openpyxl(data) == [row]
    assert [type(v) for v in by_openpyxl(data)[0]] == [int, int, int, float, float, float, float, bool, bool, int]
    assert by_calamine(data) == [[0.0, 42.0, -7.0, 1.5, -0.25, 1e-05, 123456789.125, True, False, 2.0**53]]
    assert [type(v) for v in by_calamine(data)[0][7:9]] == [bool, bool]


def test_integers_no_number_cell_holds_exactly_and_non_finite_floats_are_written_as_text():
    data = written([[2**53 + 1, -(10**30), float("inf"), float("nan")]])
    expected = [str(2**53 + 1), str(-(10**30)), "inf", "nan"]
    assert by_calamine(data) == [expected]
    assert by_openpyxl(data) == [expected]


def test_none_writes_no_cell_and_the_following_cells_stay_in_their_columns():
    data = written([[None, "b", None, 3, None, True], [], [None, None, "c"], ["a"]])
    assert by_calamine(data) == [["", "b", "", 3.0, "", True], ["", "", "", "", "", ""],
                                 ["", "", "c", "", "", ""], ["a", "", "", "", "", ""]]
    assert by_openpyxl(data) == [[None, "b", None, 3, None, True], [None] * 6,
                                 [None, None, "c", None, None, None], ["a", None, None, None, None, None]]


def test_characters_illegal_in_xml_are_dropped_and_tab_newline_carriage_return_kept():
    dirty = ["a\x00b\x01c\x08d\x0be\x0cf\x0eg\x1fh", "lone\ud800 \udfffsurrogates", "non\ufffechars\uffff",
             "tab\tnew\nline\rcr\r\n"]
    clean = ["abcdefgh", "lone surrogates", "nonchars", "tab\tnew\nline\rcr\r\n"]
    data = written([dirty])
    assert by_calamine(data) == [clean]
    assert by_openpyxl(data) == [clean]


def test_markup_characters_accents_emoji_and_spaces_at_either_end_survive():
    row = ["Procter & Gamble", "<b>bold</b>", "a > b", "\"quoted\" 'single'", "&amp; &#13;", "  lead",
           "trail  ", " ", "\ttab", "newline\n", "Zoë Ødegaard, Nguyễn, Đorđe", "😀 👨‍👩‍👧 ok", "\u00a0nbsp\u00a0", ""]
    data = written([row])
    assert by_calamine(data) == [row]
    assert by_openpyxl(data) == [row]


def test_texts_shaped_like_excels_hex_escapes_read_back_as_written_in_calamine():
    # openpyxl does not decode _xHHHH_ in inline strings (Excel, LibreOffice and calamine do): not checked.
    row = ["_x0041_", "_x0041_x0042_", "a_x005F_b", "_x00e9_", "_x004_", "x_x"]
    assert by_calamine(written([row])) == [row]


def test_long_texts_are_kept_whole_up_to_excels_limit_and_cut_beyond_it():
    within = ("a&b<c " * 6000)[:MAX_TEXT]
    beyond = "x" * (MAX_TEXT + 100)
    emoji = "😀" * 20_000  # two UTF-16 units each: Excel's limit falls inside the 16,384th
    data = written([[within, beyond, emoji]])
    expected = [within, "x" * MAX_TEXT, "😀" * (MAX_TEXT // 2)]
    assert by_calamine(data) == [expected]
    assert by_openpyxl(data) == [expected]


def test_twenty_thousand_rows_stream_in_several_calls_and_read_back_in_order(tmp_path: Path):
    rows = [[f"user{i}@example.com", f"+336{i:08d}", None if i % 3 else "Zoë & co", i, i % 2 == 0]
            for i in range(20_000)]
    path = tmp_path / "big.xlsx"
    with path.open("wb") as file:
        out = XlsxWriter(file)
        out.write_rows([["email", "mobile", "company", "n", "even"]])
        for start in range(0, len(rows), 7_000):
            out.write_rows(iter(rows[start:start + 7_000]))
        out.close()
        assert not file.closed
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    read = by_calamine(path.read_bytes())
    assert len(read) == 20_001
    assert read[1] == ["user0@example.com", "+33600000000", "Zoë & co", 0.0, True]
    assert read[20_000] == ["user19999@example.com", "+33600019999", "", 19999.0, False]
    assert [r[3] for r in read[1:]] == [float(i) for i in range(20_000)]


def test_the_importer_reads_the_file_back_undoing_the_apostrophe_exports_put_before_formula_triggers(
        tmp_path: Path):
    path = tmp_path / "export.xlsx"
    path.write_bytes(written([["email", "mobile", "vip", "score"], ["ann@x.org", "'+33612345678", True, 12]],
                             sheet_name="Contacts"))
    with open_table(path) as table:
        assert (table.format, table.sheet) == ("xlsx", "Contacts")
        assert list(table.rows()) == [(1, ["email", "mobile", "vip", "score"]),
                                      (2, ["ann@x.org", "+33612345678", "true", "12"])]


@pytest.mark.parametrize(("given", "title"), [
    ("contacts", "contacts"),
    ("a/b\\c:d*e?f[g]", "a_b_c_d_e_f_g_"),
    ("R&D <team> \"x\"", "R&D <team> \"x\""),
    ("x" * 40, "x" * 31),
    ("'quoted'", "quoted"),
    ("é" * 30 + "😀", "é" * 30),  # the emoji is two of Excel's characters: one too many
    ("tab\there\x00", "tabhere"),
    ("", "Sheet1"),
    ("''", "Sheet1"),
    ("history", "History_"),
])
def test_the_sheet_name_follows_excels_rules(given: str, title: str):
    data = written([["a"]], sheet_name=given)
    assert CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names == [title]
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames == [title]


def test_an_empty_sheet_is_a_valid_workbook_with_every_part():
    data = written()
    assert set(zipfile.ZipFile(io.BytesIO(data)).namelist()) == {
        "[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
        "xl/worksheets/sheet1.xml"}
    assert by_calamine(data) == []
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames == ["contacts"]


def test_subclasses_of_str_int_and_float_are_written_by_their_value():
    class Colour(enum.StrEnum):
        RED = "red & co"

    class Size(enum.IntEnum):
        BIG = 3

    data = written([[Colour.RED, Size.BIG, True]])
    assert by_calamine(data) == [["red & co", 3.0, True]]
    assert by_openpyxl(data) == [["red & co", 3, True]]


def test_a_value_of_another_type_is_refused_naming_its_cell():
    out = XlsxWriter(io.BytesIO())
    with pytest.raises(TypeError, match="cell C1: a date"):
        out.write_rows([["a", 1, dt.date(2024, 1, 2)]])


def test_more_columns_or_rows_than_a_sheet_holds_are_refused(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(ValueError, match="16,384 columns"):
        XlsxWriter(io.BytesIO()).write_rows([[1] * 16_385])
    monkeypatch.setattr(xlsx, "MAX_ROWS", 2)
    out = XlsxWriter(io.BytesIO())
    with pytest.raises(ValueError, match="2 rows at most"):
        out.write_rows([["a"], ["b"], ["c"]])


def test_the_last_of_16384_columns_is_xfd():
    data = written([[None] * 16_383 + ["last"]])
    assert by_openpyxl(data)[0][-1] == "last"
    assert b'r="XFD1"' in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")


def test_a_small_workbook_carries_no_zip64_fields():
    for info in zipfile.ZipFile(io.BytesIO(written([["a", 1]] * 1000))).infolist():
        assert (info.extract_version, info.extra, info.compress_type) == (20, b"", zipfile.ZIP_DEFLATED)


def test_sizes_and_offsets_beyond_the_zip64_threshold_are_read_back(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(xlsx, "_ZIP64_FROM", 200)  # as a sheet beyond 4 GiB, without writing one
    rows = [[f"user{i}@example.com", i, None, "Zoë"] for i in range(3_000)]
    data = written(rows)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert zf.getinfo("xl/worksheets/sheet1.xml").extract_version == 45
    assert data[-22:-18] == b"PK\x05\x06" and data[-6:-2] == b"\xff\xff\xff\xff"  # the Zip64 end records hold it
    assert by_calamine(data) == [[r[0], float(r[1]), "", r[3]] for r in rows]
    assert by_openpyxl(data) == rows


def test_a_file_that_cannot_seek_gets_a_valid_zip():
    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b) -> int:  # type: ignore[override]
            self.data += b
            return len(b)

    pipe = Pipe()
    out = XlsxWriter(pipe)  # type: ignore[arg-type]
    out.write_rows([["a", 1], [None, "b"]])
    out.close()
    assert by_calamine(bytes(pipe.data)) == [["a", 1.0], ["", "b"]]
