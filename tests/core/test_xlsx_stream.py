"""The streaming XLSX reader (readers/xlsxfile.py) held to calamine, the reader it replaces (and that still
reads XLS and ODS): workbooks written by openpyxl or by hand, read by both, compared cell by cell."""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from contacts_mcp.core.errors import InvalidInput, LimitExceeded
from contacts_mcp.core.imports.readers import Limits, open_table
from contacts_mcp.core.imports.readers import sheets as sheets_module
from contacts_mcp.core.imports.sheet_budget import SheetTooBig


def calamine_rows(path: Path, sheet: str | None = None) -> tuple[str, int | None, list[tuple[int, list[str]]]]:
    """What open_table gave before: the sheet calamine loads, through the same _SheetTable."""
    import python_calamine

    limits = Limits()
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    names = list(wb.sheet_names)
    chosen = sheets_module._choose_sheet(names, sheets_module._metadata(wb), sheet, path.name)
    table = sheets_module._SheetTable("xlsx", path.name, wb, wb.get_sheet_by_name(chosen), limits)
    with table:
        return table.sheet, table.total_rows, list(table.rows())


def stream_rows(path: Path, sheet: str | None = None, **limits: int) -> tuple[str, int | None, list]:
    with open_table(path, sheet=sheet, limits=Limits(**limits)) as table:
        assert table.format == "xlsx"
        return table.sheet, table.total_rows, list(table.rows())


def same_as_calamine(path: Path, sheet: str | None = None) -> list[tuple[int, list[str]]]:
    old, new = calamine_rows(path, sheet), stream_rows(path, sheet)
    assert new[0] == old[0]
    assert new[2] == old[2]
    assert new[1] == old[1]
    return new[2]


def book(*sheets: tuple[str, list[list[object]]], hidden: tuple[str, ...] = ()) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
        if title in hidden:
            ws.sheet_state = "hidden"
    return wb


def save(wb: openpyxl.Workbook, path: Path) -> Path:
    wb.save(path)
    return path


TEXTS = ["plain", "Zoë Müller-Lefèvre", "日本語 テキスト", "emoji 😀 here", "a & b < c > d \" ' e", "  spaces around  ",
         " leading", "trailing ", "line\nbreak", "cr\r\nlf", "tab\tinside", "_x000D_ looks escaped", "x_x0041_y",
         "'+33612345678", "'=SUM(A1)", "''=x", "=not a formula?", "", "0612345678", "007", "1e5", "1,5", "TRUE"]
NUMBERS = [0, 1, -1, 42, 612345678, 33612345678, 2**53, 10**16, 10**20, 1.5, -2.25, 0.1, 1e-7, 123456.789, -0.0,
           3.0, 1e300]
WHEN = [dt.date(1990, 5, 17), dt.date(1900, 1, 1), dt.date(1900, 3, 1), dt.date(2024, 2, 29),
        dt.datetime(2024, 1, 2, 13, 45, 10), dt.datetime(2001, 2, 3), dt.datetime(2024, 1, 2, 0, 0, 1),
        dt.datetime(1999, 12, 31, 23, 59, 59, 500000), dt.time(13, 45, 10), dt.time(0, 0), dt.time(23, 59, 59)]


def test_a_sheet_is_read_row_by_row_with_the_values_calamine_gives(tmp_path: Path) -> None:
    rows = [["text", "number", "when", "flag"]]
    for i in range(max(len(TEXTS), len(NUMBERS), len(WHEN))):
        rows.append([TEXTS[i % len(TEXTS)], NUMBERS[i % len(NUMBERS)], WHEN[i % len(WHEN)], i % 3 == 0])
    got = same_as_calamine(save(book(("Contacts", rows)), tmp_path / "c.xlsx"))
    assert got[0] == (1, ["text", "number", "when", "flag"])
    assert got[1] == (2, ["plain", "0", "1990-05-17", "true"])
    assert (6, ["a & b < c > d \" ' e", "612345678", "2024-01-02T13:45:10", "false"]) in got


