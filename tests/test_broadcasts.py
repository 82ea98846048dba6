"""Announcements, /stats and the staff summary's recipients on a real SQLite file: access
refused for every wrong role on every new command and button, each announcement sent once
even when the process dies in the middle of the fan-out, opt-outs, commune staff kept to
their commune."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field

import pytest

from bot.access import Role
from bot.app import Bot, build
from bot.broadcasts import confirm, send_pending
from bot.messages import Inbound, Outbound
from bot.outbox import Post
from bot.reminder_service import staff_recipients
from bot.settings import Settings
from tests.conftest import FakeClock, invitation_for
from tests.support.staffing import linked_manager, make_staff, press, set_report
from tests.test_onboarding import Chat

TAM_THANH = "05986"
CHI_LANG = "06463"
REFUSAL = "chỉ dành cho cán bộ Sở Công Thương"
OUTSIDE = "Anh/chị chỉ được xem các cơ sở của phường Tam Thanh"
NEW_COMMANDS = ["/stats", "/stats 2026 Chi Lăng", "/broadcast", "/broadcast Chi Lăng C23"]
NEW_BUTTONS = ["sx:c:2026:-:-", "sx:s:2026:06463:-", "bc:ok:1", "bc:no:1"]


class ProcessDied(BaseException):
    """The process stops in the middle of a send (not an error the outbox may catch).

    A message that went out but was not yet marked when a process dies is sent again after
    the lease: the claim makes the window one send wide, it cannot close it."""


@dataclass
class RecordingSender:
    """Stands in for the Telegram channel at the network edge."""

    dies_after: int | None = None
    sent: list[Outbound] = field(default_factory=list)

    async def send(self, outbound: Outbound) -> bool:
        if self.dies_after is not None and len(self.sent) >= self.dies_after:
            # The sends before were marked; this one, claimed, dies unsent.
            await asyncio.sleep(0.05)
            raise ProcessDied
        self.sent.append(outbound)
        return True


async def telegram_manager(bot: Bot, clock: FakeClock, user: int, facility: str) -> None:
    code = await invitation_for(bot, facility, clock())
    await bot.dispatcher.handle(Inbound("telegram", str(user), str(user), "text", text=code))


def table(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(settings.db_path) as connection:
        return connection.execute(sql).fetchall()


@pytest.mark.parametrize("command", NEW_COMMANDS)
@pytest.mark.parametrize("who", ["unlinked", "manager"])
async def test_non_staff_are_refused_every_new_staff_command(
    bot: Bot, clock: FakeClock, who: str, command: str
) -> None:
    chat = await linked_manager(bot, "DEMO01", who, clock()) if who == "manager" else Chat(bot, who)
    replies = await chat.channel.send(command)
    assert len(replies) == 1 and not replies[0].buttons and replies[0].attachment is None
    assert REFUSAL in replies[0].text and "Chỉ tiêu" not in replies[0].text
    assert table(bot.settings, "SELECT * FROM broadcasts") == []


@pytest.mark.parametrize("data", NEW_BUTTONS)
@pytest.mark.parametrize("who", ["unlinked", "manager"])
async def test_non_staff_are_refused_every_new_staff_button(
    bot: Bot, clock: FakeClock, who: str, data: str
) -> None:
    if who == "manager":
        await linked_manager(bot, "DEMO01", who, clock())
    [reply] = await press(bot, who, data)
    assert REFUSAL in reply.text and not reply.buttons


async def test_a_commune_officer_sees_and_announces_to_their_commune_only(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    await make_staff(bot, "console:officer", Role.COMMUNE, TAM_THANH)
    officer = Chat(bot, "officer")
    own = await officer.say("/stats")
    assert "Chỉ tiêu SXSH năm 2026 — phường Tam Thanh" in own
    assert "Cơ sở trong danh sách: 2" in own
    for outside in ("/stats Chi Lăng", "/broadcast Chi Lăng"):
        assert (await officer.say(outside)).startswith(OUTSIDE)
    [reply] = await press(bot, "officer", "sx:c:2026:06463:-")  # a forged button
    assert reply.text.startswith(OUTSIDE)
    by_commune = "\n".join(r.text for r in await press(bot, "officer", "sx:c:2026:-:-"))
    assert "phường Tam Thanh" in by_commune and "Chi Lăng" not in by_commune
    assert "Hãy viết nội dung thông báo" in await officer.say("/broadcast")
    assert table(settings, "SELECT commune_code, status FROM broadcasts") == [
        (TAM_THANH, "composing")
    ]


async def test_only_the_author_can_confirm_and_a_revoked_author_cannot(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    await make_staff(bot, "console:writer", Role.PROVINCE)
    await make_staff(bot, "console:other", Role.PROVINCE)
    await telegram_manager(bot, clock, 1001, "DEMO01")
    writer = Chat(bot, "writer")
    await writer.say("/broadcast")
    preview = await writer.say("Tập huấn SXSH ngày 18/12.")
    assert "1. Gửi cho 1 tài khoản chat" in preview and "2. Hủy" in preview
    [stale] = await press(bot, "other", "bc:ok:1")
    assert "không còn hiệu lực" in stale.text
    async with bot.database.transaction() as store:
        await store.staff.revoke("console", "writer")
    [refused] = await press(bot, "writer", "bc:ok:1")
    assert REFUSAL in refused.text
    assert table(settings, "SELECT status FROM broadcasts") == [("preview",)]
    assert table(settings, "SELECT * FROM broadcast_deliveries") == []


async def test_an_empty_or_too_long_text_is_refused_and_cancel_leaves_nothing_to_send(
    bot: Bot, settings: Settings
) -> None:
    await make_staff(bot, "console:writer", Role.PROVINCE)
    writer = Chat(bot, "writer")
    await writer.say("/broadcast")
    assert "quá dài" in await writer.say("x" * 3501)
    assert table(settings, "SELECT status FROM broadcasts") == [("composing",)]
    assert "Đã hủy" in await writer.say("/broadcast huỷ")
    assert table(settings, "SELECT status FROM broadcasts") == [("cancelled",)]
    # With no announcement being written, text goes to the other handlers again.
    assert "Hãy viết nội dung" not in await writer.say("Xin chào")


async def test_the_fan_out_sends_each_once_across_a_crash_in_the_middle(
    settings: Settings, clock: FakeClock
) -> None:
    bot = await build(settings, clock)
    from bot.app import import_register, sample_register_path

    await import_register(bot.database, sample_register_path(), clock())
    users = list(range(2001, 2009))
    for index, user in enumerate(users, start=1):
        await telegram_manager(bot, clock, user, f"DEMO{index:02d}")
    await bot.dispatcher.handle(
        Inbound("telegram", "2008", "2008", "text", text="/announcements off")
    )
    async with bot.database.transaction() as store:
        number = await store.broadcasts.create(
            "cli:test", None, None, None, None, "preview", clock(), "Hội thảo SXSH 20/12"
        )
        broadcast = await store.broadcasts.get(number)
        assert broadcast is not None
        recipients = await confirm(store, broadcast, "cli:test", "cli", clock())
    assert recipients is not None and len(recipients) == 7  # 2008 turned them off

    dying = RecordingSender(dies_after=3)
    bot.senders["telegram"] = dying
    with pytest.raises(ProcessDied):
        await send_pending(Post(bot.database, bot.senders), settings, clock)
    await asyncio.sleep(0.2)  # the other sends in flight die too
    await bot.close()

    bot = await build(settings, clock)  # the restarted process
    fresh = RecordingSender()
    bot.senders["telegram"] = fresh
    [report] = await send_pending(Post(bot.database, bot.senders), settings, clock)
    assert not report.settled  # the messages claimed when the process died are in flight
    clock.advance(minutes=16)  # their claims' lease ran out: those were never sent
    [report] = await send_pending(Post(bot.database, bot.senders), settings, clock)
    await bot.close()
    delivered = sorted(int(m.chat_id) for m in [*dying.sent, *fresh.sent])
    assert delivered == users[:7]  # every recipient once, nobody twice
    assert (report.sent, report.failed, report.unreachable, report.settled) == (7, 0, 0, True)
    assert table(settings, "SELECT COUNT(*) FROM broadcasts WHERE finished_at IS NULL") == [(0,)]


async def test_the_deadline_summary_goes_to_staff_by_role_and_commune(
    bot: Bot, settings: Settings
) -> None:
    settings.admin_ids = [9001]
    await make_staff(bot, "telegram:9002", Role.PROVINCE)
    await make_staff(bot, "telegram:9003", Role.COMMUNE, TAM_THANH)
    await make_staff(bot, "telegram:9004", Role.ADMIN)
    await make_staff(bot, "zalo:9005", Role.COMMUNE, CHI_LANG)  # never wrote to the bot
    for user in ("9001", "9002", "9003", "9004"):
        await bot.dispatcher.handle(Inbound("telegram", user, user, "text", text="/myid"))
    async with bot.database.snapshot() as store:
        found = await staff_recipients(store, settings)
    assert [(user.external_id, commune) for user, commune in found] == [
        ("9001", None),
        ("9002", None),
        ("9003", TAM_THANH),
        ("9004", None),
    ]


async def test_the_facility_card_says_whether_the_report_came_late(
    bot: Bot, clock: FakeClock
) -> None:
    await make_staff(bot, "console:officer", Role.COMMUNE, TAM_THANH)
    clock.advance(days=14)  # 15 December, 09:00
    await set_report(bot, "DEMO01", 2026, "submitted")
    card = await Chat(bot, "officer").say("/facility DEMO01")
    assert "Báo cáo năm 2026: đã gửi, muộn (gửi lần đầu 15/12/2026 09:00, biên nhận" in card


async def test_commune_staff_get_the_summary_of_their_commune_after_the_deadline(
    bot: Bot, settings: Settings, clock: FakeClock
) -> None:
    from bot.reminder_messages import digest_text
    from bot.reminder_service import CHAT_APPS, plan_now

    await make_staff(bot, "telegram:9003", Role.COMMUNE, TAM_THANH)
    await make_staff(bot, "telegram:9002", Role.PROVINCE)
    for user in ("9002", "9003"):
        await bot.dispatcher.handle(Inbound("telegram", user, user, "text", text="/myid"))
    clock.advance(days=14)  # 15 December, 09:00: the morning after the last day
    plan = await plan_now(bot, clock(), CHAT_APPS)
    decisions = {d.user.external_id: plan.digest_for(d) for d in plan.staff}
    province, commune = decisions["9002"], decisions["9003"]
    assert province is not None and commune is not None
    assert (province.facilities, commune.facilities) == (40, 2)
    text = digest_text("vi", commune)
    assert text.startswith("Phường Tam Thanh") and "DEMO01" in text and "DEMO02" not in text
