"""The contact-file readers: real files built in tmp_path, read back through open_table."""

from __future__ import annotations

import datetime as dt
import json
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from contacts_mcp.core.errors import InvalidInput, LimitExceeded
from contacts_mcp.core.imports.readers import FORMATS, Limits, Table, detect_format, open_table


def write(path: Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def all_rows(table: Table, skip: int = 0) -> list[tuple[int, list[str]]]:
    return list(table.rows(skip=skip))


def make_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def make_ods(path: Path, rows: list[list[str]], sheet: str = "Contacts") -> Path:
    cells = "".join(
        "<table:table-row>"
        + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'
            for value in row
        )
        + "</table:table-row>"
        for row in rows
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{sheet}">{cells}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


def make_zip(path: Path, entries: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


# ---------------------------------------------------------------------------------------------- CSV


def test_utf8_csv_is_detected_and_read_with_record_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "email,name\nann@example.com,Ann Ødegård\nbob@example.com,Bob\n")
    with open_table(path) as t:
        assert (t.format, t.encoding, t.delimiter, t.name) == ("csv", "utf-8", ",", "c.csv")
        assert t.first_row() == ["email", "name"]
        assert t.first_row_line == 1
        assert t.total_rows is None and t.header_from_keys is False
        assert all_rows(t) == [
            (1, ["email", "name"]),
            (2, ["ann@example.com", "Ann Ødegård"]),
            (3, ["bob@example.com", "Bob"]),
        ]


def test_utf8_bom_is_stripped_from_the_first_header(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", b"\xef\xbb\xbfemail;name\r\nann@example.com;Ann\r\n")
    with open_table(path) as t:
        assert t.encoding == "utf-8-sig"
        assert t.delimiter == ";"
        assert t.first_row() == ["email", "name"]


def test_declared_utf8_on_a_bom_file_still_strips_the_bom(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", b"\xef\xbb\xbfemail\nann@example.com\n")
    with open_table(path, encoding="utf-8") as t:
        assert t.first_row() == ["email"]


def test_cp1252_file_with_accents_and_euro_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "name;note\nRené;5 €\nZoë;“quoted”\n", encoding="cp1252")
    with open_table(path) as t:
        assert t.encoding == "cp1252"
        assert all_rows(t, skip=1) == [(2, ["René", "5 €"]), (3, ["Zoë", "“quoted”"])]


def test_non_utf8_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", b"name,note\nCaf\xe9,x\x81y\n")
    with open_table(path) as t:
        assert t.encoding == "latin-1"
        assert all_rows(t, skip=1) == [(2, ["Café", "x\x81y"])]


def test_declared_latin1_is_used_as_given(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "name\nJosé\n", encoding="latin-1")
    with open_table(path, encoding="latin-1") as t:
        assert t.encoding == "latin-1"
        assert all_rows(t) == [(1, ["name"]), (2, ["José"])]


def test_unknown_encoding_name_is_refused_with_the_usual_choices(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "email\n")
    with pytest.raises(InvalidInput) as err:
        open_table(path, encoding="xyz")
    assert err.value.field == "encoding"
    assert "'xyz' is not a known encoding" in str(err.value)
    assert "utf-8" in str(err.value) and "cp1252" in str(err.value)


def test_declared_encoding_that_does_not_decode_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", b"name\nok\nRen\xe9\n")
    with pytest.raises(InvalidInput) as err:
        open_table(path, encoding="utf-8")
    message = str(err.value)
    assert err.value.field == "encoding"
    assert "line 3" in message and "omit encoding" in message


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / "c.txt", "email\tname\nann@example.com\tAnn\n".encode("utf-16"))
    with open_table(path) as t:
        assert (t.encoding, t.delimiter) == ("utf-16", "\t")
        assert all_rows(t) == [(1, ["email", "name"]), (2, ["ann@example.com", "Ann"])]


def test_binary_garbage_is_not_taken_for_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", bytes(range(256)) * 10)
    with pytest.raises(InvalidInput) as err:
        open_table(path)
    assert err.value.field == "file"
    assert "looks binary, not CSV" in str(err.value)
    assert "format=" in str(err.value)


def test_xlsx_saved_with_a_csv_extension_is_named_in_the_error(tmp_path: Path) -> None:
    xlsx = make_xlsx(tmp_path / "real.xlsx", {"S": [["email"], ["a@b.c"]]})
    path = write(tmp_path / "fake.csv", xlsx.read_bytes())
    with pytest.raises(InvalidInput, match="looks like XLSX"):
        open_table(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email;name;city\na@x.org;Ann;Paris\nb@x.org;Bob, Jr;Lyon\n", ";"),
        ("email\tname\ta@x.org\n1\t2\t3\n", "\t"),
        ("email|name\na@x.org|Ann\n", "|"),
        ('name,city\n"Doe; John",Paris\n"Roe; Jane",Nice\n', ","),
        ("email\na@x.org\n", ","),
    ],
)
def test_delimiter_is_sniffed_among_comma_semicolon_tab_pipe(tmp_path: Path, text: str, expected: str) -> None:
    with open_table(write(tmp_path / "c.csv", text)) as t:
        assert t.delimiter == expected


