"""Reading both delivery formats (pure functions, no database)."""

import io
from datetime import date, datetime

import openpyxl
import pytest

from supply import parsers
from supply.exceptions import UploadInvalid
from tests.supply.conftest import FILES, IMPFDASHBOARD_FILE

TODAY = date(2021, 4, 19)
CENTRES = parsers.Codes(active=frozenset({"DD01", "LZ01", "CN01"}), inactive=frozenset({"PL01"}))
VACCINES = parsers.Codes(active=frozenset({"comirnaty", "moderna", "astra", "johnson"}))


def own(content, today=TODAY):
    table = parsers.read_table(content, allow_xlsx=True)
    return parsers.parse_own(table, centres=CENTRES, vaccines=VACCINES, today=today)


def errors_of(call, *args, **kwargs):
    with pytest.raises(UploadInvalid) as caught:
        call(*args, **kwargs)
    return [(error.row, error.column, error.message) for error in caught.value.errors]


def xlsx(rows, **sheets):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for title, extra_rows in sheets.items():
        extra = workbook.create_sheet(title)
        for row in extra_rows:
            extra.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_own_format_semicolons_german_dates_and_status_words():
    rows = own(
        "Zentrum ; IMPFSTOFF;Datum;Dosen; Status \n"
        "dd01;Comirnaty;03.05.2021;1170;bestätigt\n"
        "LZ01;moderna;2021-05-04;600;Prognose\n"
        "\n"
        "CN01;astra;4.5.2021;0;cancelled\n".encode()
    )
    assert rows == [
        parsers.OwnRow(2, "DD01", "comirnaty", date(2021, 5, 3), 1170, "confirmed"),
        parsers.OwnRow(3, "LZ01", "moderna", date(2021, 5, 4), 600, "forecast"),
        # the blank line 4 still counts: row numbers are file lines
        parsers.OwnRow(5, "CN01", "astra", date(2021, 5, 4), 0, "cancelled"),
    ]


def test_own_format_commas_crlf_and_byte_order_mark():
    content = "\ufeffzentrum,impfstoff,datum,dosen,status\r\nDD01,johnson,2021-05-03,50,geliefert\r\n"
    (row,) = own(content.encode("utf-8"))
    assert (row.row, row.centre, row.vaccine, row.doses, row.status) == (
        2,
        "DD01",
        "johnson",
        50,
        "delivered",
    )


def test_files_as_german_excel_saves_them():
    """`CSV UTF-8` (byte order mark, semicolons, CRLF, empty trailing columns and rows) is read;
    plain `CSV` (Windows-1252) is refused with the way to save it as UTF-8."""
    rows = own((FILES / "excel_csv_utf8.csv").read_bytes())
    assert [(row.row, row.centre, row.doses, row.status) for row in rows] == [
        (2, "DD01", 1170, "confirmed"),
        (3, "LZ01", 600, "forecast"),
    ]
    ((row, _column, message),) = errors_of(own, (FILES / "excel_csv_windows1252.csv").read_bytes())
    assert row == 2
    assert "Windows-1252/Latin-1" in message


def test_own_format_xlsx_with_date_cells_numbers_and_text_dates():
    content = xlsx(
        [
            ["zentrum", "impfstoff", "datum", "dosen", "status"],
            ["DD01", "comirnaty", datetime(2021, 5, 3), 1170, "geliefert"],
            [None, None, None, None, None],
            ["LZ01", "moderna", "04.05.2021", 600.0, "bestätigt"],
        ]
    )
    rows = own(content)
    assert [(row.row, row.centre, row.date, row.doses, row.status) for row in rows] == [
        (2, "DD01", date(2021, 5, 3), 1170, "delivered"),
        (4, "LZ01", date(2021, 5, 4), 600, "confirmed"),
    ]


