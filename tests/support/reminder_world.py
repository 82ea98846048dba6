"""Setting up the world reminder tests need: linked chat users on Telegram or Zalo, report
drafts in each state, a small stand-in for the yearly report form (4 questions, so counts
stay readable), and finding the reminders among what a platform carried."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import Bot
from bot.clock import VIETNAM
from bot.storage.users import ChatUser
from flows.model import FormRegistry, load_form
from tests.support.botapi_server import BotApiServer, SentMessage
from tests.support.zalo_server import ZaloApiServer, ZaloSent

STAND_IN_REPORT = (
    Path(__file__).parent.parent / "fixtures" / "reminder_forms" / "annual_report.yaml"
)
# 8 December 2026, 09:00 in Vietnam: the 7-day reminder is due.
SEVEN_DAYS_LEFT = datetime(2026, 12, 8, 9, 0, tzinfo=VIETNAM).astimezone(UTC)
REPORT_BUTTON = "cmd:report"
FACILITIES = [f"DEMO{n:02d}" for n in range(1, 9)]
# The report button as a line to type on Zalo, in either language.
REPORT_LINE = re.compile(
    r"^  1\. (Bắt đầu làm báo cáo|Tiếp tục làm báo cáo|Start the report|Continue the report)$",
    re.MULTILINE,
)


def stand_in_forms() -> FormRegistry:
    """The built-in forms plus the stand-in `annual_report` (4 questions, 2 relevant
    until the first is answered yes)."""
    forms = {form.id: form for form in FormRegistry.builtin().all()}
    report = load_form(STAND_IN_REPORT)
    forms[report.id] = report
    return FormRegistry(forms)


async def link_user(
    bot: Bot,
    external_id: int | str,
    facility_code: str,
    now: datetime,
    *,
    language: str = "vi",
    name: str | None = None,
    channel: str = "telegram",
) -> ChatUser:
    """A chat user linked to a facility, as if they had redeemed an invitation."""
    async with bot.database.transaction() as store:
        facility = await store.facilities.by_code(facility_code)
        assert facility is not None, facility_code
        user = await store.users.get_or_create(
            channel, str(external_id), str(external_id), name or f"User {external_id}", now
        )
        await store.users.link(user.id, facility.id, now)
        await store.users.set_language(user.id, language)
        linked = await store.users.by_id(user.id)
    assert linked is not None
    return linked


async def managers_of_facilities(
    bot: Bot,
    server: BotApiServer | ZaloApiServer,
    chats: list[Any],
    *,
    channel: str = "telegram",
    language: str = "vi",
) -> list[Any]:
    """A manager in each chat, linked to DEMO01, DEMO02, … in turn, none with a report,
    each known to the platform as someone who wrote to the bot."""
    for chat, code in zip(chats, FACILITIES, strict=False):
        now = bot.dispatcher.clock()
        await link_user(bot, chat, code, now, channel=channel, language=language)
    register_chats(server, *chats)
    return chats


def delivery_statuses(db_path: Path) -> Counter[str]:
    """How many stored reminder deliveries are in each state ("sent", "failed", …)."""
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute("SELECT status FROM reminder_deliveries").fetchall()
    return Counter(status for (status,) in rows)


async def save_report(
    bot: Bot,
    facility_code: str,
    year: int,
    now: datetime,
    answers: dict[str, object] | None = None,
    *,
    submitted: bool = False,
) -> None:
    """The facility's yearly report draft, as the report form (issue #3) stores it."""
    async with bot.database.transaction() as store:
        facility = await store.facilities.by_code(facility_code)
        assert facility is not None, facility_code
        draft = await store.drafts.open(facility.id, "annual_report", str(year), 1, now)
        await store.drafts.apply(draft.id, answers or {}, None, now)
        if submitted:
            await store.drafts.set_status(draft.id, "submitted", now)


def register_chats(server: BotApiServer | ZaloApiServer, *chat_ids: Any) -> None:
    """Telegram and Zalo know a private chat once its user has written to the bot."""
    for chat_id in chat_ids:
        server.register_chat(chat_id)


def reminders_in(messages: list[SentMessage]) -> list[SentMessage]:
    """The reminders among messages the bot sent (they carry the report button)."""
    return [
        m
        for m in messages
        if any(b.get("callback_data") == REPORT_BUTTON for b in m.buttons) and not m.is_edit
    ]


def reminders_to(server: BotApiServer, chat_id: int) -> list[SentMessage]:
    return reminders_in(server.messages_to(chat_id))


def zalo_reminders_to(server: ZaloApiServer, chat_id: str) -> list[ZaloSent]:
    """The reminders Zalo carried to a chat (Zalo has no buttons: they end with the line
    to type instead, "1. Start the report")."""
    return [
        message
        for message in server.messages_to(chat_id)
        if REPORT_LINE.search(message.text or "") and "/reminders off" in (message.text or "")
    ]


def reminders_sent(server: BotApiServer | ZaloApiServer, chat_id: Any) -> list[Any]:
    """The reminders a chat received, on either platform."""
    if isinstance(server, ZaloApiServer):
        return zalo_reminders_to(server, chat_id)
    return reminders_to(server, chat_id)
