"""Sending deadline reminders: load the planner's inputs, then for each reminder due claim
its row, send it, mark it; the staff summary after the deadline; the `/reminders` command;
and the run at start-up and every few minutes through python-telegram-bot's JobQueue.

Every reminder is decided again, on fresh data, in the transaction that claims it: a
manager who submits during a long fan-out, or turns reminders off, is not written to.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.access import Role
from bot.dispatcher import Dispatcher, Turn, latest_menu
from bot.formrun import FormRunner
from bot.i18n import N_
from bot.messages import Button, Outbound
from bot.outbox import Finish, Post, Tally, claim_and_send, fan_out, fan_out_workers
from bot.reminder_messages import digest_text, reminder_message, show_day
from bot.reminders import (
    DIGEST,
    DeliveryKey,
    DeliveryStatus,
    FacilityReport,
    Recipient,
    Reminder,
    ReminderPlan,
    ReminderSchedule,
    StaffDecision,
    StaffDigest,
    Verdict,
    decide_digest,
    digest_year,
    plan_reminders,
    report_context,
    report_progress,
    staff_digest,
)
from bot.settings import Settings
from bot.storage.facilities import Facility
from bot.storage.store import Store
from bot.storage.users import ChatUser
from flows.model import FormRegistry
from flows.textmatch import fold

if TYPE_CHECKING:
    from telegram.ext import Application, Job

    from bot.app import Bot

log = logging.getLogger(__name__)

# The yearly report form (issue #3): a draft per facility with period = the year.
REPORT_FORM = "annual_report"
# SXSH_ADMIN_IDS are Telegram user ids.
ADMIN_CHANNEL = "telegram"
# Chat apps that can carry a reminder; the console is a local terminal, never reminded.
CHAT_APPS = frozenset({"telegram", "zalo"})
JOB_NAME = "deadline reminders"
OFF_WORDS = {"off", "tat", "stop", "no", "khong", "0"}
ON_WORDS = {"on", "bat", "start", "yes", "co", "1"}


@dataclass(frozen=True)
class FullPlan:
    """Everything a run would do now, with the reasons."""

    reminders: ReminderPlan
    digest: StaffDigest | None = None
    staff: tuple[StaffDecision, ...] = ()
    # Administrators (SXSH_ADMIN_IDS) who never wrote to the bot: it cannot write to them.
    staff_never_seen: tuple[int, ...] = ()
    # The summary of each commune whose staff get theirs (by commune code).
    commune_digests: dict[str, StaffDigest] = field(default_factory=dict)

    def digest_for(self, decision: StaffDecision) -> StaffDigest | None:
        if decision.commune_code is None:
            return self.digest
        return self.commune_digests.get(decision.commune_code)


@dataclass
class RunReport(Tally):
    digests: int = 0
    # Nothing is sent outside the sending window; the run stopped there.
    outside_window: bool = False


async def staff_recipients(store: Store, settings: Settings) -> list[tuple[ChatUser, str | None]]:
    """Who receives the Department's summary, and of which commune (None: the whole
    province): administrators (SXSH_ADMIN_IDS, Telegram user ids, and granted ones) and
    province staff get the province's list, commune staff their commune's. Only people
    who have written to the bot can be written to."""
    people: dict[tuple[str, str], str | None] = {
        (ADMIN_CHANNEL, str(admin)): None for admin in settings.admin_ids
    }
    for grant in await store.staff.all():
        commune = grant.commune_code if grant.role == Role.COMMUNE else None
        people.setdefault((grant.channel, grant.external_id), commune)
    found = []
    for (channel, external_id), commune in people.items():
        user = await store.users.by_external_id(channel, external_id)
        if user is not None:
            found.append((user, commune))
    return sorted(found, key=lambda pair: pair[0].id)


async def load_recipients(
    store: Store, forms: FormRegistry, year: int, user_id: int | None = None
) -> tuple[list[Recipient], list[FacilityReport]]:
    """Linked users (or one) with their facility's report for `year`; and every facility of
    the register with its report and how many users it has linked."""
    users = await store.reminders.linked_users(user_id)
    facilities: dict[int, Facility]
    if user_id is None:
        facilities = await store.reminders.facilities()
        stored = await store.reminders.reports(REPORT_FORM, str(year))
    else:
        facilities = {}
        for user, _opted_out in users:
            assert user.facility_id is not None
            facility = await store.facilities.by_id(user.facility_id)
            if facility is not None:
                facilities[facility.id] = facility
        if not facilities:
            return [], []
        stored = await store.reminders.reports(REPORT_FORM, str(year), next(iter(facilities)))
    form = forms.get(REPORT_FORM) if REPORT_FORM in forms else None
    progress = {}
    for facility in facilities.values():
        status, answers = stored.get(facility.id, (None, {}))
        context = report_context(form, year, facility.name) if form else {}
        progress[facility.id] = report_progress(form, status, answers, context)
    recipients = [
        Recipient(user, facilities[user.facility_id], progress[user.facility_id], opted_out)
        for user, opted_out in users
        if user.facility_id in facilities
    ]
    linked = Counter(recipient.facility.id for recipient in recipients)
    reports = [
        FacilityReport(facility, progress[facility.id], linked[facility.id])
        for facility in facilities.values()
    ]
    return recipients, reports


async def plan_now(bot: Bot, now: datetime, channels: Collection[str]) -> FullPlan:
    """What a run would do at `now` if `channels` can deliver. Sends nothing."""
    settings, forms = bot.settings, bot.dispatcher.forms
    schedule = ReminderSchedule.from_settings(settings)
    year = schedule.report_year(now)
    async with bot.database.snapshot() as store:
        recipients, _reports = await load_recipients(store, forms, year)
        reminders = plan_reminders(
            now, schedule, recipients, await store.reminders.deliveries(year), channels
        )
        summary_year = digest_year(now, schedule)
        if summary_year is None:
            return FullPlan(reminders)
        then_recipients, then_reports = await load_recipients(store, forms, summary_year)
        digest = staff_digest(summary_year, schedule, then_reports, then_recipients)
        staff = await staff_recipients(store, settings)
        delivered = await store.reminders.deliveries(summary_year)
    decisions = tuple(
        replace(decide_digest(user, summary_year, now, delivered, channels), commune_code=commune)
        for user, commune in staff
    )
    by_commune = {
        commune: staff_digest(
            summary_year,
            schedule,
            [r for r in then_reports if r.facility.commune_code == commune],
            [r for r in then_recipients if r.facility.commune_code == commune],
            commune_code=commune,
        )
        for _user, commune in staff
        if commune is not None
    }
    known = {user.external_id for user, _ in staff if user.channel == ADMIN_CHANNEL}
    never_seen = tuple(admin for admin in settings.admin_ids if str(admin) not in known)
    return FullPlan(reminders, digest, decisions, never_seen, by_commune)


async def run_reminders(bot: Bot, *, workers: int | None = None) -> RunReport:
    """Send what is due now through the running channels (`bot.senders`)."""
    report = RunReport()
    schedule = ReminderSchedule.from_settings(bot.settings)
    now = bot.dispatcher.clock()
    if not schedule.in_window(now):
        report.outside_window = True
        return report
    plan = await plan_now(bot, now, frozenset(bot.senders))

    async def send(reminder: Reminder) -> None:
        await _send_reminder(bot, reminder, report)

    await fan_out(plan.reminders.due, send, workers or fan_out_workers(bot.settings.send_rate))
    for decision in plan.staff:
        digest = plan.digest_for(decision)
        if digest is not None and decision.verdict is Verdict.DUE:
            await _send_digest(bot, decision.user, digest, report)
    if report.sent or report.failed or report.unreachable or report.skipped:
        log.info(
            "reminders: %d sent, %d failed, %d unreachable, %d skipped, %d staff summaries",
            report.sent,
            report.failed,
            report.unreachable,
            report.skipped,
            report.digests,
        )
    return report


async def _send_reminder(bot: Bot, planned: Reminder, report: RunReport) -> None:
    schedule = ReminderSchedule.from_settings(bot.settings)
    channels = frozenset(bot.senders)
    now = bot.dispatcher.clock()
    key = planned.key
    shown: Outbound | None = None

    async def claim(store: Store) -> tuple[ChatUser, Outbound] | None:
        nonlocal key, shown
        recipients, _ = await load_recipients(
            store, bot.dispatcher.forms, planned.year, planned.recipient.user_id
        )
        deliveries = await store.reminders.deliveries(planned.year, planned.recipient.user_id)
        fresh = plan_reminders(now, schedule, recipients, deliveries, channels).due
        if not fresh:
            return None
        reminder = fresh[0]
        key = reminder.key
        await store.reminders.claim(key, now)
        shown = reminder_message(reminder)
        return reminder.recipient.user, shown

    report.count(
        await claim_and_send(
            Post(bot.database, bot.senders), claim, _finisher(bot, lambda: key, lambda: shown)
        )
    )


async def _send_digest(bot: Bot, user: ChatUser, digest: StaffDigest, report: RunReport) -> None:
    key: DeliveryKey = (user.id, digest.year, DIGEST)
    now = bot.dispatcher.clock()

    async def claim(store: Store) -> tuple[ChatUser, Outbound] | None:
        current = await store.users.by_id(user.id)
        deliveries = await store.reminders.deliveries(digest.year, user.id)
        if current is None or (
            decide_digest(current, digest.year, now, deliveries, frozenset(bot.senders)).verdict
            is not Verdict.DUE
        ):
            return None
        await store.reminders.claim(key, now)
        return current, Outbound(current.chat_id, digest_text(current.language, digest))

    status = await claim_and_send(
        Post(bot.database, bot.senders), claim, _finisher(bot, lambda: key)
    )
    if status is DeliveryStatus.SENT:
        report.digests += 1
    else:
        report.count(status)


def _finisher(
    bot: Bot,
    key: Callable[[], DeliveryKey],
    shown: Callable[[], Outbound | None] = lambda: None,
) -> Finish:
    async def finish(store: Store, status: DeliveryStatus) -> None:
        now = bot.dispatcher.clock()
        await store.reminders.finish(key(), status, now)
        message = shown()
        if message is not None and status is DeliveryStatus.SENT:
            # The reminder is now the chat's latest message: a typed "1" (or its words)
            # stands for its button, as after any menu.
            session = await store.sessions.get(key()[0])
            session.menu = latest_menu([message])
            await store.sessions.save(session, now)

    return finish


def _reminder_job(bot: Bot) -> Callable[[object], Coroutine[Any, Any, None]]:
    async def run_job(context: object = None) -> None:
        # The announcements module builds on this one, hence the late import.
        from bot.broadcasts import send_pending

        try:
            await run_reminders(bot)
        except Exception:
            log.exception("the reminder run failed; the next run tries again")
        try:
            # What announcements a stopped process or a failed send left behind.
            await send_pending(Post(bot.database, bot.senders), bot.settings, bot.dispatcher.clock)
        except Exception:
            log.exception("sending announcements failed; the next run tries again")

    return run_job


def schedule_reminders(
    application: Application[Any, Any, Any, Any, Any, Any], bot: Bot
) -> Job[Any]:
    """A run now (start-up) and then every SXSH_REMINDER_INTERVAL_MINUTES, one at a time."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    return job_queue.run_repeating(
        _reminder_job(bot),
        interval=timedelta(minutes=bot.settings.reminder_interval_minutes),
        # A start-up run: APScheduler would skip a first run dated "now" as already past.
        first=timedelta(seconds=1),
        name=JOB_NAME,
        job_kwargs={"max_instances": 1, "coalesce": True},
    )


