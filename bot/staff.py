"""Department staff in the chat: /export, /facility, /staff (administrators), /myid.

Handlers stay thin: each asks `bot.access` for the caller's role on every call and
every button press, then calls the export engine or the role functions. Button data
carries only what was asked for (a year, a format, a commune, a facility id), never a
right; the scope is checked again on each press.

An export does not run inside the chat turn: the turn records the request in the audit
log and returns at once, then a background task sends "preparing…", writes the file in
a worker thread from its own read-only snapshot (so every other chat keeps being
answered) and sends it as a document.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot import audit
from bot.access import (
    Access,
    Person,
    Role,
    RoleProblem,
    commune_name,
    grant_role,
    parse_grant,
    parse_person,
    person_of,
    refuse_outside_scope,
    revoke_role,
    role_of,
    staff_access,
)
from bot.clock import local, show_datetime
from bot.dispatcher import Dispatcher, Turn, stale_message
from bot.formrun import PROFILE_FORM, FormRunner
from bot.geo import find_commune, find_sector
from bot.i18n import N_, tr
from bot.messages import Attachment, Button, Outbound
from bot.reminder_service import staff_recipients
from bot.sheets import ANNUAL_REPORT_FORM, FORMATS, ExportFormat, ExportRequest, run_export
from bot.storage.facilities import Facility
from bot.storage.snapshot import FacilityFilter
from flows.engine import decode_answers
from flows.textmatch import fold

log = logging.getLogger(__name__)

# Telegram bots may send documents up to 50 MB.
DOCUMENT_LIMIT = 50 * 1024 * 1024
# The chat apps that can carry an export file: Zalo's Bot API has no document upload.
FILE_CHANNELS = frozenset({"telegram"})
SEARCH_RESULTS = 8
_YEAR = re.compile(r"^(19|20|21)\d\d$")
_SECTOR = re.compile(r"^[a-zA-Z]\d\d$")
_FORMAT_WORDS: dict[str, ExportFormat] = {
    "xlsx": "xlsx",
    "excel": "xlsx",
    "xls": "xlsx",
    "csv": "csv",
    "zip": "csv",
}
SIZE_LABELS = {
    "micro": N_("micro"),
    "small": N_("small"),
    "medium": N_("medium"),
    "large": N_("large"),
}


class DocumentSender(Protocol):
    async def send(self, outbound: Outbound) -> bool: ...


@dataclass(frozen=True)
class ExportAsk:
    """What a staff member asked to export, before their scope is applied."""

    year: int
    fmt: ExportFormat | None = None
    commune_code: str | None = None
    sector_code: str | None = None

    def button_data(self, fmt: ExportFormat) -> str:
        return f"ex:{self.year}:{fmt}:{self.commune_code or '-'}:{self.sector_code or '-'}"


class ExportProblem(ValueError):
    """A typed /export argument that names no year, commune or sector we know."""


def parse_export_argument(text: str, default_year: int) -> ExportAsk:
    year, sector = default_year, None
    fmt: ExportFormat | None = None
    rest: list[str] = []
    for token in text.split():
        if _YEAR.match(token):
            year = int(token)
        elif token.lower() in _FORMAT_WORDS:
            fmt = _FORMAT_WORDS[token.lower()]
        elif _SECTOR.match(token):
            found = find_sector(token)
            if found is None:
                raise ExportProblem(token)
            sector = found.code
        else:
            rest.append(token)
    commune_code = None
    if rest:
        commune = find_commune(" ".join(rest))
        if commune is None:
            raise ExportProblem(" ".join(rest))
        commune_code = commune.code
    return ExportAsk(year, fmt, commune_code, sector)


def asked_for(turn: Turn, argument: str, example: str) -> ExportAsk | None:
    """The year (this year in Vietnam time by default), commune and sector a staff command
    was typed with; None after saying which word is not one."""
    try:
        return parse_export_argument(argument, _reporting_year(turn))
    except ExportProblem as problem:
        turn.reply(
            turn.t(
                "I don't know “{value}”. Write for example: {example}",
                value=str(problem),
                example=example,
            )
        )
        return None


def parse_export_data(rest: str) -> ExportAsk | None:
    """Button data "2026:xlsx:06040:-"; None if it was not made by `button_data`."""
    parts = rest.split(":")
    if len(parts) != 4 or not _YEAR.match(parts[0]) or parts[1] not in FORMATS:
        return None
    commune = None if parts[2] == "-" else find_commune(parts[2])
    sector = None if parts[3] == "-" else find_sector(parts[3])
    if (parts[2] != "-" and commune is None) or (parts[3] != "-" and sector is None):
        return None
    fmt: ExportFormat = "xlsx" if parts[1] == "xlsx" else "csv"
    return ExportAsk(
        int(parts[0]), fmt, commune.code if commune else None, sector.code if sector else None
    )


class ChatExports:
    """Runs exports asked for in chat, one at a time, outside the chat turns."""

    def __init__(self, dispatcher: Dispatcher, senders: Mapping[str, DocumentSender]) -> None:
        self.dispatcher = dispatcher
        self.senders = senders
        self._one_at_a_time = asyncio.Semaphore(1)
        self._running: set[asyncio.Task[None]] = set()

    async def start(self, turn: Turn, access: Access, ask: ExportAsk) -> None:
        scope = access.scope.narrow(ask.commune_code, ask.sector_code)
        if scope is None:
            refuse_outside_scope(turn, access)
            return
        sender = self.senders.get(turn.user.channel)
        if sender is not None and turn.user.channel not in FILE_CHANNELS:
            # A chat app that cannot carry the file: no format to choose, say where to go.
            turn.reply(_exports_elsewhere(turn, ask, scope))
            return
        if ask.fmt is None:
            turn.reply(
                turn.t(
                    "Export the data of {scope}, year {year}. Which file?",
                    scope=_scope_words(turn.lang, scope.commune_code, scope.sector_code),
                    year=ask.year,
                ),
                [
                    [
                        Button(turn.t("Excel (XLSX)"), ask.button_data("xlsx")),
                        Button(turn.t("CSV (zip)"), ask.button_data("csv")),
                    ]
                ],
                menu=True,
            )
            return
        if sender is None:
            turn.reply(
                turn.t(
                    "Files cannot be sent on this channel. On the server, run: "
                    "sxsh-bot export --year {year} --format {fmt}",
                    year=ask.year,
                    fmt=ask.fmt,
                )
            )
            return
        request = ExportRequest(ask.year, scope, ask.fmt)
        person = str(person_of(turn.user))
        await turn.store.audit.record(
            turn.now, person, audit.EXPORT, filter=request.audit_filter(), detail={"via": "chat"}
        )
        exported_by = f"{person} ({access.describe('vi')})"
        task = asyncio.create_task(
            self._deliver_logged(sender, turn.user.chat_id, turn.lang, request, exported_by)
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _deliver_logged(
        self,
        sender: DocumentSender,
        chat_id: str,
        lang: str,
        request: ExportRequest,
        exported_by: str,
    ) -> None:
        """A background task has nobody to raise to: log what went wrong."""
        try:
            await self._deliver(sender, chat_id, lang, request, exported_by)
        except Exception:
            log.exception("could not deliver the export %s to chat %s", request, chat_id)

    async def _deliver(
        self,
        sender: DocumentSender,
        chat_id: str,
        lang: str,
        request: ExportRequest,
        exported_by: str,
    ) -> None:
        scope = _scope_words(lang, request.scope.commune_code, request.scope.sector_code)
        preparing = tr(
            lang, "Preparing the file ({scope}, year {year})…", scope=scope, year=request.year
        )
        if not await sender.send(Outbound(chat_id, preparing)):
            return
        now = self.dispatcher.clock()
        async with self._one_at_a_time:
            with tempfile.TemporaryDirectory(prefix="sxsh-export-") as folder:
                out = Path(folder) / request.file_name(now, self.dispatcher.settings.zone)
                try:
                    counts = await asyncio.to_thread(
                        run_export,
                        self.dispatcher.database.path,
                        request,
                        self.dispatcher.forms,
                        out,
                        now,
                        exported_by,
                    )
                    size = out.stat().st_size
                    content = out.read_bytes() if size <= DOCUMENT_LIMIT else b""
                except Exception:
                    log.exception("export failed: %s", request)
                    await sender.send(
                        Outbound(
                            chat_id, tr(lang, "Sorry, the export failed. Please try again later.")
                        )
                    )
                    return
        if not content:
            await sender.send(
                Outbound(
                    chat_id,
                    tr(
                        lang,
                        "The file is larger than Telegram allows (50 MB). Please run "
                        "sxsh-bot export on the server, or export one commune at a time.",
                    ),
                )
            )
            return
        caption = tr(
            lang,
            "SXSH data, year {year} ({scope}): {facilities} facilities, "
            "{missing} have not sent the yearly report.",
            year=request.year,
            scope=scope,
            facilities=counts.get("facilities", 0),
            missing=counts.get("not_reported", 0),
        )
        await sender.send(
            Outbound(chat_id, caption, attachment=Attachment("document", out.name, content))
        )

    async def wait(self) -> None:
        """Let running exports finish (tests, shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)


