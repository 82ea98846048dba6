"""Announcements from the Department to facility managers: /broadcast, /announcements and
`sxsh-bot broadcast`.

A staff member writes an announcement (seminars, trainings, new guidance) for their scope
— the province, or their commune for commune staff — optionally narrowed to a commune, a
sector or a language; sees a preview with the number of recipients; and confirms. Only
then are the recipients fixed (one delivery row each) and the fan-out starts, through the
same claim-send-mark outbox as the deadline reminders (`bot.outbox`): rate-limited by the
channels, each message once, also across restarts — the reminder job resumes what a
stopped process left. The author gets a delivery report: sent, failed, unreachable.

Managers who send /announcements off get no announcements; deadline reminders are
switched separately (/reminders).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import audit
from bot.access import Access, person_of, refuse_outside_scope, staff_access
from bot.clock import Clock, show_datetime
from bot.dispatcher import Dispatcher, Turn, stale_message
from bot.i18n import N_, tr
from bot.messages import Button, Outbound
from bot.outbox import Post, Sender, claim_and_send, deliver, fan_out, fan_out_workers
from bot.reminder_service import OnOff, install_switch
from bot.reminders import DeliveryStatus, ReminderSchedule, delivery_verdict
from bot.settings import Settings
from bot.staff import asked_for
from bot.stats import scope_words
from bot.storage.broadcasts import Audience, Broadcast, DeliveryRow
from bot.storage.snapshot import FacilityFilter
from bot.storage.store import Store
from bot.storage.users import ChatUser
from flows.textmatch import fold

log = logging.getLogger(__name__)

PREFIX = "bc"
# Telegram allows 4,096 characters a message; the frame takes the rest.
TEXT_LIMIT = 3500
# A /broadcast waits this long for its text.
COMPOSE_WINDOW = timedelta(minutes=30)
_CANCEL_WORDS = {"cancel", "huy", "thoi", "stop"}


def announcement_text(lang: str, text: str) -> str:
    """The announcement as a manager reads it, in their language."""
    return "\n\n".join(
        [
            tr(lang, "📢 Announcement from the Lạng Sơn Department of Industry and Trade"),
            text,
            tr(
                lang,
                "To stop announcements, send /announcements off (deadline reminders are separate).",
            ),
        ]
    )


def text_problem(text: str) -> str | None:
    """The msgid saying what is wrong with an announcement's text, if anything."""
    if not text.strip():
        return N_("The announcement is empty. Write its text.")
    if len(text) > TEXT_LIMIT:
        return N_("The announcement is too long: keep it under {limit} characters.")
    return None


def is_due(row: DeliveryRow, now: datetime) -> bool:
    """Never tried, or failed (or claimed by a run that died) and worth another try."""
    if row.delivery is None:
        return True
    if row.delivery.status is DeliveryStatus.UNREACHABLE:
        return False
    return delivery_verdict(row.delivery, now) is None


@dataclass(frozen=True)
class DeliveryReport:
    broadcast_id: int
    recipients: int
    sent: int
    failed: int  # given up, or failed and waiting for the next try
    unreachable: int
    waiting: int  # not sent yet: never tried, failed and tried again later, in flight

    @property
    def settled(self) -> bool:
        return self.waiting == 0


def delivery_report(broadcast_id: int, rows: list[DeliveryRow], now: datetime) -> DeliveryReport:
    status = [row.delivery.status if row.delivery else None for row in rows]
    waiting = sum(
        1
        for row in rows
        if is_due(row, now)
        or (row.delivery is not None and row.delivery.status is DeliveryStatus.CLAIMED)
    )
    return DeliveryReport(
        broadcast_id,
        len(rows),
        status.count(DeliveryStatus.SENT),
        status.count(DeliveryStatus.FAILED),
        status.count(DeliveryStatus.UNREACHABLE),
        waiting,
    )