class RemindersWithoutTelegram:
    """The same schedule on APScheduler itself, for a bot running on Zalo alone (no
    JobQueue). Stopping lets a run in progress finish first, as the JobQueue does: a
    reminder that went out is then also marked sent, never sent again after a restart."""

    def __init__(self, bot: Bot) -> None:
        self._reminders = _reminder_job(bot)
        self._runs: set[asyncio.Task[Any]] = set()
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.scheduler.add_job(
            self._run,
            "interval",
            minutes=bot.settings.reminder_interval_minutes,
            next_run_time=datetime.now(UTC) + timedelta(seconds=1),
            id=JOB_NAME,
            max_instances=1,
            coalesce=True,
        )

    async def _run(self) -> None:
        run = asyncio.current_task()
        assert run is not None
        self._runs.add(run)
        try:
            await self._reminders(None)
        finally:
            self._runs.discard(run)

    async def stop(self) -> None:
        # APScheduler would cancel a running job on shutdown: no new run, then wait.
        self.scheduler.pause()
        if self._runs:
            await asyncio.wait(set(self._runs))
        self.scheduler.shutdown(wait=False)


def schedule_reminders_without_telegram(bot: Bot) -> RemindersWithoutTelegram:
    """A run now (start-up) and then every SXSH_REMINDER_INTERVAL_MINUTES, one at a time."""
    reminders = RemindersWithoutTelegram(bot)
    reminders.scheduler.start()
    return reminders


