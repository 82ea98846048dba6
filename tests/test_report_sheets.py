"""The export's report sheets read back with openpyxl and the csv module, after reports
submitted through the real chat flow: every value as submitted, typed, in Vietnamese; a
correction as a second revision; late reports; hostile text; filters."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot.app import Bot
from bot.settings import Settings
from bot.storage.snapshot import FacilityFilter
from tests.conftest import FakeClock
from tests.support.report_script import FULL_REPORT, NOT_APPLIED, SUBMIT
from tests.support.staffing import linked_manager
from tests.test_export_data import export
from tests.test_onboarding import Chat

TAM_THANH = "05986"
PROFILE = ("Nguyễn Thị Hoa", "-", "0912 345 678", "bún", "1", "-", SUBMIT)
HOSTILE_MEASURE = "=1+2 đổi nồi hơi"


def rows_of(path: Path, sheet: str) -> list[dict[str, Any]]:
    rows = list(openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True))
    assert len(set(rows[0])) == len(rows[0]), "column headings must be unique"
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


async def say_all(chat: Chat, steps: tuple[str, ...]) -> None:
    for step in steps:
        await chat.say(step)


@pytest.fixture
async def submitted(bot: Bot, clock: FakeClock) -> Bot:
    """DEMO01 reports on 1 December (with a hostile measure); DEMO02 (cement, Chi Lăng)
    reports on 15 December, late, not applying."""
    noodles = await linked_manager(bot, "DEMO01", "hoa", clock())
    await say_all(noodles, PROFILE)
    steps = list(FULL_REPORT)
    steps[7] = HOSTILE_MEASURE  # the equipment modification, in the manager's words
    await say_all(noodles, (*steps, SUBMIT))
    clock.advance(hours=1)
    cement = await linked_manager(bot, "DEMO02", "binh", clock())
    await cement.say("/cancel")
    clock.advance(days=14)
    await say_all(cement, (*NOT_APPLIED, SUBMIT))
    return bot


async def test_the_reports_sheet_holds_each_answer_as_submitted_typed_and_in_vietnamese(
    submitted: Bot, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "all.xlsx"
    counts = export(submitted, settings, out)
    assert (counts["reports"], counts["measures"], counts["not_reported"]) == (2, 2, 38)
    reports = {row["Mã cơ sở"]: row for row in rows_of(out, "Báo cáo 2026")}
    noodles = reports["DEMO01"]
    assert noodles["Xã/phường"] == "phường Tam Thanh" and noodles["Quy mô"] == "nhỏ"
    assert noodles["Số biên nhận"] == "LS-2026-000001" and noodles["Phiên bản"] == 1
    assert noodles["Gửi lần đầu lúc"] == datetime(2026, 12, 1, 9, 0)  # Vietnam time
    assert noodles["Nộp muộn"] == "Không"
    assert noodles["Lãnh đạo đã nhận thức được lợi ích của SXSH"] == "Có"
    assert noodles["Hình thức được phổ biến về SXSH"] == "Lớp tập huấn; Chuyên gia tư vấn đến cơ sở"
    assert noodles["Số người được tập huấn SXSH trong năm"] == 12
    assert noodles["Các nhóm giải pháp SXSH đã áp dụng"] == "Quản lý nội vi; Cải tiến thiết bị"
    assert noodles["Sản phẩm chính"] == "bánh phở tươi"
    assert noodles["Sản lượng trong năm (đơn vị sản phẩm)"] == 1250.5
    assert noodles["Năm của số liệu nền"] == 2024
    assert noodles["Điện trên một đơn vị sản phẩm, số liệu nền (kWh)"] == 125.5
    assert noodles["Tiết kiệm điện trên một đơn vị sản phẩm (%)"] == 20
    assert noodles["Nhiên liệu chính"] == "than" and noodles["Đơn vị nhiên liệu"] == "tấn"
    assert noodles["Nguyên liệu chính"] == "gạo"
    assert noodles["Tiết kiệm nguyên liệu trên một đơn vị sản phẩm (%)"] == 3.92
    assert noodles["Vốn đầu tư cho giải pháp SXSH trong năm (đồng)"] == 150_000_000
    assert noodles["Tiền tiết kiệm ước tính mỗi năm (đồng)"] == 100_000_000
    assert noodles["Thời gian hoàn vốn giản đơn (năm)"] == 1.5
    assert noodles["Có bộ phận/cán bộ chuyên trách SXSH"] == "Có"
    assert noodles["Kiến nghị, đề xuất, ghi chú"] == "Đề nghị Sở tổ chức thêm lớp tập huấn"
    assert noodles["Người lập báo cáo"] == "Hoàng Thị Mai"
    assert noodles["Lý do chưa áp dụng SXSH"] is None  # not asked
    cement = reports["DEMO02"]
    assert cement["Nộp muộn"] == "Có"
    assert cement["Gửi lần đầu lúc"] == datetime(2026, 12, 15, 10, 0)
    assert cement["Có áp dụng SXSH trong năm"] == "Không"
    assert cement["Lý do chưa áp dụng SXSH"] == "Thiếu vốn đầu tư"
    assert cement["Muốn được tư vấn viên SXSH liên hệ"] == "Có"
    assert cement["Sản lượng trong năm (đơn vị sản phẩm)"] is None

    sheet = openpyxl.load_workbook(out)["Báo cáo 2026"]
    header = [cell.value for cell in sheet[1]]
    first = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "DEMO01")
    money = first[header.index("Vốn đầu tư cho giải pháp SXSH trong năm (đồng)")]
    assert (money.data_type, money.number_format) == ("n", '#,##0 "₫"')
    assert first[header.index("Gửi lần đầu lúc")].is_date
    assert sheet.freeze_panes == "A2"


async def test_measures_one_row_each_with_the_managers_words_never_a_formula(
    submitted: Bot, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "all.xlsx"
    export(submitted, settings, out)
    measures = rows_of(out, "Giải pháp 2026")
    assert [(m["Mã cơ sở"], m["Nhóm giải pháp SXSH"], m["Đã làm gì"]) for m in measures] == [
        ("DEMO01", "Quản lý nội vi", "Sửa rò rỉ hơi, tắt máy khi không sản xuất"),
        ("DEMO01", "Cải tiến thiết bị", HOSTILE_MEASURE),
    ]
    sheet = openpyxl.load_workbook(out)["Giải pháp 2026"]
    cell = sheet.cell(row=3, column=9)
    assert (cell.value, cell.data_type, cell.quotePrefix) == (HOSTILE_MEASURE, "s", True)
    archive = tmp_path / "all.zip"
    export(submitted, settings, archive, fmt="csv")
    raw = zipfile.ZipFile(archive).read("02_measures.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[1]["Đã làm gì"] == "'" + HOSTILE_MEASURE
    assert rows[0]["Tên cơ sở"] == "Cơ sở sản xuất bún phở Mẫu Tam Thanh"


async def test_indicators_and_revisions_sheets_and_the_commune_filter(
    submitted: Bot, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "all.xlsx"
    export(submitted, settings, out)
    indicators = rows_of(out, "Chỉ tiêu 2026")
    total = indicators[0]
    assert (total["Cấp"], total["Tên"]) == ("Phạm vi xuất", "Toàn tỉnh")
    assert (total["Cơ sở trong danh sách"], total["Đã báo cáo"], total["Nộp muộn"]) == (40, 2, 1)
    assert total["Nhận thức SXSH (%) — mục tiêu 90%"] == pytest.approx(0.05)
    assert total["Tiết kiệm chung (%) — mục tiêu 8–13%"] == pytest.approx(0.16)
    communes = {row["Tên"]: row for row in indicators if row["Cấp"] == "Xã/phường"}
    assert communes["phường Tam Thanh"]["Đã báo cáo"] == 1
    info = [row[:2] for row in openpyxl.load_workbook(out)["Thông tin"].iter_rows(values_only=True)]
    assert any(row[0] == "Nhận thức về SXSH (mục tiêu 90%)" for row in info)

    revisions = rows_of(out, "Các phiên bản 2026")
    assert [(r["Mã cơ sở"], r["Phiên bản"], r["Là bản mới nhất"]) for r in revisions] == [
        ("DEMO01", 1, "Có"),
        ("DEMO02", 1, "Có"),
    ]

    tam_thanh = tmp_path / "tam-thanh.csv"
    export(
        submitted,
        settings,
        tam_thanh,
        FacilityFilter(commune_code=TAM_THANH),
        fmt="csv",
        sheet="reports",
    )
    rows = list(csv.DictReader(io.StringIO(tam_thanh.read_text("utf-8-sig"), newline="")))
    assert [row["Mã cơ sở"] for row in rows] == ["DEMO01"]
    assert rows[0]["Sản lượng trong năm (đơn vị sản phẩm)"] == "1250.5"
    assert rows[0]["Gửi lần đầu lúc"] == "2026-12-01 09:00"


async def test_a_correction_is_a_new_revision_and_the_reports_sheet_shows_the_latest(
    bot: Bot, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    chat = await linked_manager(bot, "DEMO01", "hoa", clock())
    await say_all(chat, PROFILE)
    await say_all(chat, (*FULL_REPORT, SUBMIT))
    clock.advance(days=20)  # 21 December: the correction is after the deadline
    # /report → change the report → change an answer → question 10 (the output) → Submit
    for step in ("/report", "2", "2", "10", "1.300", SUBMIT):
        await chat.say(step)
    out = tmp_path / "after.xlsx"
    export(bot, settings, out)
    [latest] = rows_of(out, "Báo cáo 2026")
    assert latest["Phiên bản"] == 2 and latest["Số biên nhận"] == "LS-2026-000002"
    assert latest["Sản lượng trong năm (đơn vị sản phẩm)"] == 1300
    assert latest["Nộp muộn"] == "Không"  # revision 1 was on time
    assert latest["Gửi lần đầu lúc"] == datetime(2026, 12, 1, 9, 0)
    history = rows_of(out, "Các phiên bản 2026")
    assert [(r["Phiên bản"], r["Sản lượng trong năm (đơn vị sản phẩm)"]) for r in history] == [
        (1, 1250.5),
        (2, 1300),
    ]


async def test_self_assessments_of_the_year_with_their_scores(
    bot: Bot, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    chat = await linked_manager(bot, "DEMO01", "hoa", clock())
    await chat.say("/cancel")
    async with bot.database.transaction() as store:
        facility = await store.facilities.by_code("DEMO01")
        assert facility is not None
        draft = await store.drafts.open(facility.id, "self_assessment", "1", 1, clock())
        await store.assessments.save(
            facility_id=facility.id,
            draft_id=draft.id,
            form_version=1,
            sector_code="C10",
            overall=57,
            scores={"good_housekeeping": 63, "technology_change": None},
            answers={"hk_switch_off": "no"},
            opportunities=["hk_switch_off"],
            user_id=None,
            now=clock(),
        )
    out = tmp_path / "sa.xlsx"
    export(bot, settings, out, sheet="self_assessments")
    [row] = rows_of(out, "Tự đánh giá 2026")
    assert (row["Mã cơ sở"], row["Điểm chung (0–100)"]) == ("DEMO01", 57)
    assert row["Điểm: Quản lý nội vi"] == 63 and row["Điểm: Thay đổi công nghệ"] is None
    assert row["Hoàn thành lúc"] == datetime(2026, 12, 1, 9, 0)
    assert row["Cơ hội lớn nhất"].startswith("Máy móc, đèn, quạt")
    export(bot, settings, tmp_path / "2025.xlsx", sheet="self_assessments", year=2025)
    assert rows_of(tmp_path / "2025.xlsx", "Tự đánh giá 2025") == []