def _exports_elsewhere(turn: Turn, ask: ExportAsk, scope: FacilityFilter) -> str:
    """Where a staff member on a chat app without files gets the export they asked for:
    the same request to the bot on Telegram, or the command line on the server."""
    commune = find_commune(ask.commune_code) if ask.commune_code else None
    words = [str(ask.year), ask.fmt, commune.name if commune else None, ask.sector_code]
    command_line = f"sxsh-bot export --year {ask.year} --format {ask.fmt or 'xlsx'}"
    if scope.commune_code:
        command_line += f" --commune {scope.commune_code}"
    if scope.sector_code:
        command_line += f" --sector {scope.sector_code}"
    return turn.t(
        "{app} cannot carry files, so exports are not sent here. Send {command} to this bot "
        "on Telegram, or run on the server: {command_line}",
        app=turn.user.channel.capitalize(),
        command="/export " + " ".join(word for word in words if word),
        command_line=command_line,
    )


def _scope_words(lang: str, commune_code: str | None, sector_code: str | None) -> str:
    where = commune_name(commune_code) if commune_code else tr(lang, "the whole province")
    return f"{where}, {sector_code}" if sector_code else where


def _reporting_year(turn: Turn) -> int:
    return local(turn.now, turn.settings.zone).year


# ---------------------------------------------------------------- facilities


