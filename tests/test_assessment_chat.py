"""/assess and /adviser in chat, through the console channel on a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable

import pytest

from bot.app import Bot, build, import_register, sample_register_path
from bot.cli import main
from bot.messages import Outbound
from bot.settings import Settings
from tests.conftest import FakeClock
from tests.test_guidance_chat import Manager, data_of, linked, shown

RESULT_HEADING = "Kết quả tự đánh giá nhanh SXSH"


def rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(settings.db_path) as connection:
        return connection.execute(sql).fetchall()


async def answer_all(
    manager: Manager, choose: Callable[[str], str] = lambda question: "1"
) -> list[Outbound]:
    """Answer every question as `choose` says (by number), submit, return the result."""
    replies = await manager.say("/assess")
    for _ in range(60):
        text = shown(replies)
        if RESULT_HEADING in text:
            return replies
        last = replies[-1].text
        replies = await manager.say("1" if "Gõ 1 để gửi" in last else choose(last))
    raise AssertionError("the assessment did not end")


async def test_an_unlinked_user_is_asked_for_an_invitation_code_first(bot: Bot) -> None:
    assert "chưa được liên kết" in shown(await Manager(bot, "visitor").say("/assess"))


async def test_the_assessment_asks_what_the_facility_uses_and_then_about_its_sector(
    bot: Bot,
) -> None:
    manager = await linked(bot, "DEMO04")  # a tunnel-kiln brickworks
    replies = await manager.say("/assess")
    assert "khoảng 30 câu, chừng 10 phút" in replies[0].text
    assert "(1/" in replies[-1].text and "lò hơi, lò nung" in replies[-1].text
    seen: list[str] = []
    for answer in ("1", "2", "1") + ("1",) * 40:
        last = replies[-1].text
        if "Gõ 1 để gửi" in last:
            break
        seen.append(last)
        replies = await manager.say(answer)
    asked = "\n".join(seen)
    assert "Lò nung có được kiểm tra, bịt kín" in asked  # kilns: for cement and bricks
    assert "Trạm nghiền, sàng" not in asked  # dust at crushers: for quarries only
    assert "Bẫy hơi" not in asked  # no steam used
    assert 20 <= len(seen) <= 35
    assert "(1/" in seen[0] and f"/{len(seen)})" in seen[-1]


async def test_typing_khong_biet_answers_dont_know_instead_of_skipping(
    bot: Bot, settings: Settings
) -> None:
    manager = await linked(bot, "DEMO01")
    await manager.say("/assess")
    for answer in ("có", "không", "không"):  # heat yes, steam no, compressed air no
        await manager.say(answer)
    reply = shown(await manager.say("không biết"))
    assert "(5/" in reply
    answers = dict(rows(settings, "SELECT name, value FROM draft_answers"))
    assert answers["hk_weigh_materials"] == '"dont_know"'
    await manager.say("Mot phan")
    assert dict(rows(settings, "SELECT name, value FROM draft_answers"))["hk_storage"] == (
        '"partly"'
    )


async def test_leaving_and_coming_back_continues_the_same_assessment(
    bot: Bot, settings: Settings
) -> None:
    manager = await linked(bot, "DEMO01")
    await manager.say("/assess")
    for answer in ("1", "2", "2", "1"):
        await manager.say(answer)
    assert "/assess" in shown(await manager.say("/cancel"))
    assert "Hướng dẫn phù hợp nhất" in shown(await manager.say("lò hơi"))
    # A colleague at the same facility picks it up where it was.
    colleague = await linked(bot, "DEMO01", user="colleague")
    assert "(5/" in shown(await colleague.say("/assess"))
    assert rows(settings, "SELECT COUNT(*) FROM drafts WHERE form_id = 'self_assessment'") == [(1,)]


async def test_a_finished_assessment_is_scored_stored_and_explained(
    bot: Bot, settings: Settings
) -> None:
    manager = await linked(bot, "DEMO25")  # cassava starch
    replies = await answer_all(manager, mostly_no)
    scores, opportunities = replies[-2].text, replies[-1]
    assert "Tổng điểm: 0/100 (mới bắt đầu) — cơ sở đã làm đầy đủ 0 trong số" in scores
    assert "• Quản lý nội vi: 0/100 (mới bắt đầu) — đã làm 0/" in scores
    assert scores.count("• ") == 8
    text = render(opportunities)
    assert "Làm ngay (chi phí thấp, nhanh):" in text
    assert "Nghiên cứu thêm (cần chuyên gia hoặc vốn đầu tư):" in text
    assert "hiện nay: Không" in text
    assert "tips:n:cassava-starch-recovery" in data_of(opportunities) or any(
        data.startswith("tips:n:") for data in data_of(opportunities)
    )
    (stored,) = rows(
        settings, "SELECT overall, sector_code, scores, opportunities FROM assessment_results"
    )
    assert stored[0] == 0 and stored[1] == "C10"
    assert set(json.loads(str(stored[2])).values()) == {0}
    assert len(json.loads(str(stored[3]))) == 5
    assert rows(settings, "SELECT status FROM drafts WHERE form_id = 'self_assessment'") == [
        ("submitted",)
    ]


def mostly_no(question: str) -> str:
    """Uses heat, steam and compressed air; no practice in place."""
    return "1" if "Cơ sở có dùng" in question else "3"


def render(reply: Outbound) -> str:
    return shown([reply])


async def test_every_practice_in_place_points_to_a_detailed_assessment(bot: Bot) -> None:
    manager = await linked(bot, "DEMO30")
    replies = await answer_all(manager)
    assert "Tổng điểm: 100/100 (tốt)" in replies[-2].text
    assert "Bước tiếp theo là đánh giá SXSH chi tiết" in replies[-1].text
    assert "tips:n:detailed-assessment-6-steps" in data_of(replies[-1])


async def test_doing_it_again_shows_what_changed_since_last_time(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    manager = await linked(bot, "DEMO30")

    def no_leaks_fixed(question: str) -> str:
        return "3" if "Rò rỉ khí nén" in question else "1"

    await answer_all(manager, no_leaks_fixed)
    clock.advance(days=120)
    offer = (await manager.say("/assess"))[-1]
    assert "Lần tự đánh giá gần nhất (ngày 01/12/2026)" in offer.text
    assert data_of(offer) == ["cmd:assess:new", "cmd:assess:last"]
    assert RESULT_HEADING in shown(await manager.press("cmd:assess:last"))

    def nothing_measured(question: str) -> str:
        return "4" if "công tơ" in question else "1"

    await manager.press("cmd:assess:new")
    replies = await answer_all(manager, nothing_measured)
    text = shown(replies)
    assert "So với lần tự đánh giá trước (01/12/2026):" in text
    assert "Thay đổi so với lần tự đánh giá ngày 01/12/2026:" in text
    assert "Đã tiến bộ: Sửa rò rỉ khí nén, giảm áp suất đặt" in text
    assert "Kém hơn trước: Công tơ riêng cho các hộ tiêu thụ lớn" in text
    assert "▲" in text and "▼" in text
    dates = rows(settings, "SELECT completed_at FROM assessment_results ORDER BY id")
    assert len(dates) == 2 and dates[0] != dates[1]


async def test_asking_for_an_adviser_is_recorded_once_for_the_department(
    bot: Bot, settings: Settings
) -> None:
    manager = await linked(bot, "DEMO30")
    replies = await answer_all(manager, mostly_no)
    reply = shown(await manager.tap(replies[-1], "Đề nghị chuyên gia tư vấn"))
    assert "Đã ghi nhận" in reply and "0900000030" in reply
    assert "đã được chuyển đến Sở" in shown(await manager.say("/adviser"))
    (request,) = rows(settings, "SELECT phone, assessment_id, handled_at FROM adviser_requests")
    assert request == ("0900000030", 1, None)


def with_a_bot(
    settings: Settings,
    clock: FakeClock,
    manager_of: Callable[[Bot], Awaitable[Manager]],
    *texts: str,
) -> None:
    """Outside an event loop (as the command line runs): a bot, a manager, some texts."""

    async def run() -> None:
        bot = await build(settings, clock)
        try:
            await import_register(bot.database, sample_register_path(), clock())
            manager = await manager_of(bot)
            for text in texts:
                await manager.say(text)
        finally:
            await bot.close()

    asyncio.run(run())


def test_department_staff_list_adviser_requests_and_mark_them_handled(
    settings: Settings,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with_a_bot(settings, clock, lambda bot: linked(bot, "DEMO30"), "/adviser")
    monkeypatch.setenv("SXSH_DB_PATH", str(settings.db_path))
    monkeypatch.chdir(settings.db_path.parent)  # no stray .env is read
    assert main(["adviser-requests"]) == 0
    listing = capsys.readouterr().out
    assert "DEMO30" in listing and "0900000030" in listing and "01/12/2026 09:00" in listing
    assert "1 yêu cầu đang chờ xử lý" in listing
    assert main(["adviser-requests", "--done", "1"]) == 0
    assert main(["adviser-requests", "--done", "1"]) == 2
    assert "không có yêu cầu tư vấn số 1" in capsys.readouterr().err
    assert main(["adviser-requests"]) == 0
    assert "0 yêu cầu đang chờ xử lý" in capsys.readouterr().out


def test_advisers_see_the_questions_the_library_could_not_answer(
    settings: Settings,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hydropower = "DEMO13"
    questions = ("vệ sinh lưới chắn rác thủy điện", "Khi nào được nghỉ Tết?")
    with_a_bot(settings, clock, lambda bot: linked(bot, hydropower), *questions)
    monkeypatch.setenv("SXSH_DB_PATH", str(settings.db_path))
    monkeypatch.chdir(settings.db_path.parent)
    assert main(["unanswered-questions"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "01/12/2026 09:00\tD35\tKhi nào được nghỉ Tết?",
        "1 câu hỏi chưa tìm được hướng dẫn",
    ]


async def test_an_adviser_request_without_a_phone_number_points_to_the_profile(
    bot: Bot, settings: Settings
) -> None:
    manager = await linked(bot, "DEMO21")  # no phone in the register
    assert "gửi /profile để bổ sung" in shown(await manager.say("/adviser"))
    assert rows(settings, "SELECT facility_id, assessment_id, phone FROM adviser_requests") == [
        (21, None, None)
    ]
