"""`sxsh-bot`: run the bot, chat in the terminal, manage the register and invitations.

Every error is one line on stderr and a non-zero exit. Output is in Vietnamese unless
`--lang en` (or SXSH_LANG=en) is given.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bot import reminder_cli, staffcli
from bot.app import Bot, build, import_register, sample_register_path
from bot.audit import cli_actor
from bot.channels.console import CONSOLE, ConsoleChannel
from bot.clock import show_date, show_datetime, system_clock
from bot.geo import communes, find_commune, find_sector
from bot.i18n import LANGUAGES, tr
from bot.invitations import deep_link, display, issue
from bot.register import Lang, RegisterFileError, describe
from bot.reminder_service import schedule_reminders, schedule_reminders_without_telegram
from bot.settings import Settings
from flows.model import FormError
from knowledge.library import LibraryError

if TYPE_CHECKING:
    from bot.channels.zalo import WebhookAddress

DEMO_DB = "sxsh-demo.db"
DEMO_FACILITY = "DEMO01"
CONSOLE_USER = "local"


class CliError(Exception):
    """A problem to report in one line."""


def _language(argv: Sequence[str]) -> str:
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv) and argv[index + 1] in LANGUAGES:
            return argv[index + 1]
        if arg.startswith("--lang=") and arg[7:] in LANGUAGES:
            return arg[7:]
    env = os.environ.get("SXSH_LANG", "vi")
    return env if env in LANGUAGES else "vi"


def build_parser(lang: str) -> argparse.ArgumentParser:
    def t(msgid: str) -> str:
        return tr(lang, msgid)

    parser = argparse.ArgumentParser(
        prog="sxsh-bot",
        description=t(
            "Cleaner Production (SXSH) assistant of the Lạng Sơn Department of Industry and Trade."
        ),
    )
    parser.add_argument(
        "--db", type=Path, help=t("the SQLite database file (default: SXSH_DB_PATH or sxsh.db)")
    )
    parser.add_argument(
        "--lang", choices=LANGUAGES, default=lang, help=t("language of messages: vi or en")
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run = commands.add_parser(
        "run", help=t("run the bot on every channel that has a token: Telegram, Zalo or both")
    )
    run.add_argument(
        "--zalo-webhook",
        metavar="HOST:PORT/PATH",
        help=t(
            "receive Zalo messages by webhook on this address instead of polling "
            "(needs SXSH_ZALO_WEBHOOK_SECRET)"
        ),
    )

    chat = commands.add_parser("chat", help=t("chat with the bot in this terminal"))
    chat.add_argument(
        "--facility", metavar="CODE", help=t("link the terminal user to this facility")
    )
    chat.add_argument(
        "--demo",
        action="store_true",
        help=t("use a demo database with sample facilities, linked to DEMO01"),
    )

    facilities = commands.add_parser("facilities", help=t("the register of facilities"))
    facility_commands = facilities.add_subparsers(dest="facilities_command", metavar="ACTION")
    facility_commands.required = True
    do_import = facility_commands.add_parser(
        "import", help=t("import or update facilities from a CSV or XLSX file")
    )
    do_import.add_argument("file", type=Path)
    do_list = facility_commands.add_parser("list", help=t("list facilities"))
    do_list.add_argument("--commune", help=t("commune name or code"))
    do_list.add_argument("--sector", help=t("VSIC division, e.g. C23"))

    reminder_cli.add_parser(commands, lang)
    tips = commands.add_parser(
        "tips", help=t("the best three guidance snippets for a question, as the chat ranks them")
    )
    tips.add_argument("question", help=t("the question, as a manager would type it"))
    tips.add_argument("--sector", help=t("the asker's VSIC division, e.g. C23"))

    requests = commands.add_parser(
        "adviser-requests", help=t("managers who asked for an SXSH adviser to contact them")
    )
    requests.add_argument("--done", type=int, metavar="ID", help=t("mark this request as handled"))

    commands.add_parser(
        "unanswered-questions",
        help=t("the latest questions the guidance library found nothing for"),
    )

    invite = commands.add_parser("invite", help=t("create one invitation code per facility"))
    invite.add_argument("codes", nargs="+", metavar="CODE", help=t("facility code"))
    invite.add_argument("--days", type=int, help=t("days until the invitation expires"))
    staffcli.add_commands(commands, t)
    _accept_common_options_everywhere(parser, t)
    return parser


def _accept_common_options_everywhere(
    parser: argparse.ArgumentParser, t: Callable[[str], str]
) -> None:
    """Let --db and --lang follow any subcommand too (`sxsh-bot chat --lang en`)."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for subparser in action.choices.values():
            known = subparser._option_string_actions
            if "--db" not in known:
                subparser.add_argument(
                    "--db",
                    type=Path,
                    default=argparse.SUPPRESS,
                    help=t("the SQLite database file (default: SXSH_DB_PATH or sxsh.db)"),
                )
            if "--lang" not in known:
                subparser.add_argument(
                    "--lang",
                    choices=LANGUAGES,
                    default=argparse.SUPPRESS,
                    help=t("language of messages: vi or en"),
                )
            _accept_common_options_everywhere(subparser, t)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    lang = _language(args_list)
    parser = build_parser(lang)
    args = parser.parse_args(args_list)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = _settings(args)
        handler = COMMANDS[args.command]
        return asyncio.run(handler(settings, args))
    except (CliError, FormError, LibraryError) as error:
        print(f"sxsh-bot: {error}", file=sys.stderr)
        return 2
    except RegisterFileError as error:
        print(f"sxsh-bot: {describe(error, args.lang)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _settings(args: argparse.Namespace) -> Settings:
    try:
        settings = Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "SXSH_" + str(first["loc"][0]).upper() if first["loc"] else "SXSH_*"
        raise CliError(f"{name}: {first['msg']}") from error
    if getattr(args, "demo", False) and args.db is None and "SXSH_DB_PATH" not in os.environ:
        settings.db_path = Path(DEMO_DB)
    if args.db is not None:
        settings.db_path = args.db
    return settings


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from bot import service
    from bot.channels.telegram import TelegramChannel
    from bot.channels.zalo import ZaloChannel

    webhook = _zalo_webhook(args)
    try:
        service.check(settings, webhook)
    except service.SetupError as error:
        raise CliError(error.text(args.lang)) from None
    bot = await build(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with service.running(bot, service.channels(bot, zalo_webhook=webhook)) as running:
            telegram = next((c for c in running if isinstance(c, TelegramChannel)), None)
            scheduler = None
            if telegram is not None:
                schedule_reminders(telegram.application, bot)
            else:
                scheduler = schedule_reminders_without_telegram(bot)
            for channel in running:
                if isinstance(channel, ZaloChannel) and channel.listening_url:
                    url = channel.listening_url
                    print(tr(args.lang, "Zalo webhook listening on {url}", url=url), flush=True)
            print(tr(args.lang, "The bot is running. Press Ctrl+C to stop."), flush=True)
            try:
                await stop.wait()
            finally:
                if scheduler is not None:
                    await scheduler.stop()
    except service.SetupError as error:
        raise CliError(error.text(args.lang)) from None
    finally:
        await bot.close()
    return 0


def _zalo_webhook(args: argparse.Namespace) -> WebhookAddress | None:
    from bot.channels.zalo import WebhookAddress

    if not args.zalo_webhook:
        return None
    try:
        return WebhookAddress.parse(args.zalo_webhook)
    except ValueError:
        raise CliError(
            tr(
                args.lang,
                "--zalo-webhook wants HOST:PORT/PATH, for example 127.0.0.1:8443/zalo",
            )
        ) from None


async def _chat(settings: Settings, args: argparse.Namespace) -> int:
    bot = await build(settings)
    try:
        facility_code = args.facility
        if args.demo:
            await _ensure_demo_register(bot)
            facility_code = facility_code or DEMO_FACILITY
        if facility_code:
            await _link_console_user(bot, facility_code, args.lang)
        channel = ConsoleChannel(bot.dispatcher, CONSOLE_USER, read=lambda: input("> "))
        print(tr(args.lang, "Type your answers; /help lists the commands, /quit leaves."))
        await channel.run()
    finally:
        await bot.close()
    return 0


async def _ensure_demo_register(bot: Bot) -> None:
    async with bot.database.snapshot() as store:
        known = await store.facilities.by_code(DEMO_FACILITY)
    if known is None:
        await import_register(bot.database, sample_register_path(), system_clock())


async def _link_console_user(bot: Bot, facility_code: str, lang: str) -> None:
    now = system_clock()
    async with bot.database.transaction() as store:
        facility = await store.facilities.by_code(facility_code)
        if facility is None:
            raise CliError(
                tr(
                    lang,
                    "no facility with code {code}; see `sxsh-bot facilities list`",
                    code=facility_code,
                )
            )
        user = await store.users.get_or_create(CONSOLE, CONSOLE_USER, CONSOLE_USER, None, now)
        if user.facility_id != facility.id:
            await store.users.link(user.id, facility.id, now)
        await store.users.set_language(user.id, lang)


async def _facilities(settings: Settings, args: argparse.Namespace) -> int:
    bot = await build(settings)
    try:
        if args.facilities_command == "import":
            return await _facilities_import(bot, args)
        return await _facilities_list(bot, args)
    finally:
        await bot.close()


async def _facilities_import(bot: Bot, args: argparse.Namespace) -> int:
    if not args.file.exists():
        raise CliError(tr(args.lang, "file not found: {path}", path=args.file))
    lang: Lang = "en" if args.lang == "en" else "vi"
    counts, errors = await import_register(bot.database, str(args.file), system_clock(), lang)
    for line in errors:
        print(line)
    from bot.storage.facilities import UpsertOutcome

    print(
        tr(
            args.lang,
            "{inserted} added, {updated} updated, {unchanged} unchanged, {errors} rows with errors",
            inserted=counts[UpsertOutcome.INSERTED],
            updated=counts[UpsertOutcome.UPDATED],
            unchanged=counts[UpsertOutcome.UNCHANGED],
            errors=len(errors),
        )
    )
    return 1 if errors else 0


async def _facilities_list(bot: Bot, args: argparse.Namespace) -> int:
    commune_code = sector_code = None
    if args.commune:
        commune = find_commune(args.commune)
        if commune is None:
            raise CliError(tr(args.lang, "unknown commune: {value}", value=args.commune))
        commune_code = commune.code
    if args.sector:
        sector = find_sector(args.sector)
        if sector is None:
            raise CliError(tr(args.lang, "unknown sector: {value}", value=args.sector))
        sector_code = sector.code
    async with bot.database.snapshot() as store:
        found = await store.facilities.list(commune=commune_code, sector=sector_code)
    names = {commune.code: commune.name for commune in communes()}
    for facility in found:
        print(
            f"{facility.code}\t{facility.name}\t{names.get(facility.commune_code, '')}\t"
            f"{facility.sector_code}\t{facility.size_class}"
        )
    print(tr(args.lang, "{count} facilities", count=len(found)))
    return 0


async def _invite(settings: Settings, args: argparse.Namespace) -> int:
    username = settings.telegram_bot_username or await _bot_username(settings, args.lang)
    days = args.days or settings.invitation_days
    bot = await build(settings)
    now = system_clock()
    try:
        async with bot.database.transaction() as store:
            issued = []
            for code in args.codes:
                facility = await store.facilities.by_code(code)
                if facility is None:
                    raise CliError(
                        tr(
                            args.lang,
                            "no facility with code {code}; see `sxsh-bot facilities list`",
                            code=code,
                        )
                    )
                invitation, expires = await issue(
                    store, facility.id, now, days, issued_by=cli_actor()
                )
                issued.append((facility, invitation, expires))
    finally:
        await bot.close()
    for facility, invitation, expires in issued:
        link = deep_link(username, invitation) if username else ""
        until = tr(args.lang, "expires {date}", date=show_date(expires, settings.zone))
        print(f"{facility.code}\t{facility.name}\t{display(invitation)}\t{until}\t{link}")
    if not username:
        print(
            tr(
                args.lang,
                "No Telegram links: set SXSH_TELEGRAM_BOT_USERNAME (or "
                "SXSH_TELEGRAM_TOKEN) to print them.",
            ),
            file=sys.stderr,
        )
    return 0


async def _bot_username(settings: Settings, lang: str) -> str | None:
    if settings.telegram_token is None:
        return None
    from telegram import Bot as TelegramBot
    from telegram.error import TelegramError

    try:
        async with TelegramBot(
            settings.telegram_token.get_secret_value(), base_url=settings.telegram_base_url
        ) as telegram_bot:
            return telegram_bot.username
    except TelegramError as error:
        print(
            tr(lang, "Could not ask Telegram for the bot's name ({error}).", error=error),
            file=sys.stderr,
        )
        return None


async def _tips(settings: Settings, args: argparse.Namespace) -> int:
    from bot.guidance import Guide

    sector = None
    if args.sector:
        found = find_sector(args.sector)
        if found is None:
            raise CliError(tr(args.lang, "unknown sector: {value}", value=args.sector))
        sector = found.code
    guide = Guide.load(settings)
    hits = guide.index.search(args.question, sector)[:3]
    if not hits:
        print(tr(args.lang, "No guidance found for “{question}”.", question=args.question))
        return 1
    for number, hit in enumerate(hits, start=1):
        snippet = hit.snippet
        print(f"{number}. {snippet.id}\t{snippet.title.text(args.lang)}")
        print(f"   {snippet.first_line(args.lang)}")
    return 0


async def _adviser_requests(settings: Settings, args: argparse.Namespace) -> int:
    bot = await build(settings)
    try:
        if args.done is not None:
            async with bot.database.transaction() as store:
                if not await store.assessments.mark_handled(args.done, system_clock()):
                    raise CliError(tr(args.lang, "no open adviser request {id}", id=args.done))
            print(tr(args.lang, "Request {id} marked as handled.", id=args.done))
            return 0
        async with bot.database.snapshot() as store:
            waiting = await store.assessments.open_requests()
            rows = []
            for request in waiting:
                facility = await store.facilities.by_id(request.facility_id)
                result = (
                    await store.assessments.by_id(request.assessment_id)
                    if request.assessment_id
                    else None
                )
                rows.append((request, facility, result))
    finally:
        await bot.close()
    for request, facility, result in rows:
        score = f"{result.overall}/100" if result else "—"
        print(
            f"{request.id}\t{show_datetime(request.requested_at, settings.zone)}\t"
            f"{facility.code if facility else ''}\t{facility.name if facility else ''}\t"
            f"{request.contact_name or ''}\t{request.phone or ''}\t{score}"
        )
    print(tr(args.lang, "{count} open requests", count=len(rows)))
    return 0


async def _unanswered_questions(settings: Settings, args: argparse.Namespace) -> int:
    bot = await build(settings)
    try:
        async with bot.database.snapshot() as store:
            unanswered = await store.guidance.unanswered()
    finally:
        await bot.close()
    for asked in unanswered:
        when = show_datetime(asked.asked_at, settings.zone)
        print(f"{when}\t{asked.sector_code or ''}\t{asked.question}")
    print(tr(args.lang, "{count} questions found no guidance", count=len(unanswered)))
    return 0


Handler = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]
COMMANDS: dict[str, Handler] = {
    "run": _run,
    "chat": _chat,
    "facilities": _facilities,
    "invite": _invite,
    "reminders": reminder_cli.command,
    **staffcli.COMMANDS,
    "tips": _tips,
    "adviser-requests": _adviser_requests,
    "unanswered-questions": _unanswered_questions,
}


if __name__ == "__main__":
    sys.exit(main())