async def _facility_card(turn: Turn, facility: Facility) -> str:
    sector = find_sector(facility.sector_code)
    sector_name = (sector.name_en if turn.lang == "en" else sector.name_vi) if sector else ""
    sector_text = f"{facility.sector_code} {sector_name}".strip()
    lines = [
        f"{facility.code} — {facility.name}",
        turn.t(
            "Commune: {commune} (former district: {district})",
            commune=commune_name(facility.commune_code),
            district=facility.former_district or "—",
        ),
        turn.t(
            "Sector: {sector} · Size: {size}",
            sector=sector_text,
            size=turn.t(SIZE_LABELS.get(facility.size_class, facility.size_class)),
        ),
    ]
    if facility.address:
        lines.append(turn.t("Address: {address}", address=facility.address))
    if facility.phone:
        lines.append(turn.t("Phone (register): {phone}", phone=facility.phone))
    profile = await turn.store.drafts.find(facility.id, PROFILE_FORM, "once")
    if profile is not None and PROFILE_FORM in turn.dispatcher.forms:
        form = turn.dispatcher.forms.get(PROFILE_FORM)
        answers = decode_answers(form, await turn.store.drafts.answers(profile.id))
        contact = ", ".join(
            str(answers[name]) for name in ("contact_name", "contact_phone") if answers.get(name)
        )
        if contact:
            lines.append(turn.t("SXSH contact: {contact}", contact=contact))
    accounts = await turn.store.users.of_facility(facility.id)
    lines.append(turn.t("Linked chat accounts: {count}", count=len(accounts)))
    year = _reporting_year(turn)
    report = await turn.store.drafts.find(facility.id, ANNUAL_REPORT_FORM, str(year))
    first = next(iter(await turn.store.reports.revisions(facility.id, year)), None)
    if first is not None:
        state = turn.t("sent late") if first.late else turn.t("sent on time")
        when = turn.t(
            " (first sent {when}, receipt {receipt})",
            when=show_datetime(first.submitted_at, turn.settings.zone),
            receipt=first.receipt,
        )
    elif report is None:
        state, when = turn.t("not started"), ""
    else:
        state = turn.t("being written, not sent")
        when = turn.t(
            " (last saved {when})", when=show_datetime(report.updated_at, turn.settings.zone)
        )
    lines.append(turn.t("Yearly report {year}: {state}", year=year, state=state) + when)
    return "\n".join(lines)