def test_declared_delimiter_wins_and_must_be_one_character(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "a;b,c\n1;2,3\n")
    with open_table(path, delimiter=",") as t:
        assert t.first_row() == ["a;b", "c"]
    with open_table(path, delimiter="tab") as t:
        assert t.delimiter == "\t"
    with pytest.raises(InvalidInput) as err:
        open_table(path, delimiter=";;")
    assert err.value.field == "delimiter" and "one character" in str(err.value)


def test_quoted_fields_keep_newlines_and_delimiters(tmp_path: Path) -> None:
    text = 'name,address,email\n"Doe, John","1 Main St\nApt 2",john@x.org\nAnn,"Rue ""Haute""",ann@x.org\n'
    with open_table(write(tmp_path / "c.csv", text)) as t:
        assert t.delimiter == ","
        assert all_rows(t, skip=1) == [
            (2, ["Doe, John", "1 Main St\nApt 2", "john@x.org"]),
            (3, ["Ann", 'Rue "Haute"', "ann@x.org"]),
        ]


def test_blank_lines_are_skipped_but_still_counted(tmp_path: Path) -> None:
    text = "\n\nemail,name\n\nann@x.org,Ann\n,\n  \nbob@x.org,Bob\n"
    with open_table(write(tmp_path / "c.csv", text)) as t:
        assert t.first_row() == ["email", "name"]
        assert t.first_row_line == 3
        rows = all_rows(t, skip=t.first_row_line)
    # the "  " line is not blank: it holds one cell of spaces, which callers strip themselves
    assert rows == [(5, ["ann@x.org", "Ann"]), (7, ["  "]), (8, ["bob@x.org", "Bob"])]


def test_rows_skip_resumes_right_after_the_given_line(tmp_path: Path) -> None:
    text = "email\n" + "".join(f"u{i}@x.org\n" if i % 3 else "\n" for i in range(1, 31))
    path = write(tmp_path / "c.csv", text)
    with open_table(path) as t:
        full = all_rows(t)
        for skip in (0, 1, 2, 3, 4, 17, 31, 40):
            assert all_rows(t, skip=skip) == [(n, cells) for n, cells in full if n > skip]


def test_csv_progress_goes_from_zero_to_one(tmp_path: Path) -> None:
    text = "email,name\n" + "".join(f"user{i}@example.org,Person {i}\n" for i in range(20_000))
    with open_table(write(tmp_path / "c.csv", text)) as t:
        assert t.progress() == 0.0
        seen = []
        for n, _ in t.rows():
            if n % 5000 == 0:
                seen.append(t.progress())
        assert t.progress() == 1.0
    assert seen == sorted(seen) and 0.0 < seen[0] < 1.0


def test_empty_csv_has_no_first_row(tmp_path: Path) -> None:
    with open_table(write(tmp_path / "c.csv", b"")) as t:
        assert t.first_row() is None and t.first_row_line is None
        assert all_rows(t) == []
        assert t.progress() == 1.0


def test_row_with_too_many_columns_is_refused_naming_the_row(tmp_path: Path) -> None:
    text = "a,b\n1,2\n" + ",".join(["x"] * 6) + "\n"
    with open_table(write(tmp_path / "c.csv", text), limits=Limits(max_columns=5)) as t:
        rows = t.rows()
        assert next(rows) == (1, ["a", "b"])
        with pytest.raises(InvalidInput) as err:
            list(rows)
    assert "row 3 has 6 cells" in str(err.value) and "at most 5 columns" in str(err.value)