def test_empty_cells_sparse_and_blank_rows_keep_their_places(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["B1"], ws["C1"], ws["E1"] = "email", "name", "phone", "far"
    ws["A2"], ws["E2"] = "ann@x.org", "e2"
    ws["C4"] = "only c"
    ws["B7"] = 12
    ws["A9"], ws["B9"] = "", None  # a row of empty cells is blank
    got = same_as_calamine(save(wb, tmp_path / "c.xlsx"))
    assert [n for n, _ in got] == [1, 2, 4, 7]
    assert got[1] == (2, ["ann@x.org", "", "", "", "e2"])


def test_a_sheet_starting_right_of_column_a_loses_its_empty_columns(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C3"], ws["D3"] = "email", "name"
    ws["C5"], ws["E5"] = "ann@x.org", "x"
    got = same_as_calamine(save(wb, tmp_path / "c.xlsx"))
    assert got == [(3, ["email", "name", ""]), (5, ["ann@x.org", "", "x"])]


def test_formulas_give_their_cached_values(tmp_path: Path) -> None:
    # openpyxl writes no cached value (<v/>): calamine reads none; a hand-made cache is read as calamine does.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["a", "b", "sum"])
    ws.append([1, 2, "=A2+B2"])
    same_as_calamine(save(wb, tmp_path / "f.xlsx"))
    rows = ('<row r="1"><c r="A1" t="str"><f>"x"&amp;"y"</f><v>x&amp;y</v></c><c r="B1"><f>1+1</f><v>2</v></c>'
            '<c r="C1" t="b"><f>TRUE()</f><v>1</v></c><c r="D1" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
            '<c r="E1" t="str"><f>A1</f><v></v></c><c r="F1" t="e"><v>#N/A</v></c><c r="G1">'
            '<f t="shared" ref="G1:G2" si="0">A1</f><v>3.5</v></c></row>')
    got = same_as_calamine(hand_made(tmp_path / "h.xlsx", rows, dimension="A1:G1"))
    assert got == [(1, ["x&y", "2", "true", "", "", "", "3.5"])]


def test_rich_text_and_inline_strings_are_joined_without_phonetic_runs(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = CellRichText(["plain ", TextBlock(InlineFont(b=True), "bold"), " end"])
    ws["B1"] = "x"
    same_as_calamine(save(wb, tmp_path / "r.xlsx"))
    rows = ('<row r="1"><c r="A1" t="inlineStr"><is><r><rPr><b/></rPr><t xml:space="preserve">Ja </t></r>'
            '<r><t>ne</t></r><rPh sb="0" eb="1"><t>ジェーン</t></rPh></is></c>'
            '<c r="B1" t="inlineStr"><is><t>  trimmed  </t></is></c>'
            '<c r="C1" t="inlineStr"><is><t xml:space="preserve">  kept  </t></is></c>'
            '<c r="D1" t="inlineStr"><is><t><![CDATA[a <b> & c]]></t></is></c>'
            '<c r="E1" t="inlineStr"><is><t/></is></c><c r="F1" t="inlineStr"><is><t>&#233;&#xE9;&amp;</t></is></c>'
            '<c r="G1" t="s"><v>0</v></c><c r="H1" t="s"><v>1</v></c><c r="I1" t="s"><v>2</v></c></row>')
    strings = ['<si><r><t xml:space="preserve">Rich </t></r><r><rPr><i/></rPr><t>text</t></r></si>',
               "<si><t>_x0041__x005F_x0042_</t></si>", "<si><t>\r\n two\r\nlines \n</t></si>"]
    got = same_as_calamine(hand_made(tmp_path / "h.xlsx", rows, dimension="A1:I1", strings=strings))
    assert got == [(1, ["Ja ne", "trimmed", "  kept  ", "a <b> & c", "", "éé&", "Rich text", "A_x0042_",
                        "two\nlines"])]


def test_dates_follow_the_cell_style_and_the_1904_system(tmp_path: Path) -> None:
    styles = ["yyyy-mm-dd", "dd/mm/yyyy hh:mm", "hh:mm:ss", "[h]:mm:ss", "0.00", '"Y: "0', "mmm-yy", "0%",
              "m/d/yyyy h:mm AM/PM", "#,##0.00 \\d"]
    values = [1, 45000, 45000.5, 0.25, 1.75, 59, 60, 61, -1, 2958465, 3e6, 45000.123456789]
    for system in (False, True):
        wb = openpyxl.Workbook()
        calendars = openpyxl.utils.datetime
        wb.epoch = calendars.CALENDAR_MAC_1904 if system else calendars.CALENDAR_WINDOWS_1900
        ws = wb.active
        for r, v in enumerate(values, 1):
            for c, fmt in enumerate(styles, 1):
                cell = ws.cell(r, c, v)
                cell.number_format = fmt
            ws.cell(r, len(styles) + 1, v).number_format = "General"
        same_as_calamine(save(wb, tmp_path / f"d{system}.xlsx"))


def test_iso_dates_booleans_errors_and_typeless_values_read_as_calamine_reads_them(tmp_path: Path) -> None:
    rows = ('<row r="1"><c r="A1" t="d"><v>2024-01-02T13:45:10</v></c><c r="B1" t="d"><v>2024-01-02</v></c>'
            '<c r="C1" t="d"><v>13:45:10</v></c><c r="D1" t="d"><v>2024-01-02T00:00:00.250</v></c>'
            '<c r="E1" t="d"><v>not a date</v></c><c r="F1" t="b"><v>0</v></c><c r="G1" t="b"><v>true</v></c>'
            '<c r="H1"><v>abc</v></c><c r="I1" t="n"><v> 7</v></c><c r="J1"><v>1E3</v></c>'
            '<c r="K1"><v>-0</v></c><c r="L1"><v>.5</v></c><c r="M1"><v>inf</v></c></row>')
    rows_ok = rows.replace('<c r="I1" t="n"><v> 7</v></c>', '<c r="I1" t="n"><v>7</v></c>')
    got = same_as_calamine(hand_made(tmp_path / "h.xlsx", rows_ok, dimension="A1:M1"))
    assert got[0][1][:6] == ["2024-01-02T13:45:10", "2024-01-02", "13:45:10", "2024-01-02T00:00:00", "not a date",
                             "false"]
    with pytest.raises(InvalidInput, match="could not be read as XLSX|typed a number"):
        calamine_or_stream(hand_made(tmp_path / "bad.xlsx", rows, dimension="A1:M1"))


def calamine_or_stream(path: Path) -> None:
    with pytest.raises(Exception):  # noqa: B017 - calamine refuses the sheet whole
        calamine_rows(path)
    stream_rows(path)


def test_rows_and_cells_without_numbers_are_placed_as_calamine_places_them(tmp_path: Path) -> None:
    rows = ('<row><c t="inlineStr"><is><t>a1</t></is></c><c><v>2</v></c></row>'
            '<row><c r="C2"><v>3</v></c><c><v>4</v></c></row>'
            '<row r="5" spans="1:2"/><row><c t="inlineStr"><is><t>a6</t></is></c></row>')
    got = same_as_calamine(hand_made(tmp_path / "h.xlsx", rows, dimension="A1:D6"))
    assert got == [(1, ["a1", "2", "", ""]), (2, ["", "", "3", "4"]), (6, ["a6", "", "", ""])]
    # Without a declared size nor numbered rows the row count is unknown: progress is the part's bytes read.
    rnd = random.Random(5)  # texts that do not compress: the part is read in several blocks
    big = "".join(f'<row><c t="inlineStr"><is><t>{rnd.randbytes(60).hex()}</t></is></c></row>' for _ in range(20_000))
    with open_table(hand_made(tmp_path / "u.xlsx", big, dimension=None)) as t:
        assert t.total_rows is None and t.progress() == 0.0
        it = t.rows()
        for _ in range(15_000):
            next(it)
        assert 0.0 < t.progress() < 1.0
        assert sum(1 for _ in it) == 5_000 and t.progress() == 1.0


def test_namespace_prefixes_and_loose_xml_are_read(tmp_path: Path) -> None:
    rows = ('\n  <x:row r="1" x14ac:dyDescent="0.25">\n    <x:c r="A1" t="s"><x:v>0</x:v></x:c>\n'
            "    <x:c r='B1' t='inlineStr'><x:is><x:t>b</x:t></x:is></x:c>\n"
            '    <x:c s="0" r="C1" ><x:v>1.50</x:v></x:c>\n  </x:row>\n')
    got = same_as_calamine(hand_made(tmp_path / "h.xlsx", rows, dimension="A1:C1", prefix="x:",
                                     strings=["<x:si><x:t>a</x:t></x:si>"]))
    assert got == [(1, ["a", "b", "1.5"])]


def test_the_first_visible_worksheet_is_read_unless_one_is_named(tmp_path: Path) -> None:
    wb = book(("Hidden", [["h"]]), ("Notes", [["n"]]), ("People", [["email"], ["ann@x.org"]]), hidden=("Hidden",))
    path = save(wb, tmp_path / "c.xlsx")
    assert same_as_calamine(path) == [(1, ["n"])]
    assert same_as_calamine(path, "people") == [(1, ["email"]), (2, ["ann@x.org"])]
    assert same_as_calamine(path, "Hidden") == [(1, ["h"])]
    with pytest.raises(InvalidInput, match="'Hidden', 'Notes', 'People'") as err:
        open_table(path, sheet="Staff")
    assert err.value.field == "sheet"
    everything_hidden = tmp_path / "h.xlsx"
    with zipfile.ZipFile(path) as z, zipfile.ZipFile(everything_hidden, "w") as out:
        for item in z.infolist():
            data = z.read(item)
            out.writestr(item, data.replace(b'state="visible"', b'state="hidden"') if item.filename.endswith(
                "workbook.xml") else data)
    assert same_as_calamine(everything_hidden) == [(1, ["h"])]


def test_skip_resumes_after_the_rows_already_read_and_progress_follows(tmp_path: Path) -> None:
    rows = [["email"]] + [[f"u{i}@x.org"] if i % 7 else [None] for i in range(1, 300)]
    wb = openpyxl.Workbook(write_only=True)  # no <dimension>: the row count comes from the last row
    ws = wb.create_sheet("S")
    for row in rows:
        ws.append(row)
    path = save(wb, tmp_path / "w.xlsx")
    everything = stream_rows(path)[2]
    with open_table(path) as t:
        assert t.total_rows == 300
        for skip in (0, 1, 6, 7, 8, 150, 299, 300, 1000):
            assert list(t.rows(skip=skip)) == [r for r in everything if r[0] > skip]
        it = t.rows(skip=149)
        assert next(it)[0] == 150 and t.progress() == 0.5
        list(it)
        assert t.progress() == 1.0


def test_exports_of_this_server_read_back_the_same(tmp_path: Path) -> None:
    from contacts_mcp.core.exports.xlsx import XlsxWriter

    path = tmp_path / "e.xlsx"
    with path.open("wb") as f:
        writer = XlsxWriter(f, "Contacts")
        writer.write_rows([["email", "note", "n", "flag"]])
        writer.write_rows([f"p{i}@x.org", text, i if i % 2 else float(i) / 4, i % 3 == 0, None]
                          for i, text in enumerate(TEXTS * 3))
        writer.close()
    same_as_calamine(path)


# -- limits


def test_a_row_wider_than_allowed_is_refused_and_a_far_away_value_as_a_grid_bomb(tmp_path: Path) -> None:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("S")
    ws.append(["email"])
    ws.append(["a@x.org"] + ["x"] * 250)
    with pytest.raises(InvalidInput, match="row 2 has 251 cells; at most 200 columns"):
        stream_rows(save(wb, tmp_path / "wide.xlsx"))
    rows = '<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c></row>' \
           '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    with pytest.raises(SheetTooBig, match="1,048,576 rows x 16,384 columns"):
        stream_rows(hand_made(tmp_path / "corner.xlsx", rows, dimension=None))
    with pytest.raises(LimitExceeded, match="1,048,576 rows x 16,384 columns"):
        stream_rows(hand_made(tmp_path / "declared.xlsx", rows, dimension="A1:XFD1048576"))
    styled = '<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c><c r="XFD1" s="1"/></row>'
    assert stream_rows(hand_made(tmp_path / "styled.xlsx", styled, dimension=None))[2] == [(1, ["email"])]


def test_long_cells_are_cut_and_shared_strings_that_expand_too_much_are_refused(tmp_path: Path) -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>{r % 2}</v></c></row>' for r in range(1, 501))
    path = hand_made(tmp_path / "s.xlsx", rows, dimension=None, strings=["<si><t>head</t></si>",
                                                                       f"<si><t>{'y' * 20_000}</t></si>"])
    got = stream_rows(path)[2]
    assert got[0] == (1, ["y" * 10_000]) and got[1] == (2, ["head"])
    # 500 references to strings of 10,000 characters on average: 5 MB of text once each is a cell
    with pytest.raises(SheetTooBig, match="500 text cells share 2 strings"):
        stream_rows(path, max_reader_bytes=256 * 2**20 + 4 * 2**20)


def test_a_damaged_sheet_part_is_refused_before_any_row(tmp_path: Path) -> None:
    path = save(book(("S", [["email"], ["a@x.org"]] * 2000)), tmp_path / "c.xlsx")
    data = bytearray(path.read_bytes())
    at = data.find(b"xl/worksheets/sheet1.xml") + 200  # inside the part's deflated data
    data[at:at + 64] = bytes(64)
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidInput, match="damaged|could not be read"):
        open_table(path)


# -- random sheets


CELL = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff"), max_size=12)
    .map(lambda s: "".join(c for c in s if c in "\t\n\r" or ord(c) >= 32)),
    st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 31)),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 31)).map(lambda d: d.replace(microsecond=0)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(CELL, max_size=8), min_size=1, max_size=12), write_only=st.booleans())
