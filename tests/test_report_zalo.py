"""The yearly report on Zalo, end to end through the loopback Zalo server, compared row for
row with the report the same answers store on Telegram."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from tests.conftest import FakeClock, invitation_for
from tests.support.report_script import FULL_REPORT, SUBMIT, stored_reports
from tests.support.telegram_harness import TelegramHarness
from tests.support.zalo_harness import ZaloHarness, texts

ON_TELEGRAM = 1001
ON_ZALO = "3f9b0c2d7e6a5b4c1d08"
# Where the Zalo bot stops: after the baseline year, before the first figure.
RESTART_AT = FULL_REPORT.index("2024") + 1


async def test_a_zalo_report_through_a_restart_and_a_repeated_delivery_stores_what_telegram_stores(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings, tmp_path: Path
) -> None:
    await telegram.say(
        ON_TELEGRAM, f"/start {await invitation_for(telegram.bot, 'DEMO01', clock())}"
    )
    for step in (*FULL_REPORT, SUBMIT):
        await telegram.say(ON_TELEGRAM, step)

    zalo_settings = settings.model_copy(update={"db_path": tmp_path / "zalo.db"})
    async with ZaloHarness.started(zalo_settings, clock) as zalo:
        await zalo.say(ON_ZALO, await invitation_for(zalo.bot, "DEMO01", clock()))
        for step in FULL_REPORT[:RESTART_AT]:
            await zalo.say(ON_ZALO, step)
        await zalo.restart()
        # Zalo hands the last message out again after the restart: nothing changes.
        assert await zalo.deliver_again(ON_ZALO, zalo.server.latest_from(ON_ZALO)) == []
        question = texts(await zalo.say(ON_ZALO, FULL_REPORT[RESTART_AT]))
        assert "Điện năng tiêu thụ cho một tấn sản phẩm năm 2026 (kWh)?" in question
        for step in FULL_REPORT[RESTART_AT + 1 :]:
            summary = texts(await zalo.say(ON_ZALO, step))
        assert "• Sản lượng bánh phở tươi năm 2026 (tính bằng tấn)?\n   → 1.250,5" in summary
        assert "→ 150.000.000\u00a0₫" in summary
        assert summary.endswith("  1. Gửi\n  2. Sửa câu trả lời")
        receipt = texts(await zalo.say(ON_ZALO, SUBMIT))
        assert "Đã nhận báo cáo năm 2026 của Cơ sở sản xuất bún phở Mẫu Tam Thanh" in receipt
        assert "Mã biên nhận: LS-2026-000001" in receipt

    on_telegram = stored_reports(settings.db_path)
    assert all(on_telegram.values()), on_telegram
    assert stored_reports(zalo_settings.db_path) == on_telegram
