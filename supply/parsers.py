"""Reading delivery files: the project's own format (CSV or XLSX) and the impfdashboard TSV.

Pure functions over bytes and the known codes, no database: `services/uploads.py` passes in the
centres and vaccines and turns the parsed rows into deliveries. Every function collects all
problems of a file before it raises `UploadInvalid`, so that staff can fix a file in one go
(DESIGN invariant 11). The formats are documented in docs/uploads.md.
"""

import codecs
import csv
import io
import re
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _

from supply.exceptions import RowError, UploadInvalid

OWN_COLUMNS = ("zentrum", "impfstoff", "datum", "dosen", "status")
IMPFDASHBOARD_COLUMNS = ("date", "impfstoff", "region", "dosen", "einrichtung")
IMPFDASHBOARD_OLD_COLUMNS = ("date", "impfstoff", "region", "dosen")
IMPFDASHBOARD_REGION = "DE-SN"
IMPFDASHBOARD_FACILITY = "impfzentren"

# Deliveries before the first vaccines were approved are typing errors, and so is anything more
# than a year ahead: no forecast reached that far.
EARLIEST_DATE = date(2020, 12, 1)
HORIZON_DAYS = 365

# Status words accepted in the own format, German as in the template and English as in the code.
STATUSES = {
    "prognose": "forecast",
    "bestätigt": "confirmed",
    "bestaetigt": "confirmed",
    "geliefert": "delivered",
    "storniert": "cancelled",
    "forecast": "forecast",
    "confirmed": "confirmed",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "canceled": "cancelled",
}

# Names staff may write instead of a vaccine code: only used to suggest the right code.
VACCINE_HINTS = {
    "biontech": "comirnaty",
    "pfizer": "comirnaty",
    "spikevax": "moderna",
    "astrazeneca": "astra",
    "vaxzevria": "astra",
    "janssen": "johnson",
    "jcovden": "johnson",
    "j&j": "johnson",
}