def test_every_bad_row_is_reported_with_row_column_and_reason():
    content = "\n".join(
        [
            "zentrum;impfstoff;datum;dosen;status",
            "DD01;comirnaty;2021-05-03;1170;bestätigt",
            "XX01;biontech;2021-02-30;-6;vielleicht",
            "PL01;moderna;2020-11-30;12,5;prognose",
            "DD01;comirnaty;03.05.2021;1.200;geliefert",
            "DD01;comirnaty;03.05.2021;600;geliefert",
            "LZ01;astra;2022-04-20;abc;",
            "LZ01;astra",
        ]
    )
    errors = errors_of(own, content.encode())
    by_place = {(row, column): message for row, column, message in errors}
    assert "Unbekanntes Impfzentrum „XX01“" in by_place[3, "zentrum"]
    assert "Unbekannter Impfstoff „biontech“" in by_place[3, "impfstoff"]
    assert "„comirnaty“" in by_place[3, "impfstoff"]  # the hint
    assert "kein gültiges Kalenderdatum" in by_place[3, "datum"]
    assert "nicht negativ" in by_place[3, "dosen"]
    assert "Unbekannter Status „vielleicht“" in by_place[3, "status"]
    assert "nicht aktiv" in by_place[4, "zentrum"]
    assert "01.12.2020 bis 19.04.2022" in by_place[4, "datum"]
    assert "Nachkommastellen" in by_place[4, "dosen"]
    assert "Tausendertrennzeichen" in by_place[5, "dosen"]
    assert "Zeile 2" in by_place[6, "zentrum, impfstoff, datum"]
    assert "Zeile 6" in by_place[6, "zentrum, impfstoff, datum"]
    assert "außerhalb des erlaubten Zeitraums" in by_place[7, "datum"]
    assert "keine Zahl" in by_place[7, "dosen"]
    assert "leer" in by_place[7, "status"]
    assert "2 Felder" in by_place[8, ""]
    assert len(errors) == 5 + 3 + 1 + 1 + 3 + 1


def test_missing_and_extra_columns_are_named():
    errors = errors_of(own, b"zentrum;impfstoff;tag;dosen;bemerkung\nDD01;astra;2021-05-03;10;x\n")
    assert errors[0][1] == "datum, status"
    assert "Es fehlen die Spalten: datum, status" in errors[0][2]
    assert errors[1][1] == "tag, bemerkung"
    assert "Unbekannte Spalten: tag, bemerkung" in errors[1][2]


def test_trailing_empty_columns_from_excel_are_tolerated():
    (row,) = own(b"zentrum;impfstoff;datum;dosen;status;;\nDD01;astra;2021-05-03;10;geliefert;;\n")
    assert row.doses == 10


def test_header_only_and_empty_files_are_refused():
    assert "nur die Kopfzeile" in errors_of(own, b"zentrum;impfstoff;datum;dosen;status\n")[0][2]
    assert "leer" in errors_of(own, b"")[0][2]
    assert "leer" in errors_of(own, b" \n\r\n")[0][2]


def test_latin1_file_is_refused_with_a_hint_how_to_save_utf8():
    content = "zentrum;impfstoff;datum;dosen;status\nDD01;astra;2021-05-03;10;bestätigt\n".encode("cp1252")
    ((row, _column, message),) = errors_of(own, content)
    assert row == 2
    assert "nicht in UTF-8" in message
    assert "Windows-1252/Latin-1" in message
    assert "„ä“" in message
    assert "CSV UTF-8" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "alten Excel-Format (.xls)"),
        (b"%PDF-1.4\n...", "PDF-Datei"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "weder eine CSV/TSV-Textdatei noch eine Excel-Datei"),
        ("zentrum;impfstoff".encode("utf-16"), "UTF-16"),
        (b"PK\x03\x04 broken", "beschädigt"),
    ],
)
def test_files_that_are_neither_text_nor_xlsx_are_refused(content, expected):
    ((row, _column, message),) = errors_of(own, content)
    assert row is None
    assert expected in message


def test_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<x/>")
    assert "keine Excel-Arbeitsmappe" in errors_of(own, buffer.getvalue())[0][2]


def test_xlsx_with_two_sheets_names_them():
    content = xlsx([["zentrum", "impfstoff", "datum", "dosen", "status"]], Notizen=[["x"]])
    ((_row, _column, message),) = errors_of(own, content)
    assert "2 Tabellenblätter" in message
    assert "„Sheet“, „Notizen“" in message


def test_xlsx_with_formulas_names_the_first_cells():
    content = xlsx(
        [
            ["zentrum", "impfstoff", "datum", "dosen", "status"],
            ["DD01", "astra", datetime(2021, 5, 3), "=10*6", "geliefert"],
            ["DD01", "astra", datetime(2021, 5, 4), "=D2", "geliefert"],
        ]
    )
    ((_row, _column, message),) = errors_of(own, content)
    assert "Formeln (in D2, D3)" in message


def test_impfdashboard_columns_in_own_format_are_recognised():
    content = IMPFDASHBOARD_FILE.read_bytes()
    ((row, _column, message),) = errors_of(own, content)
    assert row == 1
    assert "impfdashboard-Lieferdatei" in message


