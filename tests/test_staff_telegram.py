"""Department staff on Telegram, end to end against the loopback Bot API server: an
administrator from SXSH_ADMIN_IDS grants a commune officer their role, the officer gets
"preparing…" and then the export as a document, and forged buttons get refusals."""

from __future__ import annotations

import io
import zipfile

import openpyxl

from bot.settings import Settings
from tests.conftest import FakeClock, invitation_for
from tests.support.botapi_server import SentMessage
from tests.support.staffing import HOSTILE_NAME, HOSTILE_PRODUCT, HOSTILE_ROLE, audit_rows
from tests.support.telegram_harness import TelegramHarness, texts

ADMIN, OFFICER, MANAGER = 9001, 9002, 1001


async def document_for(telegram: TelegramHarness, chat: int, since: int) -> SentMessage:
    def arrived() -> SentMessage | None:
        return next(
            (m for m in telegram.server.sent[since:] if m.chat_id == chat and m.document), None
        )

    return await telegram.server.wait_until(arrived, 30, what="the export document")


async def test_a_commune_officer_gets_their_communes_export_as_a_document(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    settings.admin_ids = [ADMIN]
    code = await invitation_for(telegram.bot, "DEMO01", clock())
    await telegram.say(MANAGER, f"/start {code}")
    for answer in (HOSTILE_NAME, HOSTILE_ROLE, "0912 345 678"):
        await telegram.say(MANAGER, answer)
    units = (await telegram.say(MANAGER, HOSTILE_PRODUCT))[-1]
    skip = (await telegram.press(MANAGER, units, "kg"))[-1]
    summary = (await telegram.press(MANAGER, skip, "Bỏ qua"))[-1]
    await telegram.press(MANAGER, summary, "Gửi")

    admin_help = texts(await telegram.say(ADMIN, "/help"))
    assert "Dành cho cán bộ Sở:" in admin_help and "/staff" in admin_help
    granted = texts(await telegram.say(ADMIN, f"/staff add telegram:{OFFICER} xã Tam Thanh"))
    assert f"Xong: telegram:{OFFICER} nay là cán bộ cấp xã — phường Tam Thanh." in granted

    menu = (await telegram.say(OFFICER, "/export"))[-1]
    assert menu.button_texts == ["Excel (XLSX)", "CSV (zip)"]
    assert "phường Tam Thanh, năm 2026" in (menu.plain_text or "")
    since = len(telegram.server.sent)
    await telegram.press(OFFICER, menu, "Excel (XLSX)")
    sent = await document_for(telegram, OFFICER, since)
    to_officer = [m for m in telegram.server.sent[since:] if m.chat_id == OFFICER]
    assert "Đang chuẩn bị tệp (phường Tam Thanh, năm 2026)" in (to_officer[0].plain_text or "")
    assert to_officer[-1] is sent
    assert "Dữ liệu SXSH năm 2026 (phường Tam Thanh)" in (sent.plain_text or "")
    assert sent.document is not None and sent.document.filename is not None
    assert sent.document.filename.startswith("sxsh-2026-phuong-tam-thanh-")
    workbook = openpyxl.load_workbook(io.BytesIO(sent.document.content))
    rows = list(workbook["Cơ sở"].iter_rows(values_only=False))
    header = [cell.value for cell in rows[0]]
    assert {row[header.index("Xã/phường")].value for row in rows[1:]} == {"phường Tam Thanh"}
    demo01 = next(row for row in rows[1:] if row[0].value == "DEMO01")
    contact = demo01[header.index("Người phụ trách SXSH")]
    assert (contact.value, contact.data_type, contact.quotePrefix) == (HOSTILE_NAME, "s", True)
    info = [row for row in workbook["Thông tin"].iter_rows(values_only=True)]
    assert (
        "Người xuất",
        f"telegram:{OFFICER} (cán bộ cấp xã — phường Tam Thanh)",
        None,
        None,
    ) in info

    since = len(telegram.server.sent)
    await telegram.press(OFFICER, menu, "CSV (zip)")
    archive = await document_for(telegram, OFFICER, since)
    assert archive.document is not None
    names = zipfile.ZipFile(io.BytesIO(archive.document.content)).namelist()
    assert "07_facilities.csv" in names and "01_reports.csv" in names
    audit = audit_rows(settings.db_path)
    assert (f"telegram:{ADMIN}", "role.grant", f"telegram:{OFFICER}") in [r[:3] for r in audit]
    exports = [r for r in audit if r[1] == "export"]
    assert [actor for actor, *_rest in exports] == [f"telegram:{OFFICER}"] * 2
    assert all('"commune": "05986"' in (r[3] or "") for r in exports)
    assert ['"format": "xlsx"' in (r[3] or "") for r in exports] == [True, False]


async def test_forged_export_buttons_reach_no_other_commune_and_no_manager(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    settings.admin_ids = [ADMIN]
    await telegram.say(ADMIN, f"/staff add telegram:{OFFICER} commune 05986")
    menu = (await telegram.say(OFFICER, "/export 2026"))[-1]
    forged = await telegram.press_data(
        OFFICER, menu.message_id, "ex:2026:xlsx:06463:-", forged=True
    )
    assert texts(forged) == (
        "Anh/chị chỉ được xem các cơ sở của phường Tam Thanh. Không có dữ liệu nào được hiển thị."
    )
    code = await invitation_for(telegram.bot, "DEMO02", clock())
    await telegram.say(MANAGER, f"/start {code}")
    refused = await telegram.press_data(MANAGER, menu.message_id, "ex:2026:xlsx:-:-", forged=True)
    assert "chỉ dành cho cán bộ Sở Công Thương" in texts(refused)
    await telegram.server.wait_idle()
    assert not [m for m in telegram.server.sent if m.document]
