"""Writing tables to XLSX and CSV that open cleanly in Excel, whatever their size.

The caller describes an export as an `ExportDocument`: sheets with Vietnamese column
headers and a type per column, and rows given as iterators (straight from a database
cursor). This module knows no SQL and no forms; it only writes.

* XLSX through xlsxwriter in `constant_memory` mode: each row is flushed to disk as it is
  written, so memory stays flat however many rows there are. (openpyxl's write-only
  mode streams too, but was about 1.7 times slower here, and it reads any string that
  starts with "=" as a formula.) Numbers are numbers, money is whole đồng, percents are
  percents, dates and times are real Excel dates in Vietnam time. Headers are frozen and
  filterable, columns are sized to their content, and a first sheet explains the file:
  the filter, the time of export, each sheet and column, and the definitions the caller
  gives.
* CSV in UTF-8 with a byte-order mark (without it Excel reads Vietnamese as mojibake):
  one file for one sheet, or one CSV per sheet in a zip. Numbers are written the
  machine way (1250.5) and times as ISO text, so other programs read them back.
* Text that starts with =, +, -, @, a tab or a carriage return could run as a formula
  when the file is opened (CSV injection). In CSV such text gets a leading apostrophe,
  the way OWASP recommends; in XLSX it is stored as a text cell with Excel's own "quote
  prefix" flag, so it shows and reads back exactly as typed and is never evaluated, even
  after editing the cell. Numeric columns are written as numbers, so a negative number
  stays a number.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TextIO
from zoneinfo import ZoneInfo

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from bot.clock import VIETNAM
from flows.numbers import format_decimal

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot hold; a pasted control character must not break the file.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
EXCEL_CELL_LIMIT = 32767
INFO_SHEET = "Thông tin"
INFO_KEY = "thong_tin"
# Rows whose text decides column widths; later rows do not widen columns (streaming).
WIDTH_SAMPLE = 500
PROGRESS_EVERY = 500


class ColumnType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    PERCENT = "percent"  # values in percent points: 12.5 means 12,5 %
    DATE = "date"
    DATETIME = "datetime"  # aware datetimes, shown in Vietnam time

    @property
    def described(self) -> str:
        return _TYPE_DESCRIPTIONS[self]


_TYPE_DESCRIPTIONS = {
    ColumnType.TEXT: "chữ",
    ColumnType.INTEGER: "số nguyên",
    ColumnType.DECIMAL: "số thập phân",
    ColumnType.MONEY: "số tiền (đồng)",
    ColumnType.PERCENT: "phần trăm",
    ColumnType.DATE: "ngày",
    ColumnType.DATETIME: "ngày giờ (giờ Việt Nam)",
}
_NUMBER_FORMATS = {
    ColumnType.INTEGER: "#,##0",
    ColumnType.MONEY: '#,##0 "₫"',
    ColumnType.PERCENT: "0.0%",
    ColumnType.DATE: "dd/mm/yyyy",
    ColumnType.DATETIME: "dd/mm/yyyy hh:mm",
}


@dataclass(frozen=True)
class Column:
    header: str  # Vietnamese, as the sheet shows it
    kind: ColumnType = ColumnType.TEXT
    note: str = ""  # how the value is defined, for the explanatory sheet
    name: str = ""  # the machine name behind it (a form question's name), if any


@dataclass
class Sheet:
    key: str  # ASCII: the CSV file name and what `--sheet` accepts
    name: str  # the tab's Vietnamese name (Excel allows 31 characters)
    description: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[object]]
    total: int | None = None  # rows to expect, for the progress bar

    def __post_init__(self) -> None:
        if len(self.name) > 31 or _SHEET_NAME_FORBIDDEN.search(self.name):
            raise ValueError(f"{self.name!r} cannot name an Excel sheet")


@dataclass
class ExportDocument:
    title: str
    created_at: datetime
    # What was exported and by whom: ("Năm báo cáo", "2026"), ("Phạm vi", "Toàn tỉnh")…
    facts: list[tuple[str, str]]
    sheets: list[Sheet]
    # Terms and how each figure is computed, written on the explanatory sheet.
    definitions: list[tuple[str, str]] = field(default_factory=list)
    zone: ZoneInfo = VIETNAM


class Progress(Protocol):
    def begin(self, sheet: str, total: int | None) -> None: ...

    def advance(self, done: int) -> None: ...

    def end(self, done: int) -> None: ...


class _NoProgress:
    def begin(self, sheet: str, total: int | None) -> None:
        pass

    def advance(self, done: int) -> None:
        pass

    def end(self, done: int) -> None:
        pass


# ---------------------------------------------------------------- cell values


def neutralize(text: str) -> str:
    """Text a spreadsheet will not run as a formula: a leading apostrophe if needed."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def clean_text(value: object) -> str:
    if isinstance(value, bool):
        return "Có" if value else "Không"
    text = str(value)
    # isprintable() is one fast pass; most text has nothing to remove.
    return text if text.isprintable() else _CONTROL.sub("", text)