# ----------------------------------------------------------------- /reminders


def install(dispatcher: Dispatcher, runner: FormRunner) -> None:
    install_switch(
        dispatcher, REMINDER_SWITCH, N_("Deadline reminders: /reminders off or /reminders on")
    )


def install_switch(dispatcher: Dispatcher, spec: OnOff, description: str) -> None:
    """Register "/command [off|on]" for linked managers."""

    @dispatcher.command(spec.command, description, needs_link=True, audience="linked")
    async def switch(turn: Turn, argument: str) -> None:
        await on_off_command(turn, argument, spec)


@dataclass(frozen=True)
class OnOff:
    """A per-user switch a manager turns with "/command off" and "/command on"."""

    command: str
    is_off: Callable[[Store, int], Awaitable[bool]]
    # Stores the choice and tells the user what it means.
    switch: Callable[[Turn, bool], Awaitable[None]]
    not_understood: str  # msgids
    state_off: str
    state_on: str
    turn_on: str
    turn_off: str


async def on_off_command(turn: Turn, argument: str, spec: OnOff) -> None:
    """Switch on "off"/"on" (or tắt/bật, with or without diacritics); otherwise say where
    the switch stands, with a button to turn it."""
    wanted = fold(argument).strip()
    if wanted in OFF_WORDS or wanted in ON_WORDS:
        await spec.switch(turn, wanted in OFF_WORDS)
        return
    off = await spec.is_off(turn.store, turn.user.id)
    lines = [turn.t(spec.not_understood, text=argument.strip())] if wanted else []
    lines.append(turn.t(spec.state_off if off else spec.state_on))
    button = (
        Button(turn.t(spec.turn_on), f"cmd:{spec.command}:on")
        if off
        else Button(turn.t(spec.turn_off), f"cmd:{spec.command}:off")
    )
    turn.reply("\n".join(lines), [[button]], menu=True)