def report_text(lang: str, report: DeliveryReport) -> str:
    text = tr(
        lang,
        "📢 Announcement no. {id}: {recipients} recipients — sent {sent}, failed {failed}, "
        "cannot be reached {unreachable}.",
        id=report.broadcast_id,
        recipients=report.recipients,
        sent=report.sent,
        failed=report.failed,
        unreachable=report.unreachable,
    )
    if not report.settled:
        text += " " + tr(
            lang,
            "{waiting} not sent yet: they are tried again every few minutes, and you get a "
            "last report when every message is settled.",
            waiting=report.waiting,
        )
    return text


def preview_text(
    lang: str, broadcast: Broadcast, audience: Audience, settings: Settings, now: datetime
) -> str:
    scope = FacilityFilter(broadcast.commune_code, broadcast.sector_code)
    unreachable = sum(1 for user in audience.recipients if not user.reachable)
    lines = [
        tr(lang, "Preview — managers will read:"),
        "────────",
        announcement_text(lang, broadcast.text),
        "────────",
        tr(
            lang,
            "Recipients: {count} chats of {facilities} facilities in {scope}{language}.",
            count=len(audience.recipients),
            facilities=audience.facilities,
            scope=scope_words(lang, scope),
            language=" (" + broadcast.language + ")" if broadcast.language else "",
        ),
    ]
    if audience.opted_out:
        lines.append(
            tr(
                lang,
                "{count} turned announcements off and will not get it.",
                count=audience.opted_out,
            )
        )
    if unreachable:
        lines.append(
            tr(
                lang,
                "{count} blocked the bot: they are counted as unreachable.",
                count=unreachable,
            )
        )
    schedule = ReminderSchedule.from_settings(settings)
    if not schedule.in_window(now):
        lines.append(
            tr(
                lang,
                "Announcements go out between {start} and {end}: this one will start at {time}.",
                start=schedule.window_start.strftime("%H:%M"),
                end=schedule.window_end.strftime("%H:%M"),
                time=show_datetime(schedule.next_window(now), settings.zone),
            )
        )
    return "\n".join(lines)


async def confirm(
    store: Store, broadcast: Broadcast, actor: str, via: str, now: datetime
) -> list[ChatUser] | None:
    """Fix the recipients, mark it confirmed and audit it; None if it was not waiting for
    confirmation any more."""
    audience = await store.broadcasts.audience(
        broadcast.commune_code, broadcast.sector_code, broadcast.language
    )
    if not await store.broadcasts.confirm(broadcast.id, audience.recipients, now):
        return None
    await store.audit.record(
        now,
        actor,
        audit.BROADCAST,
        target=f"broadcast:{broadcast.id}",
        filter={
            "commune": broadcast.commune_code,
            "sector": broadcast.sector_code,
            "language": broadcast.language,
        },
        detail={
            "via": via,
            "recipients": len(audience.recipients),
            "characters": len(broadcast.text),
        },
    )
    return audience.recipients


# ---------------------------------------------------------------- sending


async def send_pending(
    post: Post,
    settings: Settings,
    clock: Clock,
    only: int | None = None,
    notify_interim: bool = False,
) -> list[DeliveryReport]:
    """Send every confirmed announcement's messages that are due (or those of `only`),
    inside the sending window; report to each author when theirs is settled."""
    schedule = ReminderSchedule.from_settings(settings)
    if not schedule.in_window(clock()):
        return []
    async with post.database.snapshot() as store:
        unfinished = [b for b in await store.broadcasts.unfinished() if only in (None, b.id)]
        members = {
            b.id: [row.user_id for row in await store.broadcasts.deliveries(b.id)]
            for b in unfinished
        }
    reports = []
    for broadcast in unfinished:

        async def send(user_id: int, broadcast: Broadcast = broadcast) -> None:
            await _send_one(post, broadcast, user_id, clock)

        await fan_out(members[broadcast.id], send, fan_out_workers(settings.send_rate))
        reports.append(await _report(post, broadcast, clock, notify_interim))
    return reports