def local_naive(moment: datetime, zone: ZoneInfo) -> datetime:
    """Excel has no time zones: the wall-clock time in Vietnam."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(zone).replace(tzinfo=None)


def plain_number(value: object) -> str:
    """1250.5 and 1500000: no grouping, no exponent, a dot for the decimals."""
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def csv_text(value: object) -> str:
    if value is None or value == "":
        return ""
    return neutralize(clean_text(value))


def csv_cell(kind: ColumnType, value: object, zone: ZoneInfo) -> str:
    if value is None or value == "":
        return ""
    if kind is ColumnType.TEXT:
        return csv_text(value)
    if kind is ColumnType.DATETIME and isinstance(value, datetime):
        return local_naive(value, zone).strftime("%Y-%m-%d %H:%M")
    if kind in (ColumnType.DATE, ColumnType.DATETIME) and isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return plain_number(value)
    # A number column holding text (an unparsable stored value) is still text.
    return neutralize(clean_text(value))


# ---------------------------------------------------------------- XLSX


CellWriter = Callable[[Worksheet, int, int, object], None]


class _XlsxCells:
    """One writer function per column type, with the workbook's formats."""

    def __init__(self, workbook: xlsxwriter.Workbook, zone: ZoneInfo) -> None:
        self.zone = zone
        self.quoted = workbook.add_format({"quote_prefix": True})
        self.formats: dict[ColumnType, Format] = {
            kind: workbook.add_format({"num_format": number_format})
            for kind, number_format in _NUMBER_FORMATS.items()
        }
        self.header = workbook.add_format(
            {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7", "border": 1}
        )
        self.bold = workbook.add_format({"bold": True})
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})

    def writer(self, kind: ColumnType) -> CellWriter:
        if kind is ColumnType.TEXT:
            return self.text
        if kind in (ColumnType.DATE, ColumnType.DATETIME):
            return self._moment(self.formats[kind])
        return self._number(kind)

    def text(self, sheet: Worksheet, row: int, col: int, value: object) -> None:
        if value is None or value == "":
            return
        text = clean_text(value)[:EXCEL_CELL_LIMIT]
        if text.startswith(FORMULA_TRIGGERS):
            sheet.write_string(row, col, text, self.quoted)
        else:
            sheet.write_string(row, col, text)

    def _number(self, kind: ColumnType) -> CellWriter:
        number_format = self.formats.get(kind)
        scale = 100 if kind is ColumnType.PERCENT else 1

        def write(sheet: Worksheet, row: int, col: int, value: object) -> None:
            if value is None or value == "":
                return
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                self.text(sheet, row, col, value)
                return
            number = value if isinstance(value, int) and scale == 1 else float(value) / scale
            sheet.write_number(row, col, number, number_format)

        return write

    def _moment(self, moment_format: Format) -> CellWriter:
        def write(sheet: Worksheet, row: int, col: int, value: object) -> None:
            if isinstance(value, datetime):
                sheet.write_datetime(row, col, local_naive(value, self.zone), moment_format)
            elif isinstance(value, date):
                sheet.write_datetime(row, col, value, moment_format)
            elif value is not None and value != "":
                self.text(sheet, row, col, value)

        return write