async def _find_facilities(turn: Turn, access: Access, text: str) -> list[Facility]:
    scope = access.scope.narrow()
    assert scope is not None  # staff always have a scope
    candidates = await turn.store.facilities.list(commune=scope.commune_code)
    wanted = fold(text)
    exact = [f for f in candidates if fold(f.code) == wanted]
    if exact:
        return exact
    return [f for f in candidates if wanted in fold(f.name) or wanted in fold(f.code)]


# ---------------------------------------------------------------- roles


def _describe_grant(lang: str, role: str, commune_code: str | None) -> str:
    label = Role(role).label(lang)
    return f"{label} — {commune_name(commune_code)}" if commune_code else label


async def _list_staff(turn: Turn) -> None:
    grants = await turn.store.staff.all()
    lines = [turn.t("Staff with a role:")]
    buttons: list[list[Button]] = []
    for admin_id in turn.settings.admin_ids:
        lines.append(f"• telegram:{admin_id} — {Role.ADMIN.label(turn.lang)} (SXSH_ADMIN_IDS)")
    for grant in grants:
        lines.append(
            f"• {grant.person} — {_describe_grant(turn.lang, grant.role, grant.commune_code)}"
            f" ({grant.granted_by}, {show_datetime(grant.granted_at, turn.settings.zone)})"
        )
        buttons.append(
            [Button(turn.t("Revoke {person}", person=grant.person), f"st:rm:{grant.id}")]
        )
    if not grants and not turn.settings.admin_ids:
        lines.append(turn.t("(nobody yet)"))
    lines.append("")
    lines.append(
        turn.t(
            "To grant a role: /staff add telegram:123456 province (or admin, or "
            "commune Tam Thanh). To revoke: /staff remove telegram:123456. Each person can "
            "see their id with /myid."
        )
    )
    turn.reply("\n".join(lines), buttons)


async def _revoke(turn: Turn, person: Person) -> None:
    if person == person_of(turn.user):
        turn.reply(turn.t("You cannot revoke your own role; ask another administrator."))
        return
    if await revoke_role(turn.store, person, str(person_of(turn.user)), turn.now):
        turn.reply(turn.t("{person} no longer has a staff role.", person=str(person)))
    elif person.channel == "telegram" and person.external_id in {
        str(i) for i in turn.settings.admin_ids
    }:
        turn.reply(
            turn.t(
                "{person} is an administrator through SXSH_ADMIN_IDS; change that setting "
                "to remove them.",
                person=str(person),
            )
        )
    else:
        turn.reply(turn.t("{person} has no staff role.", person=str(person)))


# ---------------------------------------------------------------- installing