async def _send_one(post: Post, broadcast: Broadcast, user_id: int, clock: Clock) -> None:
    now = clock()

    async def claim(store: Store) -> tuple[ChatUser, Outbound] | None:
        [row] = await store.broadcasts.deliveries(broadcast.id, user_id)
        user = await store.users.by_id(user_id)
        if not is_due(row, now) or user is None or user.channel not in post.senders:
            return None
        await store.broadcasts.claim(broadcast.id, user_id, now)
        return user, Outbound(user.chat_id, announcement_text(user.language, broadcast.text))

    async def finish(store: Store, status: DeliveryStatus) -> None:
        await store.broadcasts.finish_delivery(broadcast.id, user_id, status, clock())

    await claim_and_send(post, claim, finish)


async def _report(
    post: Post, broadcast: Broadcast, clock: Clock, notify_interim: bool
) -> DeliveryReport:
    async with post.database.transaction() as store:
        rows = await store.broadcasts.deliveries(broadcast.id)
        report = delivery_report(broadcast.id, rows, clock())
        final = report.settled and await store.broadcasts.mark_finished(broadcast.id, clock())
        author = (
            await store.users.by_id(broadcast.creator_user_id)
            if broadcast.creator_user_id is not None
            else None
        )
    if author is not None and (final or notify_interim):
        status = await deliver(
            post, author, Outbound(author.chat_id, report_text(author.language, report))
        )
        if status is not DeliveryStatus.SENT:
            log.warning("the delivery report of announcement %d was not delivered", broadcast.id)
    return report


# ---------------------------------------------------------------- the chat


class ChatBroadcasts:
    """Starts the fan-out of a confirmed announcement outside the chat turn."""

    def __init__(self, dispatcher: Dispatcher, senders: Mapping[str, Sender]) -> None:
        self.post = Post(dispatcher.database, senders)
        self.dispatcher = dispatcher
        self._running: set[asyncio.Task[None]] = set()

    def start(self, broadcast_id: int) -> None:
        task = asyncio.create_task(self._send(broadcast_id))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _send(self, broadcast_id: int) -> None:
        try:
            await send_pending(
                self.post,
                self.dispatcher.settings,
                self.dispatcher.clock,
                only=broadcast_id,
                notify_interim=True,
            )
        except Exception:
            log.exception("announcement %d: the fan-out failed; the next run goes on", broadcast_id)

    async def wait(self) -> None:
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)


def _allowed(access: Access, broadcast: Broadcast) -> bool:
    """The announcement's audience lies within the presser's scope (checked on each press)."""
    narrowed = access.scope.narrow(broadcast.commune_code, broadcast.sector_code)
    return narrowed is not None and narrowed.commune_code == broadcast.commune_code


async def _show_preview(turn: Turn, broadcast: Broadcast) -> None:
    audience = await turn.store.broadcasts.audience(
        broadcast.commune_code, broadcast.sector_code, broadcast.language
    )
    text = preview_text(turn.lang, broadcast, audience, turn.settings, turn.now)
    cancel = Button(turn.t("Cancel"), f"{PREFIX}:no:{broadcast.id}")
    if not audience.recipients:
        turn.reply(text + "\n" + turn.t("Nobody would receive it."), [[cancel]], menu=True)
        return
    send = Button(
        turn.t("Send to {count} chats", count=len(audience.recipients)),
        f"{PREFIX}:ok:{broadcast.id}",
    )
    turn.reply(text + "\n\n" + turn.t("Send it?"), [[send], [cancel]], menu=True)