def _width(value: object) -> int:
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return len(format_decimal(Decimal(str(value)))) + 2
    return len(str(value))


def _write_xlsx_sheet(
    workbook: xlsxwriter.Workbook, cells: _XlsxCells, sheet: Sheet, progress: Progress
) -> int:
    worksheet = workbook.add_worksheet(sheet.name)
    columns = list(sheet.columns)
    writers = [cells.writer(column.kind) for column in columns]
    widths = [min(max(len(word) for word in (c.header + " x").split()), 30) for c in columns]
    worksheet.freeze_panes(1, 0)
    if any(len(column.header) > width for column, width in zip(columns, widths, strict=True)):
        worksheet.set_row(0, 45)
    for col, column in enumerate(columns):
        worksheet.write_string(0, col, column.header, cells.header)
    progress.begin(sheet.name, sheet.total)
    written = 0
    for written, values in enumerate(sheet.rows, start=1):
        for col, (write, value) in enumerate(zip(writers, values, strict=False)):
            write(worksheet, written, col, value)
        if written <= WIDTH_SAMPLE:
            for col, value in enumerate(values[: len(widths)]):
                if value is not None:
                    widths[col] = max(widths[col], min(_width(value), 60))
        if written % PROGRESS_EVERY == 0:
            progress.advance(written)
    for col, width in enumerate(widths):
        worksheet.set_column(col, col, width + 2)
    if columns:
        worksheet.autofilter(0, 0, max(written, 1), len(columns) - 1)
    progress.end(written)
    return written


def write_xlsx(
    document: ExportDocument, path: Path, progress: Progress | None = None
) -> dict[str, int]:
    """Write the workbook; returns the number of data rows per sheet key."""
    progress = progress or _NoProgress()
    workbook = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_formulas": False}
    )
    cells = _XlsxCells(workbook, document.zone)
    info = workbook.add_worksheet(INFO_SHEET)
    counts = {
        sheet.key: _write_xlsx_sheet(workbook, cells, sheet, progress) for sheet in document.sheets
    }
    # The first sheet is written last, once the row counts are known.
    info.set_column(0, 0, 28)
    info.set_column(1, 1, 45)
    info.set_column(2, 3, 60)
    styles = {"title": cells.title, "head": cells.bold, "plain": cells.wrap}
    for row, (style, values) in enumerate(info_rows(document, counts)):
        for col, value in enumerate(values):
            if value:
                info.write_string(row, col, clean_text(value), styles[style])
    info.activate()
    workbook.close()
    return counts


# ---------------------------------------------------------------- CSV


def _write_csv_rows(handle: TextIO, sheet: Sheet, zone: ZoneInfo, progress: Progress) -> int:
    writer = csv.writer(handle)
    writer.writerow([column.header for column in sheet.columns])
    convert: list[Callable[[object], str]] = [
        csv_text if column.kind is ColumnType.TEXT else partial(csv_cell, column.kind, zone=zone)
        for column in sheet.columns
    ]
    progress.begin(sheet.name, sheet.total)
    written = 0
    for written, values in enumerate(sheet.rows, start=1):
        writer.writerow([cell(value) for cell, value in zip(convert, values, strict=False)])
        if written % PROGRESS_EVERY == 0:
            progress.advance(written)
    progress.end(written)
    return written