def test_trailing_empty_cells_do_not_count_against_the_column_limit(tmp_path: Path) -> None:
    text = "a,b" + "," * 10 + "\n"
    with open_table(write(tmp_path / "c.csv", text), limits=Limits(max_columns=5)) as t:
        assert all_rows(t) == [(1, ["a", "b"])]


def test_over_long_cells_are_truncated(tmp_path: Path) -> None:
    text = "a,b\nshort," + "y" * 50 + "\n"
    with open_table(write(tmp_path / "c.csv", text), limits=Limits(max_cell_chars=10)) as t:
        assert all_rows(t, skip=1) == [(2, ["short", "y" * 10])]


def test_unclosed_quote_gives_a_parse_error_not_a_crash(tmp_path: Path) -> None:
    text = 'a,b\n"never closed,' + "x" * 140_000 + "\n"
    with open_table(write(tmp_path / "c.csv", text)) as t, pytest.raises(InvalidInput, match="double quote"):
        all_rows(t)


def test_file_over_the_size_limit_is_refused_with_limit_and_size(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "email\n" + "a@x.org\n" * 200)
    with pytest.raises(LimitExceeded) as err:
        open_table(path, limits=Limits(max_file_bytes=1000))
    message = str(err.value)
    assert "file size" in message and "1000 bytes" in message and f"{path.stat().st_size} bytes" in message


def test_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot be read"):
        open_table(tmp_path / "nope.csv")


# ---------------------------------------------------------------------------------------------- spreadsheets


def test_xlsx_numbers_dates_and_empty_cells_become_text(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "c.xlsx",
        {
            "Contacts": [
                ["email", "phone", "score", "born", "met", "vip", "note"],
                ["ann@x.org", 612345678, 1.5, dt.date(1990, 5, 17), dt.datetime(2024, 1, 2, 13, 45, 10), True, None],
                [None, None, None, None, None, None, None],
                ["bob@x.org", 33612345678.0, -2.0, dt.datetime(2001, 2, 3), None, False, "hi"],
            ]
        },
    )
    with open_table(path) as t:
        assert (t.format, t.sheet, t.total_rows, t.encoding, t.delimiter) == ("xlsx", "Contacts", 4, None, None)
        assert t.first_row() == ["email", "phone", "score", "born", "met", "vip", "note"]
        assert all_rows(t, skip=1) == [
            (2, ["ann@x.org", "612345678", "1.5", "1990-05-17", "2024-01-02T13:45:10", "true", ""]),
            (4, ["bob@x.org", "33612345678", "-2", "2001-02-03", "", "false", "hi"]),
        ]


def test_xlsx_line_numbers_are_physical_rows_even_below_leading_blank_rows(tmp_path: Path) -> None:
    path = tmp_path / "c.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["B3"], ws["C3"] = "email", "name"
    ws["B5"], ws["C5"] = "ann@x.org", "Ann"
    wb.save(path)
    with open_table(path) as t:
        assert t.first_row() == ["email", "name"] and t.first_row_line == 3
        assert all_rows(t, skip=3) == [(5, ["ann@x.org", "Ann"])]
        assert t.total_rows == 5


def test_second_sheet_is_chosen_by_name(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "c.xlsx", {"Notes": [["ignore me"]], "People": [["email"], ["ann@x.org"]]})
    with open_table(path) as t:
        assert t.sheet == "Notes"
    with open_table(path, sheet="People") as t:
        assert t.sheet == "People"
        assert all_rows(t) == [(1, ["email"]), (2, ["ann@x.org"])]
    with open_table(path, sheet="people") as t:  # unambiguous case-insensitive match
        assert t.sheet == "People"


def test_unknown_sheet_name_lists_the_sheets(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "c.xlsx", {"Notes": [["x"]], "People": [["y"]]})
    with pytest.raises(InvalidInput) as err:
        open_table(path, sheet="Staff")
    assert err.value.field == "sheet"
    assert "'Staff'" in str(err.value) and "'Notes', 'People'" in str(err.value)


def test_xlsx_progress_and_skip(tmp_path: Path) -> None:
    rows = [["email"]] + [[f"u{i}@x.org"] for i in range(1, 10)]
    with open_table(make_xlsx(tmp_path / "c.xlsx", {"S": rows})) as t:
        assert t.progress() == 0.0
        it = t.rows(skip=4)
        assert next(it) == (5, ["u4@x.org"])
        assert t.progress() == 0.5
        assert [n for n, _ in it] == [6, 7, 8, 9, 10]
        assert t.progress() == 1.0


