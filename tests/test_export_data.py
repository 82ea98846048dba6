"""The Department's export on a real database: the register with each facility's profile,
who has not reported, filters, hostile answers typed into a form, and one consistent
read-only snapshot while the bot keeps writing."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot.app import Bot
from bot.settings import Settings
from bot.sheets import ExportRequest, run_export
from bot.storage.snapshot import FacilityFilter, read_snapshot
from tests.conftest import FakeClock
from tests.support.staffing import (
    HOSTILE_NAME,
    HOSTILE_PRODUCT,
    HOSTILE_ROLE,
    fill_profile,
    linked_manager,
    set_report,
)

TAM_THANH = "05986"


def export(
    bot: Bot, settings: Settings, out: Path, scope: FacilityFilter | None = None, **kwargs: Any
) -> dict[str, int]:
    request = ExportRequest(kwargs.pop("year", 2026), scope or FacilityFilter(), **kwargs)
    return run_export(
        settings.db_path, request, bot.dispatcher.forms, out, bot.dispatcher.clock(), "test"
    )


def sheet_rows(path: Path, sheet: str) -> list[dict[str, Any]]:
    rows = list(openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def register_count(settings: Settings, where: str = "1") -> int:
    with sqlite3.connect(settings.db_path) as connection:
        return int(
            connection.execute(f"SELECT COUNT(*) FROM facilities WHERE {where}").fetchone()[0]
        )


async def test_the_facilities_sheet_holds_the_register_and_each_profile_typed(
    bot: Bot, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    manager = await linked_manager(bot, "DEMO01", "hoa", clock())
    await fill_profile(
        manager, ["Nguyễn Thị Hoa", "Phó giám đốc", "0912 345 678", "bún tươi", "kg", "25"]
    )
    await set_report(bot, "DEMO01", 2026, "submitted")
    out = tmp_path / "all.xlsx"
    counts = export(bot, settings, out)
    assert counts["facilities"] == register_count(settings) == 40
    rows = {row["Mã cơ sở"]: row for row in sheet_rows(out, "Cơ sở")}
    demo01 = rows["DEMO01"]
    assert demo01["Tên cơ sở"] == "Cơ sở sản xuất bún phở Mẫu Tam Thanh"
    assert demo01["Xã/phường"] == "phường Tam Thanh"
    assert demo01["Huyện cũ (trước 01/7/2025)"] == "Thành phố Lạng Sơn"
    assert demo01["Mã ngành (VSIC)"] == "C10" and demo01["Quy mô"] == "nhỏ"
    assert demo01["Người phụ trách SXSH"] == "Nguyễn Thị Hoa"
    assert demo01["Sản phẩm chính"] == "bún tươi"
    assert demo01["Đơn vị sản phẩm"] == "kg"
    assert demo01["Đơn vị sản phẩm khác"] is None  # not relevant for "kg"
    assert demo01["Số lao động"] == 25  # a number, not text
    assert demo01["Số tài khoản chat đã liên kết"] == 1
    assert demo01["Báo cáo năm 2026"] == "Đã gửi"
    assert demo01["Báo cáo năm 2026: cập nhật lần cuối"] == datetime(2026, 12, 1, 9, 0)
    assert rows["DEMO02"]["Báo cáo năm 2026"] == "Chưa mở biểu mẫu"
    assert rows["DEMO02"]["Người phụ trách SXSH"] is None


async def test_not_reported_lists_every_facility_without_a_sent_report_that_year(
    bot: Bot, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    await linked_manager(bot, "DEMO02", "cement", clock())
    await set_report(bot, "DEMO01", 2026, "submitted")
    await set_report(bot, "DEMO02", 2026, "draft")
    await set_report(bot, "DEMO03", 2025, "submitted")
    out = tmp_path / "2026.xlsx"
    assert export(bot, settings, out)["not_reported"] == 39
    missing = {row["Mã cơ sở"]: row for row in sheet_rows(out, "Chưa báo cáo 2026")}
    assert "DEMO01" not in missing
    assert missing["DEMO02"]["Tình trạng"] == "Đang soạn, chưa gửi"
    assert missing["DEMO02"]["Hoạt động gần nhất"] == datetime(2026, 12, 1, 9, 0)
    assert missing["DEMO03"]["Tình trạng"] == "Chưa có tài khoản chat liên kết (cần gửi mã mời)"
    earlier = tmp_path / "2025.xlsx"
    export(bot, settings, earlier, year=2025)
    assert "DEMO03" not in {row["Mã cơ sở"] for row in sheet_rows(earlier, "Chưa báo cáo 2025")}


async def test_commune_and_sector_filters_keep_only_those_facilities(
    bot: Bot, settings: Settings, tmp_path: Path
) -> None:
    by_commune = tmp_path / "tam-thanh.xlsx"
    counts = export(bot, settings, by_commune, FacilityFilter(commune_code=TAM_THANH))
    expected = register_count(settings, f"commune_code = '{TAM_THANH}'")
    assert 0 < counts["facilities"] == expected < 40
    assert {row["Xã/phường"] for row in sheet_rows(by_commune, "Cơ sở")} == {"phường Tam Thanh"}
    by_sector = tmp_path / "c23.xlsx"
    export(bot, settings, by_sector, FacilityFilter(sector_code="C23"))
    sectors = {row["Mã ngành (VSIC)"] for row in sheet_rows(by_sector, "Chưa báo cáo 2026")}
    assert sectors == {"C23"}
    info = [
        row for row in openpyxl.load_workbook(by_sector)["Thông tin"].iter_rows(values_only=True)
    ]
    assert ("Ngành", "C23 — Sản xuất sản phẩm từ khoáng phi kim loại khác", None, None) in info


async def test_hostile_answers_typed_into_a_form_never_become_formulas(
    bot: Bot, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    manager = await linked_manager(bot, "DEMO01", "mallory", clock())
    await fill_profile(
        manager, [HOSTILE_NAME, HOSTILE_ROLE, "0912 345 678", HOSTILE_PRODUCT, "kg", "-"]
    )
    xlsx = tmp_path / "out.xlsx"
    export(bot, settings, xlsx, FacilityFilter(commune_code=TAM_THANH))
    sheet = openpyxl.load_workbook(xlsx)["Cơ sở"]
    header = [cell.value for cell in sheet[1]]
    demo01 = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "DEMO01")
    for column, typed in (
        ("Người phụ trách SXSH", HOSTILE_NAME),
        ("Chức vụ", HOSTILE_ROLE),
        ("Sản phẩm chính", HOSTILE_PRODUCT),
    ):
        cell = demo01[header.index(column)]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (typed, "s", True)
    archive = tmp_path / "out.zip"
    export(bot, settings, archive, FacilityFilter(commune_code=TAM_THANH), fmt="csv")
    raw = zipfile.ZipFile(archive).read("07_facilities.csv")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    demo = next(row for row in rows if row["Mã cơ sở"] == "DEMO01")
    assert demo["Người phụ trách SXSH"] == "'" + HOSTILE_NAME
    assert demo["Chức vụ"] == "'" + HOSTILE_ROLE
    assert demo["Sản phẩm chính"] == "'" + HOSTILE_PRODUCT
    assert demo["Tên cơ sở"] == "Cơ sở sản xuất bún phở Mẫu Tam Thanh"


async def test_an_export_sees_one_snapshot_while_managers_keep_submitting(
    bot: Bot, settings: Settings, tmp_path: Path
) -> None:
    class WritesMidway:
        """Between the two sheets, a manager submits and a facility is registered."""

        def begin(self, sheet: str, total: int | None) -> None:
            if sheet.startswith("Chưa báo cáo"):
                with sqlite3.connect(settings.db_path) as writer:
                    writer.execute(
                        "INSERT INTO drafts (facility_id, form_id, period, form_version, status,"
                        " created_at, updated_at) SELECT id, 'annual_report', '2026', 1,"
                        " 'submitted', 'x', '2026-12-01T02:00:00+00:00' FROM facilities"
                    )
                    writer.execute(
                        "INSERT INTO report_revisions (facility_id, year, revision, receipt,"
                        " form_id, form_version, submitted_at, late, answers, applied)"
                        " SELECT id, 2026, 1, 'LS-2026-' || id, 'annual_report', 1,"
                        " '2026-12-01T02:00:00.000000+00:00', 0, '{}', 0 FROM facilities"
                    )
                    writer.execute(
                        "INSERT INTO facilities (code, name, commune_code, sector_code,"
                        " size_class, created_at, updated_at)"
                        " VALUES ('NEW01', 'Mới', '05986', 'C10', 'small', 'x', 'x')"
                    )

        def advance(self, done: int) -> None:
            pass

        def end(self, done: int) -> None:
            pass

    out = tmp_path / "snapshot.xlsx"
    request = ExportRequest(2026, FacilityFilter())
    counts = run_export(
        settings.db_path,
        request,
        bot.dispatcher.forms,
        out,
        bot.dispatcher.clock(),
        "t",
        WritesMidway(),
    )
    assert (counts["reports"], counts["facilities"], counts["not_reported"]) == (0, 40, 40)
    assert len(sheet_rows(out, "Chưa báo cáo 2026")) == 40
    assert register_count(settings) == 41  # the write did happen, after the snapshot
    later = export(bot, settings, tmp_path / "later.xlsx")
    assert (later["reports"], later["facilities"], later["not_reported"]) == (40, 41, 1)


async def test_the_export_connection_cannot_write(settings: Settings, bot: Bot) -> None:
    with read_snapshot(settings.db_path) as reader, pytest.raises(sqlite3.OperationalError):
        reader.connection.execute("DELETE FROM facilities")
    assert register_count(settings) == 40


async def test_an_export_does_not_wait_for_the_bots_open_transaction(
    bot: Bot, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "during.xlsx"
    async with bot.database.transaction() as store:
        await store.facilities.connection.execute("DELETE FROM facilities WHERE code = 'DEMO40'")
        counts = await asyncio.wait_for(asyncio.to_thread(export, bot, settings, out), timeout=30)
    assert counts["facilities"] == 40  # the uncommitted delete is not seen