def install(dispatcher: Dispatcher, senders: Mapping[str, Sender]) -> ChatBroadcasts:
    broadcasts = ChatBroadcasts(dispatcher, senders)

    @dispatcher.command(
        "broadcast",
        N_("Send an announcement to the managers of your area"),
        audience="staff",
    )
    async def broadcast(turn: Turn, argument: str) -> None:
        access = await staff_access(turn)
        if access is None:
            return
        if fold(argument) in _CANCEL_WORDS:
            composing = await turn.store.broadcasts.composing(
                turn.user.id, turn.now - COMPOSE_WINDOW
            )
            if composing is not None:
                await turn.store.broadcasts.cancel(composing.id)
            turn.reply(turn.t("Cancelled: nothing was sent."))
            return
        ask = asked_for(turn, argument, "/broadcast Tam Thanh C23")
        if ask is None:
            return
        scope = access.scope.narrow(ask.commune_code, ask.sector_code)
        if scope is None:
            refuse_outside_scope(turn, access)
            return
        await turn.store.broadcasts.create(
            str(person_of(turn.user)),
            turn.user.id,
            scope.commune_code,
            scope.sector_code,
            None,
            "composing",
            turn.now,
        )
        audience = await turn.store.broadcasts.audience(scope.commune_code, scope.sector_code, None)
        turn.reply(
            turn.t(
                "Write the announcement in your next message (up to {limit} characters). "
                "It is for the managers of {scope}: {count} chats now. You will see a preview "
                "before anything is sent.",
                limit=TEXT_LIMIT,
                scope=scope_words(turn.lang, scope),
                count=len(audience.recipients),
            ),
            [
                [
                    Button(
                        turn.t("Cancel"),
                        "cmd:broadcast:cancel",
                        numbered=False,
                        typed="/broadcast cancel",
                    )
                ]
            ],
        )

    async def composed(turn: Turn, text: str) -> bool:
        """The text of an announcement being written, then its preview."""
        composing = await turn.store.broadcasts.composing(turn.user.id, turn.now - COMPOSE_WINDOW)
        if composing is None:
            return False
        access = await staff_access(turn)
        if access is None or not _allowed(access, composing):
            await turn.store.broadcasts.cancel(composing.id)
            if access is not None:
                refuse_outside_scope(turn, access)
            return True
        problem = text_problem(text)
        if problem is not None:
            turn.reply(turn.t(problem, limit=TEXT_LIMIT))
            return True
        await turn.store.broadcasts.set_text(composing.id, text.strip())
        stored = await turn.store.broadcasts.get(composing.id)
        assert stored is not None
        await _show_preview(turn, stored)
        return True

    # Before the other free-text handlers: the announcement is not a question.
    dispatcher.text_handlers.insert(0, composed)

    @dispatcher.callback(PREFIX)
    async def pressed(turn: Turn, rest: str) -> None:
        access = await staff_access(turn)
        if access is None:
            return
        action, _, number = rest.partition(":")
        found = await turn.store.broadcasts.get(int(number)) if number.isdigit() else None
        if (
            found is None
            or action not in ("ok", "no")
            or found.created_by != str(person_of(turn.user))
        ):
            turn.reply(stale_message(turn))
            return
        if not _allowed(access, found):
            refuse_outside_scope(turn, access)
            return
        if action == "no":
            await turn.store.broadcasts.cancel(found.id)
            turn.reply(turn.t("Cancelled: nothing was sent."))
            return
        recipients = await confirm(turn.store, found, str(person_of(turn.user)), "chat", turn.now)
        if recipients is None:
            turn.reply(
                turn.t("This announcement was already sent or cancelled.")
                if found.status != "preview"
                else stale_message(turn)
            )
            return
        turn.reply(
            turn.t(
                "Sending announcement no. {id} to {count} chats. You will get a delivery "
                "report here.",
                id=found.id,
                count=len(recipients),
            )
        )
        broadcasts.start(found.id)

    install_switch(
        dispatcher,
        ANNOUNCEMENT_SWITCH,
        N_("Announcements from the Department: /announcements off or /announcements on"),
    )
    return broadcasts


async def _switch(turn: Turn, off: bool) -> None:
    await turn.store.broadcasts.set_opted_out(turn.user.id, off, turn.now)
    turn.reply(
        turn.t(
            "Announcements are off. Deadline reminders are not affected "
            "(/reminders). Send /announcements on to get announcements again."
        )
        if off
        else turn.t(
            "Announcements are on: you will get the Department's news about SXSH "
            "seminars, trainings and guidance."
        )
    )


ANNOUNCEMENT_SWITCH = OnOff(
    command="announcements",
    is_off=lambda store, user_id: store.broadcasts.is_opted_out(user_id),
    switch=_switch,
    not_understood=N_(
        "I didn't understand “{text}”. Send /announcements off or /announcements on."
    ),
    state_off=N_("Announcements are off."),
    state_on=N_("Announcements are on."),
    turn_on=N_("Turn announcements on"),
    turn_off=N_("Turn announcements off"),
)