_INTEGER = re.compile(r"^[+-]?\d+$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}([.,' ]\d{3})+$")
_DECIMAL = re.compile(r"^[+-]?\d*[.,]\d+$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


@dataclass(frozen=True)
class Table:
    """A file read into cells. `rows` holds (row number, cells) for every non-empty row after
    the header; row numbers are file lines (CSV/TSV) or sheet rows (XLSX), the header is row 1."""

    kind: str  # "text" or "xlsx"
    delimiter: str | None
    header_row: int
    header: list[str]  # names as written, stripped
    rows: list[tuple[int, list]]


@dataclass(frozen=True)
class Codes:
    """Known codes of centres or vaccines: those that may be used and those that exist but are inactive."""

    active: frozenset[str]
    inactive: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OwnRow:
    row: int
    centre: str
    vaccine: str
    date: date
    doses: int
    status: str  # a Delivery.Status value


@dataclass(frozen=True)
class StateRow:
    """One used row of the impfdashboard file: doses for the whole state (negative: a return)."""

    row: int
    date: date
    vaccine: str
    doses: int


@dataclass(frozen=True)
class ImpfdashboardFile:
    rows: list[StateRow]
    # Rows of other regions or facilities, counted per "region / einrichtung".
    ignored: dict[str, int]

    @property
    def ignored_total(self) -> int:
        return sum(self.ignored.values())


def latest_date(today: date) -> date:
    return today + timedelta(days=HORIZON_DAYS)


# --- Reading a file into a table -------------------------------------------------------------


def read_table(content: bytes, *, allow_xlsx: bool) -> Table:
    """Detect the file type (CSV/TSV text or XLSX) and read it into cells; raise UploadInvalid on
    an empty, binary, wrongly encoded or unreadable file."""
    if not content.strip():
        raise _file_error(_("Die Datei ist leer."))
    if content.startswith(b"PK\x03\x04"):
        kind = _zip_kind(content)
        if kind != "xlsx":
            raise _file_error(kind)
        if not allow_xlsx:
            raise _file_error(
                _(
                    "Das ist eine Excel-Datei (XLSX). impfdashboard-Lieferdateien sind Textdateien "
                    "mit Tabulatoren (TSV): bitte die Datei so hochladen, wie sie veröffentlicht wurde, "
                    "oder für eigene Tabellen das Format „Impfportal-Format“ wählen."
                )
            )
        return _read_xlsx(content)
    problem = _binary_kind(content)
    if problem:
        raise _file_error(problem)
    return _read_text(_decode(content))


def _file_error(message: str) -> UploadInvalid:
    return UploadInvalid([RowError(row=None, column="", message=str(message))])


def _zip_kind(content: bytes) -> str:
    """ "xlsx" for an Excel workbook, else a message saying what the ZIP file is."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype").decode("ascii", "replace") if "mimetype" in names else ""
    except (zipfile.BadZipFile, KeyError, OSError):
        return _("Die Datei ist ein beschädigtes ZIP-Archiv oder eine beschädigte Excel-Datei.")
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "opendocument.spreadsheet" in mimetype:
        return _(
            "Das ist eine OpenDocument-Tabelle (.ods). Bitte als Excel-Arbeitsmappe (.xlsx) "
            "oder als „CSV UTF-8“ speichern."
        )
    return _("Die Datei ist ein ZIP-Archiv, aber keine Excel-Arbeitsmappe (XLSX) und keine CSV-Datei.")


def _binary_kind(content: bytes) -> str | None:
    """A message if the bytes are not text at all (old Excel, PDF, image, UTF-16), else None."""
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        return _(
            "Das ist eine Datei im alten Excel-Format (.xls). Bitte in Excel als "
            "„Excel-Arbeitsmappe (*.xlsx)“ oder als „CSV UTF-8 (durch Trennzeichen getrennt)“ speichern."
        )
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _(
            "Die Datei ist in UTF-16 kodiert (Excel: „Unicode-Text“). Bitte als "
            "„CSV UTF-8 (durch Trennzeichen getrennt)“ speichern."
        )
    if content.startswith(b"%PDF"):
        return _(
            "Das ist eine PDF-Datei. Hochgeladen werden können nur CSV/TSV-Dateien und Excel-Dateien (XLSX)."
        )
    if b"\x00" in content[:8192]:
        return _(
            "Die Datei ist weder eine CSV/TSV-Textdatei noch eine Excel-Datei (XLSX). "
            "Bitte eine der Vorlagen verwenden."
        )
    return None


def _decode(content: bytes) -> str:
    try:
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte order mark, which is fine.
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        message = _("Die Datei ist nicht in UTF-8 kodiert (erstes ungültiges Zeichen in Zeile %(line)d).") % {
            "line": line
        }
        try:
            content.decode("cp1252")
        except UnicodeDecodeError:
            looks_windows = False
        else:
            looks_windows = True
        if looks_windows:
            character = content[exc.start : exc.start + 1].decode("cp1252")
            message += " " + _(
                "Sie sieht nach Windows-1252/Latin-1 aus (so speichert Excel „CSV (Trennzeichen-getrennt)“); "
                "das Zeichen wäre dort „%(character)s“."
            ) % {"character": character}
        message += " " + _(
            "Bitte in Excel „Datei → Speichern unter → CSV UTF-8 (durch Trennzeichen getrennt) (*.csv)“ "
            "wählen (in einem Texteditor: Kodierung UTF-8) oder die Tabelle als XLSX hochladen."
        )
        raise UploadInvalid([RowError(row=line, column="", message=message)]) from exc


def _read_text(text: str) -> Table:
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    counts = {delimiter: first.count(delimiter) for delimiter in ("\t", ";", ",")}
    delimiter = max(counts, key=lambda key: counts[key]) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: tuple[int, list[str]] | None = None
    rows: list[tuple[int, list]] = []
    start = 1
    try:
        for cells in reader:
            number, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = (number, [cell.strip() for cell in cells])
            else:
                rows.append((number, cells))
    except csv.Error as exc:
        raise UploadInvalid(
            [
                RowError(
                    row=reader.line_num,
                    column="",
                    message=_("Die Zeile kann nicht gelesen werden (%(error)s).") % {"error": exc},
                )
            ]
        ) from exc
    if header is None:
        raise _file_error(_("Die Datei ist leer."))
    return Table(kind="text", delimiter=delimiter, header_row=header[0], header=header[1], rows=rows)


def _read_xlsx(content: bytes) -> Table:
    import openpyxl  # imported here: only uploads need it

    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not matter here.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(content), data_only=False)
    except Exception as exc:  # openpyxl raises many kinds of errors for a broken file
        raise _file_error(
            _("Die Excel-Datei kann nicht gelesen werden; sie ist beschädigt oder keine XLSX-Datei.")
        ) from exc
    errors = []
    names = workbook.sheetnames
    if len(names) != 1:
        errors.append(
            RowError(
                row=None,
                column="",
                message=_(
                    "Die Excel-Datei hat %(count)d Tabellenblätter (%(names)s); erlaubt ist genau eines. "
                    "Bitte die Lieferungen auf ein Blatt legen und die anderen Blätter löschen."
                )
                % {"count": len(names), "names": ", ".join(f"„{name}“" for name in names)},
            )
        )
    for sheet in workbook.worksheets:
        formulas = [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
        if formulas:
            shown = ", ".join(formulas[:5])
            if len(formulas) > 5:
                shown += " " + _("und %(count)d weitere") % {"count": len(formulas) - 5}
            errors.append(
                RowError(
                    row=None,
                    column="",
                    message=_(
                        "Das Tabellenblatt „%(sheet)s“ enthält Formeln (in %(cells)s). Bitte nur Werte "
                        "hochladen: Zellen kopieren und mit „Einfügen → Werte“ wieder einfügen."
                    )
                    % {"sheet": sheet.title, "cells": shown},
                )
            )
    if errors:
        raise UploadInvalid(errors)
    if not workbook.worksheets:
        raise _file_error(_("Die Excel-Datei enthält kein Tabellenblatt mit Zellen."))
    header: tuple[int, list[str]] | None = None
    rows: list[tuple[int, list]] = []
    for number, values in enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1):
        cells = [value.strip() if isinstance(value, str) else value for value in values]
        if all(cell is None or cell == "" for cell in cells):
            continue
        if header is None:
            header = (number, ["" if cell is None else str(cell).strip() for cell in cells])
        else:
            rows.append((number, cells))
    if header is None:
        raise _file_error(_("Die Datei ist leer."))
    return Table(kind="xlsx", delimiter=None, header_row=header[0], header=header[1], rows=rows)


# --- Columns ---------------------------------------------------------------------------------


def _column_indexes(table: Table, *, expected: tuple[str, ...], own: bool) -> dict[str, int]:
    """Map each expected column to its index; raise UploadInvalid naming missing, extra or
    duplicate columns, or the format the header looks like when it is the other one."""
    names = [name.lower() for name in table.header]
    present = set(names)
    row = table.header_row
    if set(IMPFDASHBOARD_OLD_COLUMNS) <= present and "einrichtung" not in present:
        raise UploadInvalid(
            [
                RowError(
                    row=row,
                    column="",
                    message=_(
                        "Das ist die ältere impfdashboard-Lieferdatei mit vier Spalten (date, impfstoff, "
                        "region, dosen) ohne Spalte „einrichtung“. Sie unterscheidet nicht zwischen "
                        "Impfzentren und Arztpraxen und kann deshalb nicht übernommen werden. Bitte die "
                        "aktuelle Datei germany_deliveries_timeseries_v2.tsv mit der Spalte „einrichtung“ "
                        "verwenden."
                    ),
                )
            ]
        )
    if own and set(IMPFDASHBOARD_COLUMNS) <= present:
        raise UploadInvalid(
            [
                RowError(
                    row=row,
                    column="",
                    message=_(
                        "Die Spalten (date, impfstoff, region, dosen, einrichtung) sind die einer "
                        "impfdashboard-Lieferdatei. Bitte als Format "
                        "„impfdashboard-Lieferungen (TSV)“ wählen."
                    ),
                )
            ]
        )
    if not own and {"zentrum", "datum"} <= present:
        raise UploadInvalid(
            [
                RowError(
                    row=row,
                    column="",
                    message=_(
                        "Die Spalten (zentrum, impfstoff, datum, dosen, status) sind die des "
                        "Impfportal-Formats. "
                        "Bitte als Format „Impfportal-Format (CSV/XLSX)“ wählen."
                    ),
                )
            ]
        )

    errors = []
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1 and name)
    for name in duplicates:
        errors.append(
            RowError(
                row=row, column=name, message=_("Die Spalte „%(name)s“ kommt mehrfach vor.") % {"name": name}
            )
        )
    missing = [name for name in expected if name not in present]
    if missing:
        message = _("Es fehlen die Spalten: %(names)s. Erwartet werden: %(expected)s.") % {
            "names": ", ".join(missing),
            "expected": ", ".join(expected),
        }
        if len(names) == 1 and table.kind == "text":
            message += " " + _(
                "Es wurde kein Trennzeichen erkannt; die Spalten müssen durch Semikolon, Komma oder "
                "Tabulator getrennt sein."
            )
        errors.append(RowError(row=row, column=", ".join(missing), message=message))
    extra = [name for name in names if name and name not in expected]
    if extra:
        errors.append(
            RowError(
                row=row,
                column=", ".join(extra),
                message=_("Unbekannte Spalten: %(names)s. Erwartet werden genau: %(expected)s.")
                % {"names": ", ".join(extra), "expected": ", ".join(expected)},
            )
        )
    # A column without a name is tolerated while it is empty (Excel writes trailing separators).
    for index, name in enumerate(names):
        if not name and any(_cell(cells, index) not in (None, "") for _number, cells in table.rows):
            errors.append(
                RowError(
                    row=row,
                    column=_("Spalte %(number)d") % {"number": index + 1},
                    message=_("Die Spalte hat keine Überschrift, enthält aber Werte."),
                )
            )
    if errors:
        raise UploadInvalid(errors)
    if not table.rows:
        raise _file_error(_("Die Datei enthält nur die Kopfzeile und keine Lieferungen."))
    return {name: names.index(name) for name in expected}


def _cell(cells: list, index: int):
    value = cells[index] if index < len(cells) else None
    return value.strip() if isinstance(value, str) else value


def _width_error(table: Table, number: int, cells: list) -> RowError | None:
    """Text rows must have as many fields as the header (trailing empty fields are fine)."""
    if table.kind != "text":
        return None
    width = len(table.header)
    used = len(cells)
    while used > width and not cells[used - 1].strip():
        used -= 1
    if used == width:
        return None
    return RowError(
        row=number,
        column="",
        message=_(
            "Die Zeile hat %(found)d Felder, die Kopfzeile %(expected)d (Trennzeichen „%(delimiter)s“)."
        )
        % {"found": used, "expected": width, "delimiter": _delimiter_name(table.delimiter)},
    )


def _delimiter_name(delimiter: str | None) -> str:
    return {"\t": _("Tabulator"), ";": _("Semikolon"), ",": _("Komma")}.get(delimiter or "", delimiter or "")


# --- Values ----------------------------------------------------------------------------------


def _show(value) -> str:
    if isinstance(value, datetime | date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def parse_date(value, *, today: date, iso_only: bool = False) -> tuple[date | None, str | None]:
    """A date from text (YYYY-MM-DD, or DD.MM.YYYY unless iso_only) or an Excel date cell,
    within the horizon; returns (date, None) or (None, German message)."""
    if value is None or value == "":
        return None, _("Das Feld ist leer.")
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        match = _ISO_DATE.match(value)
        parts = (int(match[1]), int(match[2]), int(match[3])) if match else None
        if parts is None and not iso_only:
            match = _GERMAN_DATE.match(value)
            parts = (int(match[3]), int(match[2]), int(match[1])) if match else None
        if parts is None:
            if iso_only:
                return None, _("„%(value)s“ ist kein Datum im Format JJJJ-MM-TT.") % {"value": value}
            return None, _(
                "„%(value)s“ ist kein Datum; erwartet wird JJJJ-MM-TT oder TT.MM.JJJJ, z. B. 2021-05-03 oder "
                "03.05.2021."
            ) % {"value": value}
        try:
            day = date(*parts)
        except ValueError:
            return None, _("„%(value)s“ ist kein gültiges Kalenderdatum.") % {"value": value}
    else:
        return None, _(
            "„%(value)s“ ist kein Datum; bitte die Zelle als Datum formatieren oder JJJJ-MM-TT schreiben."
        ) % {"value": value}
    latest = latest_date(today)
    if not EARLIEST_DATE <= day <= latest:
        return None, _(
            "Das Datum %(day)s liegt außerhalb des erlaubten Zeitraums vom %(earliest)s bis %(latest)s "
            "(höchstens %(days)d Tage nach heute)."
        ) % {
            "day": day.strftime("%d.%m.%Y"),
            "earliest": EARLIEST_DATE.strftime("%d.%m.%Y"),
            "latest": latest.strftime("%d.%m.%Y"),
            "days": HORIZON_DAYS,
        }
    return day, None


def parse_doses(value, *, allow_negative: bool) -> tuple[int | None, str | None]:
    """A whole number of doses from text or an Excel number; returns (doses, None) or (None, message)."""
    if value is None or value == "":
        return None, _("Das Feld ist leer.")
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            return None, _("Dosen müssen eine ganze Zahl sein; „%(value)s“ hat Nachkommastellen.") % {
                "value": _show(value).replace(".", ",")
            }
        number = int(value)
    elif isinstance(value, str):
        text = value.replace("\u00a0", " ").strip()
        if _INTEGER.match(text):
            number = int(text)
        elif _THOUSANDS.match(text):
            return None, _(
                "„%(value)s“ ist nicht eindeutig: bitte Dosen ohne Tausendertrennzeichen angeben, "
                "z. B. %(plain)s."
            ) % {"value": value, "plain": re.sub(r"[.,' ]", "", text)}
        elif _DECIMAL.match(text):
            return None, _("Dosen müssen eine ganze Zahl sein; „%(value)s“ hat Nachkommastellen.") % {
                "value": value
            }
        else:
            number = None
    else:
        number = None
    if number is None:
        return None, _("„%(value)s“ ist keine Zahl.") % {"value": _show(value)}
    if number < 0 and not allow_negative:
        return None, _("Dosen dürfen nicht negativ sein („%(value)s“).") % {"value": number}
    return number, None


def _code(value, codes: Codes, *, centre: bool) -> tuple[str, str | None]:
    """A cell's centre code (upper case) or vaccine code (lower case), and what is wrong with it."""
    code = "" if value is None else str(value)
    code = code.upper() if centre else code.lower()
    if not code:
        return code, _("Das Feld ist leer.")
    return code, _code_error(code, codes, centre=centre)


def _code_error(code: str, codes: Codes, *, centre: bool) -> str | None:
    if code in codes.active:
        return None
    if code in codes.inactive:
        if centre:
            return _("Das Impfzentrum „%(code)s“ ist nicht aktiv.") % {"code": code}
        return _("Der Impfstoff „%(code)s“ ist nicht aktiv.") % {"code": code}
    if centre:
        return _("Unbekanntes Impfzentrum „%(code)s“; bekannt sind: %(codes)s.") % {
            "code": code,
            "codes": ", ".join(sorted(codes.active)),
        }
    message = _("Unbekannter Impfstoff „%(code)s“; erlaubt sind: %(codes)s.") % {
        "code": code,
        "codes": ", ".join(sorted(codes.active)),
    }
    hint = VACCINE_HINTS.get(code)
    if hint in codes.active:
        message += " " + _("Gemeint ist wohl „%(hint)s“.") % {"hint": hint}
    return message


# --- The two formats -------------------------------------------------------------------------


def parse_own(table: Table, *, centres: Codes, vaccines: Codes, today: date) -> list[OwnRow]:
    """Rows of a file in the own format; raise UploadInvalid listing every bad row."""
    columns = _column_indexes(table, expected=OWN_COLUMNS, own=True)
    errors: list[RowError] = []
    result: list[OwnRow] = []
    first_row: dict[tuple[str, str, date], int] = {}
    for number, cells in table.rows:
        width_error = _width_error(table, number, cells)
        if width_error:
            errors.append(width_error)
            continue
        values = {name: _cell(cells, index) for name, index in columns.items()}
        row_errors: list[RowError] = []

        centre, problem = _code(values["zentrum"], centres, centre=True)
        if problem:
            row_errors.append(RowError(number, "zentrum", problem))

        vaccine, problem = _code(values["impfstoff"], vaccines, centre=False)
        if problem:
            row_errors.append(RowError(number, "impfstoff", problem))

        day, problem = parse_date(values["datum"], today=today)
        if problem:
            row_errors.append(RowError(number, "datum", problem))

        doses, problem = parse_doses(values["dosen"], allow_negative=False)
        if problem:
            row_errors.append(RowError(number, "dosen", problem))

        status_text = "" if values["status"] is None else str(values["status"]).lower()
        status = STATUSES.get(status_text)
        if status is None:
            problem = (
                _("Das Feld ist leer.")
                if not status_text
                else _(
                    "Unbekannter Status „%(value)s“; erlaubt sind: prognose, bestätigt, geliefert, storniert "
                    "(oder forecast, confirmed, delivered, cancelled)."
                )
                % {"value": values["status"]}
            )
            row_errors.append(RowError(number, "status", problem))

        if row_errors:
            errors.extend(row_errors)
            continue
        key = (centre, vaccine, day)
        if key in first_row:
            errors.append(
                RowError(
                    number,
                    "zentrum, impfstoff, datum",
                    _(
                        "Doppelte Lieferung: %(centre)s, %(vaccine)s, %(day)s steht schon in Zeile %(first)d "
                        "(und hier in Zeile %(row)d). Je Zentrum, Impfstoff und Tag ist nur eine Zeile "
                        "erlaubt."
                    )
                    % {
                        "centre": centre,
                        "vaccine": vaccine,
                        "day": day.strftime("%d.%m.%Y"),
                        "first": first_row[key],
                        "row": number,
                    },
                )
            )
            continue
        first_row[key] = number
        result.append(OwnRow(number, centre, vaccine, day, doses, status))
    if errors:
        raise UploadInvalid(errors)
    return result


def parse_impfdashboard(table: Table, *, vaccines: Codes, today: date) -> ImpfdashboardFile:
    """The DE-SN `impfzentren` rows of an impfdashboard delivery file; other rows are counted as
    ignored. Raise UploadInvalid listing every bad row."""
    columns = _column_indexes(table, expected=IMPFDASHBOARD_COLUMNS, own=False)
    errors: list[RowError] = []
    rows: list[StateRow] = []
    ignored: Counter[str] = Counter()
    for number, cells in table.rows:
        width_error = _width_error(table, number, cells)
        if width_error:
            errors.append(width_error)
            continue
        values = {name: _cell(cells, index) for name, index in columns.items()}
        region = str(values["region"] or "")
        facility = str(values["einrichtung"] or "")
        if region.upper() != IMPFDASHBOARD_REGION or facility.lower() != IMPFDASHBOARD_FACILITY:
            ignored[f"{region or '–'} / {facility or '–'}"] += 1
            continue
        row_errors: list[RowError] = []
        day, problem = parse_date(values["date"], today=today, iso_only=True)
        if problem:
            row_errors.append(RowError(number, "date", problem))
        vaccine, problem = _code(values["impfstoff"], vaccines, centre=False)
        if problem:
            row_errors.append(RowError(number, "impfstoff", problem))
        doses, problem = parse_doses(values["dosen"], allow_negative=True)
        if problem:
            row_errors.append(RowError(number, "dosen", problem))
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append(StateRow(number, day, vaccine, doses))
    if errors:
        raise UploadInvalid(errors)
    if not rows:
        raise _file_error(
            _(
                "Die Datei enthält keine Zeilen für Sachsen und Impfzentren (region %(region)s, einrichtung "
                "%(facility)s); %(ignored)d Zeilen anderer Regionen oder Einrichtungen wurden übergangen."
            )
            % {
                "region": IMPFDASHBOARD_REGION,
                "facility": IMPFDASHBOARD_FACILITY,
                "ignored": sum(ignored.values()),
            }
        )
    return ImpfdashboardFile(rows=rows, ignored=dict(sorted(ignored.items())))


# --- Templates for download ------------------------------------------------------------------

TEMPLATE_ROWS = [
    ("DD01", "comirnaty", date(2021, 5, 3), 1170, "bestätigt"),
    ("LZ01", "moderna", date(2021, 5, 4), 600, "prognose"),
    ("CN01", "astra", date(2021, 5, 4), 2400, "geliefert"),
]


def template_csv() -> bytes:
    """The own format as CSV: UTF-8 with byte order mark and semicolons, as German Excel expects."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(OWN_COLUMNS)
    for centre, vaccine, day, doses, status in TEMPLATE_ROWS:
        writer.writerow([centre, vaccine, day.isoformat(), doses, status])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    """The own format as an Excel workbook with one sheet and date cells."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Lieferungen"
    sheet.append(list(OWN_COLUMNS))
    for row in TEMPLATE_ROWS:
        sheet.append(list(row))
    for (cell,) in sheet.iter_rows(min_row=2, min_col=3, max_col=3):
        cell.number_format = "DD.MM.YYYY"
    for letter, width in zip("ABCDE", (10, 12, 12, 10, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