def test_impfdashboard_uses_only_saxony_centre_rows_and_counts_the_rest():
    table = parsers.read_table(IMPFDASHBOARD_FILE.read_bytes(), allow_xlsx=False)
    parsed = parsers.parse_impfdashboard(table, vaccines=VACCINES, today=date(2026, 1, 1))
    assert len(parsed.rows) == 107
    assert parsed.ignored == {"DE-SN / arztpraxen": 66}
    assert parsed.rows[0] == parsers.StateRow(2, date(2020, 12, 26), "comirnaty", 9750)
    returns = [row for row in parsed.rows if row.doses < 0]
    assert [(row.date, row.vaccine, row.doses) for row in returns] == [
        (date(2021, 8, 20), "astra", -151200),
        (date(2021, 9, 3), "astra", -500),
    ]


def test_impfdashboard_bad_rows_are_all_reported_but_ignored_rows_are_not_checked():
    content = "\n".join(
        [
            "date\timpfstoff\tregion\tdosen\teinrichtung",
            "03.05.2021\tcomirnaty\tDE-SN\t100\timpfzentren",
            "2021-05-04\tsputnik\tDE-SN\t1.5\timpfzentren",
            "not a date\tsputnik\tDE-BY\tmany\timpfzentren",
        ]
    )
    table = parsers.read_table(content.encode(), allow_xlsx=False)
    errors = errors_of(parsers.parse_impfdashboard, table, vaccines=VACCINES, today=TODAY)
    assert [(row, column) for row, column, _message in errors] == [
        (2, "date"),
        (3, "impfstoff"),
        (3, "dosen"),
    ]
    assert "JJJJ-MM-TT" in errors[0][2]


def test_impfdashboard_refuses_the_old_four_column_file_and_own_columns():
    old = "date\timpfstoff\tregion\tdosen\n2021-01-08\tcomirnaty\tDE-SN\t34125\n"
    table = parsers.read_table(old.encode(), allow_xlsx=False)
    ((_row, _column, message),) = errors_of(
        parsers.parse_impfdashboard, table, vaccines=VACCINES, today=TODAY
    )
    assert "ältere impfdashboard-Lieferdatei mit vier Spalten" in message
    assert "Arztpraxen" in message

    table = parsers.read_table(
        b"zentrum;impfstoff;datum;dosen;status\nDD01;astra;2021-05-03;1;prognose\n", allow_xlsx=False
    )
    ((_row, _column, message),) = errors_of(
        parsers.parse_impfdashboard, table, vaccines=VACCINES, today=TODAY
    )
    assert "Impfportal-Formats" in message


def test_impfdashboard_refuses_xlsx():
    content = xlsx([["date", "impfstoff", "region", "dosen", "einrichtung"]])
    assert "TSV" in errors_of(parsers.read_table, content, allow_xlsx=False)[0][2]


def test_impfdashboard_without_saxony_centre_rows_is_refused():
    content = "date\timpfstoff\tregion\tdosen\teinrichtung\n2021-05-04\tcomirnaty\tDE-SN\t100\tarztpraxen\n"
    table = parsers.read_table(content.encode(), allow_xlsx=False)
    message = errors_of(parsers.parse_impfdashboard, table, vaccines=VACCINES, today=TODAY)[0][2]
    assert "keine Zeilen für Sachsen und Impfzentren" in message
    assert "1 Zeilen" in message


@pytest.mark.parametrize(
    ("value", "doses", "problem"),
    [
        ("12", 12, None),
        (" 0 ", 0, None),
        (12.0, 12, None),
        (7, 7, None),
        ("12,5", None, "Nachkommastellen"),
        (12.5, None, "Nachkommastellen"),
        ("1.000", None, "Tausendertrennzeichen"),
        ("-3", None, "nicht negativ"),
        ("zwölf", None, "keine Zahl"),
        (True, None, "keine Zahl"),
        ("", None, "leer"),
    ],
)
def test_parse_doses(value, doses, problem):
    result, message = parsers.parse_doses(value, allow_negative=False)
    assert result == doses
    assert (message is None) if problem is None else (problem in message)


def test_templates_are_valid_own_format_files():
    today = date(2021, 5, 1)
    assert len(own(parsers.template_csv(), today=today)) == len(parsers.TEMPLATE_ROWS)
    assert [row.date for row in own(parsers.template_xlsx(), today=today)] == [
        row[2] for row in parsers.TEMPLATE_ROWS
    ]