def test_random_sheets_read_as_calamine_reads_them(tmp_path: Path, rows: list[list[object]], write_only: bool) -> None:
    wb = openpyxl.Workbook(write_only=write_only)
    ws = wb.create_sheet("S") if write_only else wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    path = tmp_path / "random.xlsx"
    path.write_bytes(buf.getvalue())
    old, new = calamine_rows(path), stream_rows(path)
    # Rows may differ in their trailing empty cells only: calamine's are as wide as the used range, these as
    # the declared one (openpyxl counts a None it was given), or end at their last value when none is declared.
    assert [(n, _stripped(r)) for n, r in new[2]] == [(n, _stripped(r)) for n, r in old[2]]
    assert new[:2] == old[:2]


def _stripped(row: list[str]) -> list[str]:
    while row and not row[-1]:
        row = row[:-1]
    return row


# -- hand-made workbooks


_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def hand_made(path: Path, rows_xml: str, *, dimension: str | None, strings: list[str] | None = None,
              prefix: str = "") -> Path:
    ns = f'xmlns:{prefix[:-1]}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"' if prefix else _NS
    p = prefix
    dim = f'<{p}dimension ref="{dimension}"/>' if dimension else ""
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'styles" Target="styles.xml"/></Relationships>')
    styles = (f'<{p}styleSheet {ns}><{p}cellXfs count="2"><{p}xf numFmtId="0"/><{p}xf numFmtId="14"/>'
              f"</{p}cellXfs></{p}styleSheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<{p}workbook {ns} xmlns:r="http://schemas.openxmlformats.org/'
                   f'officeDocument/2006/relationships"><{p}sheets><{p}sheet name="Sheet1" sheetId="1" r:id="rId1"/>'
                   f"</{p}sheets></{p}workbook>")
        z.writestr("xl/_rels/workbook.xml.rels", rels)
        z.writestr("xl/styles.xml", styles)
        z.writestr("xl/worksheets/sheet1.xml", f"<{p}worksheet {ns}>{dim}<{p}sheetData>{rows_xml}</{p}sheetData>"
                                               f"</{p}worksheet>")
        if strings is not None:
            z.writestr("xl/sharedStrings.xml", f'<{p}sst {ns} uniqueCount="{len(strings)}">{"".join(strings)}</{p}sst>')
    return path