def write_csv(
    sheet: Sheet, path: Path, zone: ZoneInfo = VIETNAM, progress: Progress | None = None
) -> int:
    """One sheet as one CSV file; returns the number of data rows."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        return _write_csv_rows(handle, sheet, zone, progress or _NoProgress())


def csv_file_name(index: int, key: str) -> str:
    return f"{index:02d}_{key}.csv"


def write_csv_zip(
    document: ExportDocument, path: Path, progress: Progress | None = None
) -> dict[str, int]:
    """Every sheet as its own CSV in a zip, with the explanatory sheet as 00_thong_tin.csv."""
    progress = progress or _NoProgress()
    counts: dict[str, int] = {}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index, sheet in enumerate(document.sheets, start=1):
            with (
                archive.open(csv_file_name(index, sheet.key), "w", force_zip64=True) as raw,
                io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle,
            ):
                counts[sheet.key] = _write_csv_rows(handle, sheet, document.zone, progress)
        with (
            archive.open(csv_file_name(0, INFO_KEY), "w") as raw,
            io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle,
        ):
            writer = csv.writer(handle)
            for _style, values in info_rows(document, counts):
                writer.writerow([neutralize(clean_text(value)) for value in values])
    return counts


# ---------------------------------------------------------------- the explanatory sheet


def info_rows(document: ExportDocument, counts: dict[str, int]) -> list[tuple[str, list[str]]]:
    """(style, cells) lines of the first sheet; style is "title", "head" or "plain"."""
    when = local_naive(document.created_at, document.zone).strftime("%d/%m/%Y %H:%M")
    lines: list[tuple[str, list[str]]] = [("title", [document.title]), ("plain", [])]
    lines.append(("plain", ["Thời điểm xuất", f"{when} (giờ Việt Nam)"]))
    lines.extend(("plain", [label, value]) for label, value in document.facts)
    lines.append(("plain", []))
    lines.append(("head", ["Trang tính", "Số dòng", "Nội dung"]))
    for sheet in document.sheets:
        rows = format_decimal(Decimal(counts.get(sheet.key, 0)))
        lines.append(("plain", [sheet.name, rows, sheet.description]))
    if document.definitions:
        lines.append(("plain", []))
        lines.append(("head", ["Thuật ngữ", "Định nghĩa, cách tính"]))
        lines.extend(("plain", [term, text]) for term, text in document.definitions)
    lines.append(("plain", []))
    lines.append(("head", ["Trang tính", "Cột", "Kiểu dữ liệu", "Ghi chú"]))
    for sheet in document.sheets:
        for column in sheet.columns:
            note = column.note + (f" [{column.name}]" if column.name else "")
            lines.append(
                ("plain", [sheet.name, column.header, column.kind.described, note.strip()])
            )
    return lines


# ---------------------------------------------------------------- files and progress


def write_atomically(path: Path, write: Callable[[Path], Any]) -> Any:
    """Write to a temporary name beside `path`, then rename: a failed export never
    leaves a half-written file that looks complete."""
    partial = path.with_name(path.name + ".part")
    try:
        result = write(partial)
        os.replace(partial, path)
        return result
    finally:
        partial.unlink(missing_ok=True)


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most every `interval` seconds.

    When stderr is not a terminal (a log file, a cron job) only each sheet's final line
    is written.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        width: int = 30,
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        interactive: bool | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.interval = interval
        self.clock = clock
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.sheet = ""
        self.total: int | None = None
        self._last = 0.0

    def begin(self, sheet: str, total: int | None) -> None:
        self.sheet, self.total = sheet, total
        self._last = 0.0
        if self.interactive:
            self._draw(0, end="")

    def advance(self, done: int) -> None:
        now = self.clock()
        if self.interactive and now - self._last >= self.interval:
            self._last = now
            self._draw(done, end="")

    def end(self, done: int) -> None:
        self._draw(done, end="\n")

    def _draw(self, done: int, end: str) -> None:
        total = self.total if self.total is not None else done
        share = 1.0 if total == 0 else min(done / total, 1.0)
        filled = round(share * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        counts = f"{format_decimal(Decimal(done))}/{format_decimal(Decimal(total))}"
        prefix = "\r" if self.interactive else ""
        self.stream.write(f"{prefix}{self.sheet:<22} [{bar}] {share:>4.0%} {counts}{end}")
        self.stream.flush()
