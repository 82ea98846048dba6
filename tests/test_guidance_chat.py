"""/tips and free questions in chat, driven through the console channel on a real file."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from bot import guidance
from bot.app import Bot, build, import_register, sample_register_path
from bot.channels.console import CONSOLE, render_plain
from bot.dispatcher import Dispatcher, Turn
from bot.formrun import FormRunner
from bot.guidance import Guide
from bot.messages import Inbound, Outbound
from bot.settings import Settings
from bot.storage.db import Database
from flows.model import FormRegistry
from knowledge.library import Library, builtin_folder
from tests.conftest import FakeClock, invitation_for


class Manager:
    """A console user; keeps every reply so that buttons can be pressed and checked."""

    def __init__(self, bot: Bot, user: str = "manager") -> None:
        self.bot = bot
        self.user = user
        self.seen: list[Outbound] = []

    async def say(self, text: str) -> list[Outbound]:
        return await self._handle(Inbound(CONSOLE, self.user, self.user, "text", text=text))

    async def press(self, data: str) -> list[Outbound]:
        inbound = Inbound(CONSOLE, self.user, self.user, "callback", callback_data=data)
        return await self._handle(inbound)

    async def tap(self, reply: Outbound, label_part: str) -> list[Outbound]:
        """Press the first button of `reply` whose label contains `label_part`."""
        button = next(b for row in reply.buttons for b in row if label_part in b.label)
        return await self.press(button.data)

    async def _handle(self, inbound: Inbound) -> list[Outbound]:
        replies = await self.bot.dispatcher.handle(inbound)
        self.seen.extend(replies)
        return replies


def shown(replies: list[Outbound]) -> str:
    return "\n".join(render_plain(reply) for reply in replies)


def data_of(reply: Outbound) -> list[str]:
    return [button.data for row in reply.buttons for button in row]


async def linked(bot: Bot, facility_code: str, user: str = "manager") -> Manager:
    """A manager linked to the facility who has no form open."""
    async with bot.database.transaction() as store:
        facility = await store.facilities.by_code(facility_code)
        assert facility is not None
        chat_user = await store.users.get_or_create(
            CONSOLE, user, user, None, bot.dispatcher.clock()
        )
        await store.users.link(chat_user.id, facility.id, bot.dispatcher.clock())
    return Manager(bot, user)


def bot_library(bot: Bot) -> Library:
    assert bot.guide is not None
    return bot.guide.library


def questions_asked(settings: Settings) -> list[tuple[str, str | None, int]]:
    with sqlite3.connect(settings.db_path) as connection:
        return connection.execute(
            "SELECT question, sector_code, found FROM guidance_questions ORDER BY id"
        ).fetchall()


async def test_tips_opens_a_menu_of_ways_to_browse_with_buttons_and_numbered_lines(
    bot: Bot,
) -> None:
    manager = await linked(bot, "DEMO01")
    (menu,) = await manager.say("/tips")
    text = render_plain(menu)
    assert "Hướng dẫn sản xuất sạch hơn" in text
    assert "1. Theo kỹ thuật SXSH" in text
    assert "2. Theo loại tài nguyên cần tiết kiệm" in text
    assert "3. Cho ngành của cơ sở: Sản xuất, chế biến thực phẩm" in text
    assert "4. Bắt đầu với SXSH" in text and "5. Đặt câu hỏi" in text
    assert "Không cần gõ dấu" in shown(await manager.say("5"))


async def test_browsing_by_technique_lists_guides_and_opens_one_with_its_first_step(
    bot: Bot,
) -> None:
    manager = await linked(bot, "DEMO01")
    await manager.say("/tips")
    techniques = (await manager.say("1"))[0]
    assert "8 kỹ thuật sản xuất sạch hơn" in techniques.text
    assert len([b for row in techniques.buttons for b in row if b.numbered]) == 8
    (page,) = await manager.tap(techniques, "Tạo sản phẩm phụ hữu ích")
    assert "Tạo sản phẩm phụ hữu ích:" in page.text and "(trang 1/" in page.text
    # The facility's own sector first: a rice-noodle maker sees food guidance on top.
    first = page.buttons[0][0]
    assert first.data == "tips:n:cassava-pulp-feed"
    (snippet,) = await manager.say("1")
    assert snippet.text.startswith("📘 Bã sắn thành thức ăn chăn nuôi")
    assert "Bước đầu tuần này:" in snippet.text and "💡" in snippet.text


async def test_browsing_by_resource_and_by_own_sector_pages_through_every_guide(
    bot: Bot,
) -> None:
    manager = await linked(bot, "DEMO02")  # a cement plant
    (page,) = await manager.press("tips:s:C23:0")
    assert page.text.startswith("Ngành Sản xuất sản phẩm từ khoáng phi kim loại khác:")
    assert all(data.startswith("tips:n:") for data in data_of(page)[:6])
    opened: set[str] = set()
    base, page_number = "tips:r:water", 0
    while True:
        (reply,) = await manager.press(f"{base}:{page_number}")
        opened.update(d for d in data_of(reply) if d.startswith("tips:n:"))
        if f"{base}:{page_number + 1}" not in data_of(reply):
            break
        page_number += 1
    assert len(opened) == len(bot_library(bot).with_resource("water"))


async def test_any_free_text_is_a_question_answered_with_the_best_three_and_more(
    bot: Bot, settings: Settings
) -> None:
    manager = await linked(bot, "DEMO01")
    (answer,) = await manager.say("nuoc thai bun")
    text = render_plain(answer)
    assert text.startswith("Hướng dẫn phù hợp nhất cho “nuoc thai bun”:")
    assert "1. Giảm và dùng lại nước ở cơ sở bún, bánh phở" in text
    snippets = [d for d in data_of(answer) if d.startswith("tips:n:")]
    assert len(snippets) == 3 and snippets[0] == "tips:n:rice-noodle-water-reuse"
    (more,) = await manager.tap(answer, "Thêm kết quả")
    assert "Thêm kết quả cho “nuoc thai bun” (4–6 trong số" in more.text
    assert not set(data_of(more)) & set(snippets)
    assert questions_asked(settings) == [
        ("nuoc thai bun", "C10", len(questions_asked(settings)) and questions_asked(settings)[0][2])
    ]
    assert questions_asked(settings)[0][2] > 6


async def test_a_question_with_no_answer_gets_suggestions_instead_of_silence(
    bot: Bot, settings: Settings
) -> None:
    manager = await linked(bot, "DEMO07")  # a quarry
    (reply,) = await manager.say("khi nào được nghỉ Tết?")
    assert "Chưa tìm thấy hướng dẫn nào cho “khi nào được nghỉ Tết?”" in reply.text
    suggested = [d for d in data_of(reply) if d.startswith("tips:n:")]
    assert len(suggested) == 3
    for data in suggested:  # guidance written for quarries
        snippet = bot_library(bot).get(data.removeprefix("tips:n:"))
        assert snippet is not None and "B08" in snippet.sectors
    assert "tips:tech" in data_of(reply)
    assert questions_asked(settings) == [("khi nào được nghỉ Tết?", "B08", 0)]


async def test_tips_with_words_searches_at_once_and_thanks_get_a_word_back(
    bot: Bot, settings: Settings
) -> None:
    manager = await linked(bot, "DEMO02")
    assert "Hướng dẫn phù hợp nhất cho “lò hơi”" in shown(await manager.say("/tips lò hơi"))
    assert "Rất vui được hỗ trợ" in shown(await manager.say("Cảm ơn!"))
    assert [row[0] for row in questions_asked(settings)] == ["lò hơi"]


async def test_an_unlinked_user_may_browse_by_sector_and_ask_questions(bot: Bot) -> None:
    visitor = Manager(bot, "visitor")
    (menu,) = await visitor.say("/tips")
    assert "3. Theo ngành sản xuất" in render_plain(menu)
    (sectors,) = await visitor.say("3")
    assert "tips:s:C23:0" in data_of(sectors) and "tips:s:C20:0" in data_of(sectors)
    (answer,) = await visitor.say("tiet kiem dien may nen khi")
    assert "tips:n:compressed-air-leaks" in data_of(answer)
    assert "Đề nghị chuyên gia" not in shown(await visitor.press("tips:n:compressed-air-leaks"))


@pytest.mark.parametrize(
    ("linked_to", "question"),
    [
        ("DEMO30", "compressed air"),  # 13 letters, like an invitation code
        ("DEMO25", "bien tan cho bom"),  # 13 letters too
        (None, "5S nhà xưởng"),  # letters and a digit, typed before linking
        (None, "lo hoi 2 tan ton than"),
    ],
)
async def test_questions_that_look_a_little_like_codes_are_still_questions(
    bot: Bot, settings: Settings, linked_to: str | None, question: str
) -> None:
    manager = await linked(bot, linked_to) if linked_to else Manager(bot, "visitor")
    reply = shown(await manager.say(question))
    assert "Mã mời" not in reply and "mã mời" not in reply
    assert questions_asked(settings)[0][0] == question


async def test_an_invitation_code_typed_as_text_links_the_chat_and_is_not_searched(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    code = await invitation_for(bot, "DEMO01", clock())
    reply = shown(await Manager(bot, "newcomer").say(code.lower()))
    assert "đã được liên kết" in reply
    assert questions_asked(settings) == []


async def test_text_inside_an_open_form_is_an_answer_not_a_question(
    bot: Bot, settings: Settings
) -> None:
    manager = await linked(bot, "DEMO01")
    await manager.say("/profile")
    reply = shown(await manager.say("nuoc thai bun"))
    assert "(2/7)" in reply
    assert questions_asked(settings) == []


async def test_english_readers_get_english_guidance_and_vietnamese_with_a_note_when_missing(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    folder = tmp_path / "guidance"
    shutil.copytree(builtin_folder(), folder)
    leaks = folder / "compressed-air-leaks.md"
    leaks.write_text(leaks.read_text(encoding="utf-8").split("<!-- en -->")[0], encoding="utf-8")
    settings.guidance_dir = folder
    bot = await build(settings, clock)
    try:
        await import_register(bot.database, sample_register_path(), clock())
        manager = await linked(bot, "DEMO30")
        await manager.say("/lang en")
        (answer,) = await manager.say("compressed air")
        assert answer.text.startswith("The best guidance for “compressed air”:")
        assert "Find and fix compressed air leaks" in answer.text
        (leaks_shown,) = await manager.press("tips:n:compressed-air-leaks")
        assert leaks_shown.text.startswith("📘 Find and fix compressed air leaks")
        assert "not written in English yet" in leaks_shown.text
        assert "Bước đầu tuần này:" in leaks_shown.text
        (lamps,) = await manager.press("tips:n:led-lighting")
        assert "First step this week:" in lamps.text and "not written in English" not in lamps.text
    finally:
        await bot.close()


async def test_stale_or_forged_tips_buttons_are_refused_politely(bot: Bot) -> None:
    manager = await linked(bot, "DEMO01")
    await manager.say("lò hơi")
    other = await linked(bot, "DEMO02", user="someone-else")
    for forged in (
        "tips:n:no-such-guide",
        "tips:t:tidying:0",
        "tips:t:good_housekeeping:99",
        "tips:r:water:-1",
        "tips:s:Z99:0",
        "tips:m:1:999",
        "tips:m:abc:3",
        "tips:zz",
    ):
        assert "không còn hiệu lực" in shown(await manager.press(forged)), forged
    # Another chat cannot page through someone else's question.
    assert "không còn hiệu lực" in shown(await other.press("tips:m:1:3"))


async def test_every_guidance_button_fits_telegrams_64_bytes(bot: Bot) -> None:
    manager = await linked(bot, "DEMO19")
    await manager.say("/tips")
    for data in ("tips:tech", "tips:res", "tips:sectors", "tips:p:0", "tips:s:C20:0"):
        await manager.press(data)
    for reply in list(manager.seen):
        for data in data_of(reply):
            if data.startswith(("tips:t:", "tips:r:")):
                await manager.press(data)
    await manager.say(
        "tinh dầu hồi tốn củi quá, làm sao giảm được chi phí nhiên liệu cho nồi chưng"
    )
    for reply in manager.seen:
        for data in data_of(reply):
            assert len(data.encode("utf-8")) <= 64, data
    assert any(d.startswith("tips:m:") for reply in manager.seen for d in data_of(reply))


async def test_a_welcome_for_unlinked_people_installed_earlier_keeps_their_small_talk(
    settings: Settings, clock: FakeClock
) -> None:
    database = await Database.open(settings.db_path)
    guide = Guide.load(settings)
    try:
        await import_register(database, sample_register_path(), clock())
        dispatcher = Dispatcher(database, FormRegistry.builtin(), settings, clock)

        async def welcome(turn: Turn, text: str) -> None:
            turn.reply("WELCOME")

        dispatcher.fallback_text = welcome
        guidance.install(dispatcher, FormRunner(dispatcher), guide)

        async def say(user: str, text: str) -> str:
            inbound = Inbound(CONSOLE, user, user, "text", text=text)
            return "\n".join(reply.text for reply in await dispatcher.handle(inbound))

        assert await say("visitor", "Xin chào") == "WELCOME"
        assert await say("visitor", "Khi nào được nghỉ Tết?") == "WELCOME"
        assert "Tìm và sửa rò rỉ khí nén" in await say("visitor", "rò rỉ khí nén")
        async with database.transaction() as store:
            facility = await store.facilities.by_code("DEMO01")
            user = await store.users.get_or_create(CONSOLE, "manager", "manager", None, clock())
            assert facility is not None
            await store.users.link(user.id, facility.id, clock())
        assert "Xin chào!" in await say("manager", "Xin chào")
        assert "Chưa tìm thấy hướng dẫn" in await say("manager", "Khi nào được nghỉ Tết?")
    finally:
        await database.close()
        guide.index.close()