def test_sheet_with_too_many_cells_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from contacts_mcp.core.imports.readers import sheets

    monkeypatch.setattr(sheets, "_MAX_SHEET_CELLS", 10)
    path = make_xlsx(tmp_path / "c.xlsx", {"S": [["a", "b", "c"]] * 4})
    with pytest.raises(LimitExceeded) as err:
        open_table(path)
    assert "4 rows x 3 columns = 12" in str(err.value)


def test_corrupt_xlsx_is_a_clean_error(tmp_path: Path) -> None:
    path = write(tmp_path / "c.xlsx", b"PK\x03\x04 this is not really a zip file at all")
    with pytest.raises(InvalidInput) as err:
        open_table(path)
    assert "could not be read as XLSX" in str(err.value) and "format=" in str(err.value)


def test_xls_with_garbage_content_is_a_clean_error(tmp_path: Path) -> None:
    path = write(tmp_path / "c.xls", b"\xd0\xcf\x11\xe0 garbage that is no OLE document")
    with pytest.raises(InvalidInput) as err:
        open_table(path)
    assert err.value.field == "file" and "could not be read as XLS" in str(err.value)


def test_ods_is_read(tmp_path: Path) -> None:
    path = make_ods(tmp_path / "c.ods", [["email", "name"], ["ann@x.org", "Ann"]])
    assert detect_format(path) == "ods"
    with open_table(path) as t:
        assert (t.format, t.sheet) == ("ods", "Contacts")
        assert all_rows(t) == [(1, ["email", "name"]), (2, ["ann@x.org", "Ann"])]


def test_spreadsheet_container_that_inflates_too_much_is_refused(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "c.xlsx", {"S": [["email"], ["ann@x.org"]]})
    with pytest.raises(LimitExceeded, match="uncompressed size"):
        open_table(path, limits=Limits(max_zip_total_bytes=1000))


# ---------------------------------------------------------------------------------------------- JSON


def test_json_objects_with_differing_keys_share_a_union_header(tmp_path: Path) -> None:
    data = [
        {"email": "ann@x.org", "name": "Ann"},
        {"name": "Bob", "phone": 612345678, "tags": ["a", "b"]},
        {"email": None, "name": ""},
        {"email": "cy@x.org", "vip": True, "score": 2.0, "meta": {"k": "é"}},
    ]
    path = write(tmp_path / "c.json", json.dumps(data))
    with open_table(path) as t:
        assert (t.format, t.header_from_keys, t.total_rows) == ("json", True, 4)
        assert t.first_row() == ["email", "name", "phone", "tags", "vip", "score", "meta"]
        assert t.first_row_line == 0
        assert all_rows(t) == [
            (1, ["ann@x.org", "Ann", "", "", "", "", ""]),
            (2, ["", "Bob", "612345678", '["a", "b"]', "", "", ""]),
            (4, ["cy@x.org", "", "", "", "true", "2", '{"k": "é"}']),
        ]
        assert all_rows(t, skip=2) == [(4, ["cy@x.org", "", "", "", "true", "2", '{"k": "é"}'])]
        assert t.progress() == 1.0


def test_json_that_is_not_an_array_of_objects_is_refused(tmp_path: Path) -> None:
    for content in ('{"contacts": []}', '[{"email": "a@x.org"}, 3]', "[1, 2]"):
        path = write(tmp_path / "c.json", content)
        with pytest.raises(InvalidInput, match="JSON imports are an array of objects"):
            open_table(path)


def test_invalid_json_names_the_position(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="line 2 column"):
        open_table(write(tmp_path / "c.json", '[{"email": "a@x.org"},\n {oops}]'))


# ---------------------------------------------------------------------------------------------- ZIP


def test_zip_with_one_csv_is_opened_to_its_table_and_cleaned_up(tmp_path: Path) -> None:
    path = make_zip(
        tmp_path / "export.zip",
        {
            "export/contacts.csv": "email;name\nann@x.org;Ann\n",
            "__MACOSX/export/._contacts.csv": "junk",
            "README.md": "hi",
        },
    )
    work = tmp_path / "work"
    work.mkdir()
    t = open_table(path, workdir=work)
    with t:
        assert (t.format, t.name, t.delimiter) == ("csv", "export.zip/export/contacts.csv", ";")
        assert all_rows(t) == [(1, ["email", "name"]), (2, ["ann@x.org", "Ann"])]
        assert list(work.iterdir())
    assert list(work.iterdir()) == []


