"""The command line of Department staff and operators: staff roles, the audit log,
exports, backup and restore. `bot.cli` adds these subcommands with `add_commands` and
runs them through `COMMANDS`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NoReturn

from bot import audit
from bot.access import (
    Role,
    RoleProblem,
    commune_name,
    grant_role,
    parse_grant,
    parse_person,
    revoke_role,
)
from bot.app import Bot, build
from bot.backup import BackupError, backup, restore
from bot.broadcasts import (
    TEXT_LIMIT,
    confirm,
    preview_text,
    report_text,
    send_pending,
    text_problem,
)
from bot.clock import local, show_datetime, system_clock
from bot.export import ProgressBar
from bot.geo import find_commune, find_sector
from bot.i18n import tr
from bot.outbox import Post
from bot.reminder_cli import chat_app_sending
from bot.settings import Settings
from bot.sheets import FORMATS, ExportRequest, find_sheet, run_export, sheet_specs
from bot.stats import (
    COMMUNES,
    SECTORS,
    chart_names,
    draw_charts,
    group_lines,
    load_breakdown,
    summary_text,
)
from bot.storage.inuse import DatabaseInUse
from bot.storage.snapshot import FacilityFilter
from flows.textmatch import fold

Handler = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]


def _fail(message: str) -> NoReturn:
    from bot.cli import CliError  # bot.cli imports this module

    raise CliError(message)


def add_commands(commands: argparse._SubParsersAction[Any], t: Callable[[str], str]) -> None:
    staff = commands.add_parser("staff", help=t("Department staff roles"))
    staff_commands = staff.add_subparsers(dest="staff_command", metavar="ACTION")
    staff_commands.required = True
    add = staff_commands.add_parser(
        "add", help=t("grant a role: admin, province, or commune with its commune")
    )
    add.add_argument("person", metavar="CHANNEL:ID", help=t("for example telegram:123456"))
    add.add_argument("role", help=t("admin, province or commune"))
    add.add_argument("commune", nargs="*", help=t("commune name or code"))
    remove = staff_commands.add_parser("remove", help=t("revoke a person's role"))
    remove.add_argument("person", metavar="CHANNEL:ID")
    staff_commands.add_parser("list", help=t("list the staff and their roles"))

    audit_parser = commands.add_parser(
        "audit", help=t("print the audit log: exports, role changes, invitations")
    )
    audit_parser.add_argument(
        "--since", metavar="DATE", help=t("from this day on (dd/mm/yyyy or yyyy-mm-dd)")
    )

    export = commands.add_parser("export", help=t("export the collected data to XLSX or CSV"))
    export.add_argument("--year", type=int, help=t("reporting year (default: this year)"))
    export.add_argument("--format", choices=FORMATS, default="xlsx", dest="fmt")
    export.add_argument("--out", type=Path, help=t("the file to write"))
    export.add_argument("--commune", help=t("commune name or code"))
    export.add_argument("--sector", help=t("VSIC division, e.g. C23"))
    export.add_argument(
        "--sheet",
        help=t("only this sheet: {names}").format(
            names=", ".join(spec.key for spec in sheet_specs())
        ),
    )

    stats = commands.add_parser(
        "stats", help=t("the plan's four indicators against their targets, with charts")
    )
    stats.add_argument("--year", type=int, help=t("reporting year (default: this year)"))
    stats.add_argument("--commune", help=t("commune name or code"))
    stats.add_argument("--sector", help=t("VSIC division, e.g. C23"))
    stats.add_argument(
        "--charts", type=Path, metavar="DIR", help=t("also write the two charts (PNG) here")
    )

    announce = commands.add_parser(
        "broadcast", help=t("send an announcement to the managers (preview, then confirm)")
    )
    announce.add_argument(
        "--file", type=Path, required=True, metavar="MESSAGE.txt", help=t("the text (UTF-8)")
    )
    announce.add_argument("--commune", help=t("commune name or code"))
    announce.add_argument("--sector", help=t("VSIC division, e.g. C23"))
    announce.add_argument(
        "--lang",
        choices=("vi", "en"),
        dest="audience_lang",
        help=t("only chats in this language"),
    )
    announce.add_argument("--yes", action="store_true", help=t("send without asking (for scripts)"))

    do_backup = commands.add_parser(
        "backup", help=t("write a consistent copy of the database, also while the bot runs")
    )
    do_backup.add_argument("path", type=Path, help=t("a new file, or a folder"))
    do_restore = commands.add_parser(
        "restore", help=t("replace the database with a backup (the bot must be stopped)")
    )
    do_restore.add_argument("path", type=Path, help=t("the backup file"))


# ---------------------------------------------------------------- staff


async def _staff(settings: Settings, args: argparse.Namespace) -> int:
    bot = await build(settings)
    now = system_clock()
    try:
        async with bot.database.transaction() as store:
            if args.staff_command == "add":
                try:
                    change = parse_grant([args.person, args.role, *args.commune])
                except RoleProblem as problem:
                    _fail(tr(args.lang, str(problem)))
                await grant_role(
                    store, change.person, change.role, change.commune_code, audit.cli_actor(), now
                )
                role = change.role.label(args.lang)
                if change.commune_code:
                    role += f" — {commune_name(change.commune_code)}"
                print(tr(args.lang, "{person} is now {role}.", person=change.person, role=role))
                return 0
            if args.staff_command == "remove":
                person = parse_person(args.person)
                if person is None:
                    _fail(
                        tr(
                            args.lang,
                            "Name the person as channel:id, for example telegram:123456.",
                        )
                    )
                if not await revoke_role(store, person, audit.cli_actor(), now):
                    _fail(tr(args.lang, "{person} has no staff role.", person=person))
                print(tr(args.lang, "{person} no longer has a staff role.", person=person))
                return 0
            grants = await store.staff.all()
    finally:
        await bot.close()
    for admin_id in settings.admin_ids:
        print(f"telegram:{admin_id}\t{Role.ADMIN.label(args.lang)}\t\tSXSH_ADMIN_IDS\t")
    for grant in grants:
        print(
            "\t".join(
                [
                    grant.person,
                    Role(grant.role).label(args.lang),
                    commune_name(grant.commune_code) if grant.commune_code else "",
                    grant.granted_by,
                    show_datetime(grant.granted_at, settings.zone),
                ]
            )
        )
    print(
        tr(
            args.lang,
            "{count} people with a staff role",
            count=len(grants) + len(settings.admin_ids),
        )
    )
    return 0


# ---------------------------------------------------------------- audit


def parse_day(text: str) -> date | None:
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


async def _audit(settings: Settings, args: argparse.Namespace) -> int:
    since = None
    if args.since:
        day = parse_day(args.since)
        if day is None:
            _fail(tr(args.lang, "not a date: {value} (write 14/12/2026)", value=args.since))
        since = datetime.combine(day, time(0), tzinfo=settings.zone)
    bot = await build(settings)
    try:
        async with bot.database.snapshot() as store:
            entries = await store.audit.since(since)
    finally:
        await bot.close()
    for entry in entries:
        print(audit.describe(entry, args.lang, settings.zone))
    print(tr(args.lang, "{count} entries", count=len(entries)))
    return 0


# ---------------------------------------------------------------- export


def _scope(args: argparse.Namespace) -> FacilityFilter:
    """--commune and --sector, checked."""
    commune_code = sector_code = None
    if args.commune:
        commune = find_commune(args.commune)
        if commune is None:
            _fail(tr(args.lang, "unknown commune: {value}", value=args.commune))
        commune_code = commune.code
    if args.sector:
        sector = find_sector(args.sector)
        if sector is None:
            _fail(tr(args.lang, "unknown sector: {value}", value=args.sector))
        sector_code = sector.code
    return FacilityFilter(commune_code, sector_code)


def _year(settings: Settings, args: argparse.Namespace) -> int:
    year: int = args.year or local(system_clock(), settings.zone).year
    if not 2000 <= year <= 2100:
        _fail(tr(args.lang, "not a reporting year: {value}", value=year))
    return year


def _export_request(settings: Settings, args: argparse.Namespace) -> ExportRequest:
    scope = _scope(args)
    sheet = None
    if args.sheet:
        spec = find_sheet(args.sheet)
        if spec is None:
            _fail(
                tr(
                    args.lang,
                    "unknown sheet: {value} (known: {names})",
                    value=args.sheet,
                    names=", ".join(s.key for s in sheet_specs()),
                )
            )
        sheet = spec.key
    return ExportRequest(_year(settings, args), scope, args.fmt, sheet)


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    request = _export_request(settings, args)
    now = system_clock()
    out: Path = args.out or Path(request.file_name(now, settings.zone))
    if request.fmt == "csv" and request.sheet is None and out.suffix.lower() == ".csv":
        _fail(
            tr(
                args.lang,
                "several sheets go into a .zip of CSV files: name the output .zip, "
                "or choose one sheet with --sheet",
            )
        )
    if not out.parent.is_dir():
        _fail(tr(args.lang, "the folder {path} does not exist", path=out.parent))
    bot = await build(settings)
    try:
        actor = audit.cli_actor()
        counts = await asyncio.to_thread(
            run_export,
            settings.db_path,
            request,
            bot.dispatcher.forms,
            out,
            now,
            actor,
            ProgressBar(sys.stderr),
        )
        async with bot.database.transaction() as store:
            await store.audit.record(
                now,
                actor,
                audit.EXPORT,
                filter=request.audit_filter(),
                detail={
                    "via": "cli",
                    "file": out.name,
                    **{f"rows_{k}": v for k, v in counts.items()},
                },
            )
    finally:
        await bot.close()
    summary = ", ".join(f"{key} {rows}" for key, rows in counts.items())
    print(tr(args.lang, "Wrote {path} ({summary}).", path=out, summary=summary))
    return 0


# ---------------------------------------------------------------- indicators


async def _stats(settings: Settings, args: argparse.Namespace) -> int:
    scope, year = _scope(args), _year(settings, args)
    if args.charts is not None and not args.charts.is_dir():
        _fail(tr(args.lang, "the folder {path} does not exist", path=args.charts))
    bot = await build(settings)  # applies migrations to a new or older database
    await bot.close()
    breakdown = await asyncio.to_thread(load_breakdown, settings.db_path, scope, year)
    now = show_datetime(system_clock(), settings.zone)
    print(summary_text(args.lang, year, scope, breakdown.total, now))
    for heading, groups, by in (
        (tr(args.lang, "By commune:"), breakdown.by_commune, COMMUNES),
        (tr(args.lang, "By sector:"), breakdown.by_sector, SECTORS),
    ):
        print()
        print(heading)
        for line in group_lines(args.lang, groups, by):
            print(line)
    if args.charts is not None:
        charts = await asyncio.to_thread(draw_charts, args.lang, year, scope, breakdown)
        for name, content in zip(
            chart_names(year), (charts.indicators, charts.progress), strict=True
        ):
            path = args.charts / name
            path.write_bytes(content)
            print(tr(args.lang, "Chart written: {path}", path=path))
    return 0


# ---------------------------------------------------------------- announcements


async def _broadcast(settings: Settings, args: argparse.Namespace) -> int:
    scope = _scope(args)
    try:
        text = args.file.read_text(encoding="utf-8-sig").strip()
    except (OSError, UnicodeDecodeError) as error:
        _fail(tr(args.lang, "cannot read {path}: {error}", path=args.file, error=error))
    problem = text_problem(text)
    if problem is not None:
        _fail(tr(args.lang, problem, limit=TEXT_LIMIT))
    actor = audit.cli_actor()
    bot = await build(settings)
    try:
        now = system_clock()
        async with bot.database.transaction() as store:
            number = await store.broadcasts.create(
                actor,
                None,
                scope.commune_code,
                scope.sector_code,
                args.audience_lang,
                "preview",
                now,
                text,
            )
            broadcast = await store.broadcasts.get(number)
            assert broadcast is not None
            audience = await store.broadcasts.audience(
                scope.commune_code, scope.sector_code, args.audience_lang
            )
        print(preview_text(args.lang, broadcast, audience, settings, now))
        if not audience.recipients:
            async with bot.database.transaction() as store:
                await store.broadcasts.cancel(number)
            _fail(tr(args.lang, "nobody would receive it; nothing was sent"))
        asking = not args.yes and sys.stdin.isatty()
        if not args.yes and not (asking and _confirmed(args.lang, len(audience.recipients))):
            async with bot.database.transaction() as store:
                await store.broadcasts.cancel(number)
            if not asking:
                _fail(
                    tr(args.lang, "not sent: confirm with --yes when there is no terminal to ask")
                )
            print(tr(args.lang, "Cancelled: nothing was sent."))
            return 1
        async with bot.database.transaction() as store:
            recipients = await confirm(store, broadcast, actor, "cli", system_clock())
        assert recipients is not None
        return await _send_broadcast(bot, settings, args.lang, number)
    finally:
        await bot.close()


def _confirmed(lang: str, count: int) -> bool:
    answer = input(tr(lang, "Send it to {count} chats? Type yes to send: ", count=count))
    return fold(answer) in {"yes", "y", "co", "gui"}


async def _send_broadcast(bot: Bot, settings: Settings, lang: str, number: int) -> int:
    """Send now through every chat app with a token here; the running bot sends the rest."""
    if settings.telegram_token is None and settings.zalo_token is None:
        print(
            tr(
                lang,
                "Announcement no. {id} is queued: the running bot sends it within "
                "{minutes} minutes (no SXSH_TELEGRAM_TOKEN or SXSH_ZALO_TOKEN here to send it "
                "now).",
                id=number,
                minutes=settings.reminder_interval_minutes,
            )
        )
        return 0
    async with chat_app_sending(bot, lang):
        reports = await send_pending(
            Post(bot.database, bot.senders), settings, bot.dispatcher.clock, only=number
        )
    if not reports:
        print(tr(lang, "Outside the sending window: the running bot sends it from the morning."))
        return 0
    print(report_text(lang, reports[0]))
    return 1 if reports[0].failed else 0


# ---------------------------------------------------------------- backup and restore


async def _backup(settings: Settings, args: argparse.Namespace) -> int:
    try:
        copied = await asyncio.to_thread(backup, settings.db_path, args.path, system_clock())
    except BackupError as error:
        _fail(tr(args.lang, error.msgid, **error.params))
    print(
        tr(
            args.lang,
            "Backup written: {path} ({size} KB, {facilities} facilities).",
            path=copied.path,
            size=max(1, copied.size // 1024),
            facilities=copied.facilities,
        )
    )
    return 0


async def _restore(settings: Settings, args: argparse.Namespace) -> int:
    try:
        copied, kept = await asyncio.to_thread(restore, args.path, settings.db_path, system_clock())
    except BackupError as error:
        _fail(tr(args.lang, error.msgid, **error.params))
    except DatabaseInUse:
        _fail(
            tr(
                args.lang,
                "{path} is in use by a running bot or command; stop it first, then restore",
                path=settings.db_path,
            )
        )
    print(
        tr(
            args.lang,
            "Restored {path} from {backup} ({facilities} facilities).",
            path=copied.path,
            backup=args.path,
            facilities=copied.facilities,
        )
    )
    if kept is not None:
        print(tr(args.lang, "The database it replaced is kept as {path}.", path=kept))
    return 0


COMMANDS: dict[str, Handler] = {
    "staff": _staff,
    "audit": _audit,
    "export": _export,
    "stats": _stats,
    "broadcast": _broadcast,
    "backup": _backup,
    "restore": _restore,
}
