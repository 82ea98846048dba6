"""The self-assessment and the guidance end to end on Telegram: the real
python-telegram-bot Application against the loopback Bot API server, which refuses any
request Telegram would refuse (button data over 64 bytes, say)."""

from __future__ import annotations

import sqlite3

from bot.settings import Settings
from tests.conftest import FakeClock, invitation_for
from tests.support.botapi_server import SentMessage
from tests.support.telegram_harness import TelegramHarness, texts

MANAGER = 4004


def scalar(settings: Settings, sql: str) -> object:
    with sqlite3.connect(settings.db_path) as connection:
        return connection.execute(sql).fetchone()[0]


def choose(question: str) -> str:
    """A cement plant that uses heat and compressed air, no steam, with some gaps."""
    if "hơi nước" in question:
        return "Không"
    if "Rò rỉ khí nén" in question or "Phối liệu" in question:
        return "Không"
    if "biến tần" in question or "công tơ" in question:
        return "Không biết"
    if "Lò nung" in question:
        return "Một phần"
    return "Có"


async def answer_by_tapping(telegram: TelegramHarness, first: SentMessage) -> list[str]:
    """Tap an answer to every question, then Submit; returns the questions asked."""
    asked: list[str] = []
    message = first
    for _ in range(40):
        text = message.plain_text or ""
        if "Gửi" in message.button_texts:
            replies = await telegram.press(MANAGER, message, "Gửi")
            return [*asked, texts(replies)]
        asked.append(text)
        replies = await telegram.press(MANAGER, message, choose(text))
        message = replies[-1]
    raise AssertionError("the assessment did not end")


async def test_a_cement_plant_assesses_itself_reads_its_guidance_and_asks_for_an_adviser(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    code = await invitation_for(telegram.bot, "DEMO02", clock())
    await telegram.say(MANAGER, f"/start {code}")
    replies = await telegram.say(MANAGER, "/assess")
    assert "Tự đánh giá nhanh sản xuất sạch hơn" in texts(replies)
    first = replies[-1]
    assert first.button_texts == ["Có", "Không"]

    *asked, result = await answer_by_tapping(telegram, first)
    questions = "\n".join(asked)
    assert "Lò nung có được kiểm tra, bịt kín" in questions
    assert "Trạm nghiền" not in questions and "Bẫy hơi" not in questions
    assert 20 <= len(asked) <= 35

    assert "Kết quả tự đánh giá nhanh SXSH của Công ty CP Xi măng Mẫu Núi Đá Xanh" in result
    assert "ngày 01/12/2026" in result
    overall = scalar(settings, "SELECT overall FROM assessment_results")
    assert f"Tổng điểm: {overall}/100" in result
    assert "• Thay đổi công nghệ:" in result and "• Cải tiến sản phẩm:" in result
    assert "Sửa rò rỉ khí nén, giảm áp suất đặt — hiện nay: Không" in result

    plan = telegram.server.messages_to(MANAGER)[-1]
    assert plan.button_texts[-1] == "Đề nghị chuyên gia tư vấn gọi cho tôi"
    guide = await telegram.press(MANAGER, plan, "Tìm và sửa rò rỉ khí nén")
    assert "Bước đầu tuần này:" in texts(guide)

    recorded = await telegram.press(MANAGER, plan, "Đề nghị chuyên gia tư vấn")
    assert "Đã ghi nhận" in texts(recorded) and "0900000002" in texts(recorded)
    assert scalar(settings, "SELECT COUNT(*) FROM adviser_requests") == 1


async def test_tips_and_free_questions_work_on_telegram_for_a_visitor(
    telegram: TelegramHarness,
) -> None:
    menu = (await telegram.say(5005, "/tips"))[-1]
    assert menu.button_texts[0] == "Theo kỹ thuật SXSH"
    techniques = (await telegram.press(5005, menu, "Theo kỹ thuật SXSH"))[-1]
    page = (await telegram.press(5005, techniques, "Cải tiến sản phẩm"))[-1]
    assert "Cải tiến sản phẩm: 8 hướng dẫn" in (page.plain_text or "")
    answer = (await telegram.say(5005, "tiet kiem dien may nen khi"))[-1]
    assert "Tìm và sửa rò rỉ khí nén" in answer.button_texts
    more = (await telegram.press(5005, answer, "Thêm kết quả ▶"))[-1]
    assert "Thêm kết quả cho “tiet kiem dien may nen khi” (4–6" in (more.plain_text or "")