def test_zip_with_one_xlsx_is_read(tmp_path: Path) -> None:
    xlsx = make_xlsx(tmp_path / "in.xlsx", {"S": [["email"], ["ann@x.org"]]})
    path = make_zip(tmp_path / "a.zip", {"in.xlsx": xlsx.read_bytes()})
    with open_table(path) as t:
        assert (t.format, t.name) == ("xlsx", "a.zip/in.xlsx")
        assert all_rows(t, skip=1) == [(2, ["ann@x.org"])]


def test_zip_with_two_importable_files_is_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {"one.csv": "email\n", "two.csv": "email\n"})
    with pytest.raises(InvalidInput) as err:
        open_table(path)
    assert "'one.csv', 'two.csv'" in str(err.value) and "one file per ZIP" in str(err.value)


def test_zip_without_an_importable_file_lists_what_it_found(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {"photo.png": b"\x89PNG", "notes.md": "hi"})
    with pytest.raises(InvalidInput) as err:
        open_table(path)
    assert "'photo.png', 'notes.md'" in str(err.value) and ".csv" in str(err.value)


def test_zip_inside_a_zip_is_refused(tmp_path: Path) -> None:
    inner = make_zip(tmp_path / "inner.zip", {"c.csv": "email\n"})
    path = make_zip(tmp_path / "outer.zip", {"inner.zip": inner.read_bytes()})
    with pytest.raises(InvalidInput, match="ZIP inside a ZIP"):
        open_table(path)


def test_zip_bomb_is_refused_quickly_by_its_compression_ratio(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("zeros.csv", "w") as out:
        block = b"\0" * (1024 * 1024)
        for _ in range(50):
            out.write(block)
    assert path.stat().st_size < 200_000
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as err:
        open_table(path, workdir=tmp_path)
    assert time.monotonic() - started < 1.0
    assert "compression ratio" in str(err.value) and "at most 100 allowed" in str(err.value)
    assert [p.name for p in tmp_path.iterdir()] == ["bomb.zip"]


def test_zip_entry_larger_than_the_file_limit_is_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {"c.csv": "".join(f"user{i}@example.org\n" for i in range(200))})
    with pytest.raises(LimitExceeded, match="file size of a.zip/c.csv"):
        open_table(path, limits=Limits(max_file_bytes=2000))


def test_zip_with_too_many_entries_is_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {f"f{i}.md": "x" for i in range(6)} | {"c.csv": "email\n"})
    with pytest.raises(LimitExceeded) as err:
        open_table(path, limits=Limits(max_zip_entries=5))
    assert "at most 5 allowed, received 7" in str(err.value)


# ---------------------------------------------------------------------------------------------- detection


def test_detect_format_prefers_declared_then_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "upload.bin", "email\n")
    assert detect_format(path, "XLSX") == "xlsx"
    assert detect_format(path, name_hint="Contacts.JSON") == "json"
    assert detect_format(tmp_path / "x.tsv") == "csv"
    assert detect_format(tmp_path / "x.zip") == "zip"
    with pytest.raises(InvalidInput) as err:
        detect_format(path, "pdf")
    assert err.value.field == "format" and all(f in str(err.value) for f in FORMATS)


def test_detect_format_by_magic_bytes(tmp_path: Path) -> None:
    xlsx = make_xlsx(tmp_path / "a.xlsx", {"S": [["x"]]})
    ods = make_ods(tmp_path / "a.ods", [["x"]])
    plain_zip = make_zip(tmp_path / "a.zip", {"c.csv": "email\n"})
    cases = {
        xlsx.read_bytes(): "xlsx",
        ods.read_bytes(): "ods",
        plain_zip.read_bytes(): "zip",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100: "xls",
        b'  \n [{"email": "a@x.org"}]': "json",
        b"email,name\n": "csv",
    }
    for i, (data, expected) in enumerate(cases.items()):
        assert detect_format(write(tmp_path / f"upload{i}", data)) == expected


def test_format_detected_by_magic_bytes_is_opened(tmp_path: Path) -> None:
    xlsx = make_xlsx(tmp_path / "a.xlsx", {"S": [["email"], ["a@x.org"]]})
    path = write(tmp_path / "download", xlsx.read_bytes())
    with open_table(path) as t:
        assert t.format == "xlsx" and t.name == "download"
        assert t.first_row() == ["email"]