async def _switch(turn: Turn, off: bool) -> None:
    await turn.store.reminders.set_opted_out(turn.user.id, off, turn.now)
    schedule = ReminderSchedule.from_settings(turn.settings)
    last_day = show_day(schedule.last_day(schedule.report_year(turn.now)))
    if off:
        turn.reply(
            turn.t(
                "Deadline reminders are off. The yearly report is still due; the last day is "
                "{last_day}. Send /reminders on to get reminders again.",
                last_day=last_day,
            )
        )
        return
    turn.reply(
        turn.t(
            "Deadline reminders are on. If your facility's yearly report is not sent yet, "
            "you will get a few reminders before {last_day}, between {start} and {end}.",
            last_day=last_day,
            start=schedule.window_start.strftime("%H:%M"),
            end=schedule.window_end.strftime("%H:%M"),
        )
    )


REMINDER_SWITCH = OnOff(
    command="reminders",
    is_off=lambda store, user_id: store.reminders.is_opted_out(user_id),
    switch=_switch,
    not_understood=N_(
        "I didn't understand “{text}”. Send /reminders off to stop deadline "
        "reminders or /reminders on to get them again."
    ),
    state_off=N_("Deadline reminders are off."),
    state_on=N_("Deadline reminders are on."),
    turn_on=N_("Turn reminders on"),
    turn_off=N_("Turn reminders off"),
)
