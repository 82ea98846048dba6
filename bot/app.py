"""Assembling the bot: database, forms, dispatcher and the feature modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Protocol

from bot import (
    assessment,
    broadcasts,
    first_contact,
    guidance,
    onboarding,
    reminder_service,
    report,
    staff,
    stats,
)
from bot.clock import Clock, system_clock
from bot.dispatcher import Dispatcher
from bot.formrun import FormRunner
from bot.messages import Outbound
from bot.register import Lang, describe_row_error, read_register
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.facilities import UpsertOutcome
from flows.model import FormRegistry

SAMPLE_REGISTER = "sample_facilities.csv"


class Sender(Protocol):
    """A channel that can deliver a reply outside a conversation (reminders, broadcasts)."""

    async def send(self, outbound: Outbound) -> bool:
        """Deliver it; False if the chat cannot be reached (it is then marked so)."""
        ...


@dataclass
class Bot:
    """Everything one running bot holds; channels drive `dispatcher`."""

    settings: Settings
    database: Database
    dispatcher: Dispatcher
    runner: FormRunner
    # Running channels by name ("telegram", "zalo"), for messages the bot starts itself.
    senders: dict[str, Sender] = field(default_factory=dict)
    guide: guidance.Guide | None = None

    async def close(self) -> None:
        await self.database.close()
        if self.guide is not None:
            self.guide.index.close()

    async def deliver(self, outbound: Outbound) -> bool:
        """Send through the running channel `outbound.channel`; False if none runs."""
        sender = self.senders.get(outbound.channel or "")
        return sender is not None and await sender.send(outbound)


async def build(
    settings: Settings, clock: Clock = system_clock, forms: FormRegistry | None = None
) -> Bot:
    """Open the database (applying migrations), load and check every form, install modules.

    `forms` replaces the built-in forms (tests use it to run stand-in forms).
    """
    forms = forms or FormRegistry.builtin()
    guide = guidance.Guide.load(settings)
    database = await Database.open(settings.db_path)
    dispatcher = Dispatcher(database, forms, settings, clock)
    runner = FormRunner(dispatcher)
    senders: dict[str, Sender] = {}
    try:
        onboarding.install(dispatcher, runner)
        report.install(dispatcher, runner)
        first_contact.install(dispatcher)
        # After first_contact: an unlinked person's greeting gets the welcome, a real
        # question gets an answer (guidance chains to the handler installed before it).
        guidance.install(dispatcher, runner, guide)
        assessment.install(dispatcher, runner, guide)
        reminder_service.install(dispatcher, runner)
        staff.install(dispatcher, runner, senders)
        stats.install(dispatcher, senders)
        broadcasts.install(dispatcher, senders)
    except BaseException:
        # A module refused its content (e.g. a scoring table): the bot does not start.
        await database.close()
        guide.index.close()
        raise
    bot = Bot(settings, database, dispatcher, runner, senders, guide=guide)
    dispatcher.deliver_elsewhere = bot.deliver
    return bot


def sample_register_path() -> str:
    return str(resources.files("bot.data") / SAMPLE_REGISTER)


async def import_register(
    database: Database, path: str, now: datetime, lang: Lang = "vi"
) -> tuple[dict[UpsertOutcome, int], list[str]]:
    """Upsert every good row of a register file; returns counts and the bad rows, described."""
    result = read_register(Path(path))
    counts = dict.fromkeys(UpsertOutcome, 0)
    async with database.transaction() as store:
        for record in result.records:
            counts[await store.facilities.upsert(record, now)] += 1
    return counts, [describe_row_error(error, lang) for error in result.errors]
