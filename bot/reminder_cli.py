"""`sxsh-bot reminders plan|run`: see who would be reminded and why, or send what is due."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.app import Bot, build
from bot.clock import show_datetime, system_clock
from bot.i18n import N_, tr
from bot.reminder_messages import describe_report, digest_text, show_day
from bot.reminder_service import CHAT_APPS, FullPlan, plan_now, run_reminders
from bot.reminders import Decision, ReminderPlan, ReminderSchedule, StaffDecision, Verdict
from bot.settings import Settings

# What `--at` accepts, in local time.
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M")

RECIPIENT_VERDICTS = {
    Verdict.DUE: N_("will be reminded now: {days} day(s) left; report {status}"),
    Verdict.WAITING_FOR_WINDOW: N_("will be reminded at {time}; report {status}"),
    Verdict.NOTHING_DUE: N_("no reminder due now; report {status}"),
    Verdict.SUBMITTED: N_("not reminded: the report is submitted"),
    Verdict.OPTED_OUT: N_("not reminded: turned reminders off"),
    Verdict.UNREACHABLE: N_("not reminded: cannot be reached (blocked the bot) until they write"),
    Verdict.CHANNEL_NOT_RUNNING: N_("not reminded: {channel} is not connected"),
    Verdict.ALREADY_SENT: N_("not reminded: already got this reminder ({time})"),
    Verdict.IN_FLIGHT: N_("not reminded now: this reminder is being sent"),
    Verdict.GAVE_UP: N_("not reminded: sending failed {attempts} times"),
}
STAFF_VERDICTS = {
    Verdict.DUE: N_("will receive it now"),
    Verdict.UNREACHABLE: N_("cannot be reached (blocked the bot)"),
    Verdict.CHANNEL_NOT_RUNNING: N_("{channel} is not connected"),
    Verdict.ALREADY_SENT: N_("already received it ({time})"),
    Verdict.IN_FLIGHT: N_("it is being sent"),
    Verdict.GAVE_UP: N_("sending failed {attempts} times"),
}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], lang: str) -> None:
    reminders = commands.add_parser(
        "reminders", help=tr(lang, "deadline reminders for the yearly report")
    )
    actions = reminders.add_subparsers(dest="reminders_command", metavar="ACTION")
    actions.required = True
    plan = actions.add_parser(
        "plan", help=tr(lang, "print who would be reminded now and why; sends nothing")
    )
    plan.add_argument(
        "--at",
        metavar="TIME",
        help=tr(lang, 'as if it were this Vietnam time, e.g. "2026-12-08 09:00"'),
    )
    actions.add_parser(
        "run",
        help=tr(
            lang,
            "send the reminders due now through Telegram and Zalo (needs SXSH_TELEGRAM_TOKEN "
            "or SXSH_ZALO_TOKEN)",
        ),
    )


async def command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli import CliError

    if args.reminders_command == "plan":
        now = system_clock()
        if args.at:
            parsed = parse_local_time(args.at, settings.zone)
            if parsed is None:
                raise CliError(
                    tr(
                        args.lang,
                        "--at: write the time as 2026-12-08 09:00 (Vietnam time), not {value}",
                        value=args.at,
                    )
                )
            now = parsed
        return await _print_plan(settings, now, args.lang)
    if settings.telegram_token is None and settings.zalo_token is None:
        raise CliError(
            tr(
                args.lang,
                "set SXSH_TELEGRAM_TOKEN (from @BotFather) or SXSH_ZALO_TOKEN (from Zalo Bot "
                "Creator), or both, to send reminders; `sxsh-bot reminders plan` shows them "
                "without sending",
            )
        )
    return await _send_due(settings, args.lang)


def parse_local_time(text: str, zone: ZoneInfo) -> datetime | None:
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).replace(tzinfo=zone)
        except ValueError:
            continue
    return None


async def _print_plan(settings: Settings, now: datetime, lang: str) -> int:
    bot = await build(settings)
    try:
        plan = await plan_now(bot, now, CHAT_APPS)
    finally:
        await bot.close()
    for line in plan_lines(plan, lang):
        print(line)
    return 0


def plan_lines(full: FullPlan, lang: str) -> list[str]:
    """The plan as the command prints it: the calendar, then one line per linked user."""
    plan = full.reminders
    schedule, now, zone = plan.schedule, plan.now, plan.schedule.zone
    dates = ", ".join(
        schedule.due_at(plan.year, days).strftime("%d/%m") for days in schedule.offsets
    )
    lines = [
        tr(
            lang,
            "Reports for {year} are due before {deadline} (the last day is {last_day}). "
            "Reminders fall due on {dates} and go out between {start} and {end}.",
            year=plan.year,
            deadline=show_day(schedule.deadline(plan.year).date()),
            last_day=show_day(schedule.last_day(plan.year)),
            dates=dates,
            start=schedule.window_start.strftime("%H:%M"),
            end=schedule.window_end.strftime("%H:%M"),
        )
    ]
    when = show_datetime(now, zone)
    if plan.days_before is None:
        lines.append(
            tr(
                lang,
                "At {time}: no reminder is due; the next goes out at {next}.",
                time=when,
                next=show_datetime(schedule.next_reminder(now), zone),
            )
        )
    elif schedule.in_window(now):
        lines.append(
            tr(
                lang,
                "At {time}: the reminder {days} day(s) before the deadline is due.",
                time=when,
                days=plan.days_before,
            )
        )
    else:
        lines.append(
            tr(
                lang,
                "At {time}: the reminder {days} day(s) before the deadline is due; it goes out "
                "at {next}.",
                time=when,
                days=plan.days_before,
                next=show_datetime(schedule.next_window(now), zone),
            )
        )
    for decision in plan.decisions:
        user, facility = decision.recipient.user, decision.recipient.facility
        who = f"{user.display_name or '-'} ({user.channel} {user.external_id})"
        lines.append(f"{facility.code}\t{facility.name}\t{who}\t{_verdict(decision, plan, lang)}")
    due = sum(1 for decision in plan.decisions if decision.verdict is Verdict.DUE)
    lines.append(
        tr(
            lang,
            "{due} of {total} linked users would be reminded now.",
            due=due,
            total=len(plan.decisions),
        )
    )
    if full.digest is not None:
        lines.extend(_digest_lines(full, lang))
    return lines


def _verdict(decision: Decision | StaffDecision, plan: ReminderPlan, lang: str) -> str:
    """Why a user is (not) written to, with the details the reason needs."""
    delivery = decision.delivery
    texts = RECIPIENT_VERDICTS if isinstance(decision, Decision) else STAFF_VERDICTS
    report = decision.recipient.report if isinstance(decision, Decision) else None
    schedule = plan.schedule
    return tr(
        lang,
        texts[decision.verdict],
        days=schedule.days_left(plan.now, plan.year),
        status=describe_report(lang, report) if report else "",
        time=show_datetime(
            delivery.sent_at if delivery and delivery.sent_at else schedule.next_window(plan.now),
            schedule.zone,
        ),
        channel=(
            decision.recipient.user if isinstance(decision, Decision) else decision.user
        ).channel,
        attempts=delivery.attempts if delivery else 0,
    )


def _digest_lines(full: FullPlan, lang: str) -> list[str]:
    assert full.digest is not None
    lines = ["", tr(lang, "Staff summary for {year}:", year=full.digest.year)]
    for decision in full.staff:
        user = decision.user
        who = f"{user.display_name or '-'} ({user.channel} {user.external_id})"
        lines.append(f"{who}\t{_verdict(decision, full.reminders, lang)}")
    if full.staff_never_seen:
        lines.append(
            tr(
                lang,
                "Administrators who never wrote to the bot cannot receive it: {ids}",
                ids=", ".join(str(admin) for admin in full.staff_never_seen),
            )
        )
    if not full.staff and not full.staff_never_seen:
        lines.append(tr(lang, "Nobody to send it to: set SXSH_ADMIN_IDS."))
    lines.append("")
    lines.append(digest_text(lang, full.digest))
    return lines


@asynccontextmanager
async def telegram_sending(bot: Bot, lang: str) -> AsyncIterator[None]:
    """The Telegram channel connected for sending only (no polling), as `bot.senders`'s
    "telegram", for a command that sends what is due and stops."""
    from telegram.error import TelegramError

    from bot.channels.telegram import TELEGRAM, TelegramChannel
    from bot.cli import CliError

    settings = bot.settings
    assert settings.telegram_token is not None
    channel = TelegramChannel(
        bot.dispatcher,
        settings.telegram_token.get_secret_value(),
        settings.telegram_base_url,
        send_rate=settings.send_rate,
    )
    try:
        try:
            await channel.application.initialize()
        except TelegramError as error:
            raise CliError(tr(lang, "Telegram refused the token: {error}", error=error)) from error
        bot.senders[TELEGRAM] = channel
        yield
    finally:
        bot.senders.pop(TELEGRAM, None)
        await channel.application.shutdown()


@asynccontextmanager
async def zalo_sending(bot: Bot, lang: str) -> AsyncIterator[None]:
    """The Zalo channel for sending only, as `bot.senders`'s "zalo"; polling and the
    webhook stay with `sxsh-bot run`."""
    from bot.channels.zalo import ZALO, ZaloChannel
    from bot.channels.zalo_api import ZaloBotApi, ZaloError
    from bot.cli import CliError

    settings = bot.settings
    assert settings.zalo_token is not None
    api = ZaloBotApi(settings.zalo_token.get_secret_value(), settings.zalo_base_url)
    try:
        try:
            await api.get_me()
        except ZaloError as error:
            # Zalo being down only fails this run's sends; a refused token fails them all.
            if not error.retryable:
                raise CliError(
                    tr(lang, "Zalo refused the bot's settings ({error})", error=str(error))
                ) from error
        # Not started: it sends, and leaves polling and the webhook to `sxsh-bot run`.
        bot.senders[ZALO] = ZaloChannel(bot.dispatcher, api, send_rate=settings.send_rate)
        yield
    finally:
        bot.senders.pop(ZALO, None)
        await api.aclose()


@asynccontextmanager
async def chat_app_sending(bot: Bot, lang: str) -> AsyncIterator[None]:
    """Every chat app that has a token, connected for sending only."""
    async with AsyncExitStack() as senders:
        if bot.settings.telegram_token is not None:
            await senders.enter_async_context(telegram_sending(bot, lang))
        if bot.settings.zalo_token is not None:
            await senders.enter_async_context(zalo_sending(bot, lang))
        yield


async def _send_due(settings: Settings, lang: str) -> int:
    """One run through every chat app that has a token, sending only: receiving stays
    with `sxsh-bot run` (which may be running at the same time; claims keep it to once)."""
    bot = await build(settings)
    try:
        async with chat_app_sending(bot, lang):
            report = await run_reminders(bot)
    finally:
        await bot.close()
    if report.outside_window:
        schedule = ReminderSchedule.from_settings(settings)
        print(
            tr(
                lang,
                "Outside the sending window ({start}–{end}): nothing was sent.",
                start=schedule.window_start.strftime("%H:%M"),
                end=schedule.window_end.strftime("%H:%M"),
            )
        )
        return 0
    print(
        tr(
            lang,
            "Reminders sent: {sent}; failed: {failed} (tried again on the next run); "
            "users unreachable: {unreachable}; staff summaries sent: {digests}.",
            sent=report.sent,
            failed=report.failed,
            unreachable=report.unreachable,
            digests=report.digests,
        )
    )
    return 1 if report.failed else 0