def install(
    dispatcher: Dispatcher, runner: FormRunner, senders: Mapping[str, DocumentSender]
) -> ChatExports:
    exports = ChatExports(dispatcher, senders)

    async def staff_audience(turn: Turn) -> set[str]:
        access = await role_of(turn.store, turn.user, turn.settings)
        if access.role is Role.ADMIN:
            return {"staff", "admin"}
        return {"staff"} if access.is_staff else set()

    dispatcher.audience_providers.append(staff_audience)

    async def staff_menus(channel: str) -> list[tuple[str, str, set[str]]]:
        """Staff chats of `channel` that have written to the bot, with their commands."""
        menus = []
        async with dispatcher.database.snapshot() as store:
            for user, _commune in await staff_recipients(store, dispatcher.settings):
                access = await role_of(store, user, dispatcher.settings)
                if user.channel != channel or not access.is_staff:
                    continue
                audience = {"everyone", "staff"}
                if user.facility_id is not None:
                    audience.add("linked")
                if access.role is Role.ADMIN:
                    audience.add("admin")
                menus.append((user.chat_id, user.language, audience))
        return menus

    dispatcher.menu_providers.append(staff_menus)

    @dispatcher.command(
        "export", N_("Export the collected data as an Excel or CSV file"), audience="staff"
    )
    async def export(turn: Turn, argument: str) -> None:
        access = await staff_access(turn)
        if access is None:
            return
        ask = asked_for(turn, argument, "/export 2026 xlsx Tam Thanh C23")
        if ask is not None:
            await exports.start(turn, access, ask)

    @dispatcher.callback("ex")
    async def export_pressed(turn: Turn, rest: str) -> None:
        access = await staff_access(turn)
        if access is None:
            return
        ask = parse_export_data(rest)
        if ask is None:
            turn.reply(stale_message(turn))
            return
        await exports.start(turn, access, ask)

    @dispatcher.command(
        "facility", N_("Look up a facility: its details and this year's report"), audience="staff"
    )
    async def facility(turn: Turn, argument: str) -> None:
        access = await staff_access(turn)
        if access is None:
            return
        if not argument.strip():
            turn.reply(turn.t("Type a facility code or part of its name, e.g. /facility DEMO01"))
            return
        found = await _find_facilities(turn, access, argument)
        if not found:
            turn.reply(
                turn.t(
                    "No facility matches “{text}” in {scope}.",
                    text=argument.strip(),
                    scope=access.scope.describe(turn.lang),
                )
            )
        elif len(found) == 1:
            turn.reply(await _facility_card(turn, found[0]))
        else:
            shown = found[:SEARCH_RESULTS]
            more = len(found) - len(shown)
            text = turn.t("{count} facilities match. Choose one:", count=len(found))
            if more:
                text += "\n" + turn.t("({more} more: type more of the name)", more=more)
            turn.reply(
                text,
                [[Button(f"{f.code} — {f.name}", f"fa:{f.id}")] for f in shown],
                menu=True,
            )

    @dispatcher.callback("fa")
    async def facility_pressed(turn: Turn, rest: str) -> None:
        access = await staff_access(turn)
        if access is None:
            return
        chosen = await turn.store.facilities.by_id(int(rest)) if rest.isdigit() else None
        if chosen is None:
            turn.reply(stale_message(turn))
            return
        if not access.scope.allows(chosen):
            refuse_outside_scope(turn, access)
            return
        turn.reply(await _facility_card(turn, chosen))

    @dispatcher.command(
        "staff", N_("Grant or revoke staff roles (administrators)"), audience="admin"
    )
    async def staff(turn: Turn, argument: str) -> None:
        if await staff_access(turn, admin_only=True) is None:
            return
        words = argument.split()
        action = fold(words[0]) if words else ""
        if not words or action in ("list", "danh sach"):
            await _list_staff(turn)
        elif action in ("add", "grant", "them", "cap"):
            try:
                change = parse_grant(words[1:])
            except RoleProblem as problem:
                turn.reply(turn.t(str(problem)))
                return
            await grant_role(
                turn.store,
                change.person,
                change.role,
                change.commune_code,
                str(person_of(turn.user)),
                turn.now,
            )
            turn.reply(
                turn.t(
                    "Done: {person} is now {role}.",
                    person=str(change.person),
                    role=_describe_grant(turn.lang, change.role, change.commune_code),
                )
            )
        elif action in ("remove", "revoke", "xoa", "thu hoi") and len(words) == 2:
            person = parse_person(words[1])
            if person is None:
                turn.reply(turn.t("Name the person as channel:id, for example telegram:123456."))
                return
            await _revoke(turn, person)
        else:
            turn.reply(
                turn.t(
                    "Write /staff, /staff add telegram:123456 province, or /staff remove "
                    "telegram:123456."
                )
            )

    @dispatcher.callback("st")
    async def staff_pressed(turn: Turn, rest: str) -> None:
        if await staff_access(turn, admin_only=True) is None:
            return
        action, _, grant_id = rest.partition(":")
        grant = await turn.store.staff.by_id(int(grant_id)) if grant_id.isdigit() else None
        if grant is None or action not in ("rm", "rmok"):
            turn.reply(stale_message(turn))
            return
        person = Person(grant.channel, grant.external_id)
        if action == "rm":
            turn.reply(
                turn.t(
                    "Revoke the role of {person} ({role})?",
                    person=str(person),
                    role=_describe_grant(turn.lang, grant.role, grant.commune_code),
                ),
                [
                    [
                        Button(turn.t("Yes, revoke"), f"st:rmok:{grant.id}"),
                        Button(turn.t("No"), "cmd:staff"),
                    ]
                ],
                menu=True,
            )
            return
        await _revoke(turn, person)

    @dispatcher.command(
        "myid", N_("Your id, for an administrator to grant you a role"), listed=False
    )
    async def my_id(turn: Turn, argument: str) -> None:
        access = await role_of(turn.store, turn.user, turn.settings)
        turn.reply(
            turn.t(
                "Your id: {person}. Your role: {role}.",
                person=str(person_of(turn.user)),
                role=access.describe(turn.lang),
            )
        )

    return exports
