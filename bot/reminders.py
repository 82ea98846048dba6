"""Which deadline reminder is due for whom: pure functions of their inputs, no I/O.

Yearly SXSH reports are due *before* a day of the year (15 December by default): 00:00 of
that day, local time, is the deadline and the day before is the last day. A reminder falls
due a number of days before the deadline (30, 14, 7, 3 and 1 by default) and goes out in
the first sending window (08:00–20:00) at or after that moment, so the 1-day reminder, due
at 00:00 on 14 December, goes out on the morning of the 14th.

Only users of facilities without a submitted report are reminded, and never those who
turned reminders off or cannot be reached. Each (user, year, reminder) goes out once: the
caller claims a row for it before sending and marks it after (`Delivery`). When the bot was
down, only the most recent reminder that fell due is sent: a manager who missed "14 days
left" and "7 days left" hears "5 days left", once.

On the morning after the deadline the Department's staff get a summary of who has not
reported (`plan_digest`, `staff_digest`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from itertools import groupby
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.storage.facilities import Facility
from bot.storage.users import ChatUser
from flows.engine import decode_answers, progress
from flows.model import Form

if TYPE_CHECKING:
    from bot.settings import Settings

# A claimed row not marked within this time belongs to a run that died (a crash, a
# restart): the next run sends that one message again. Longer than any single send
# takes, with the rate limiter's waits and the channel's retries.
CLAIM_LEASE = timedelta(minutes=15)
# A reminder that failed this many times is given up; the next one will be tried.
MAX_ATTEMPTS = 10
# The staff summary is still worth sending this long after the deadline.
DIGEST_GRACE = timedelta(days=14)
DIGEST = "digest"


def reminder_key(days_before: int) -> str:
    """The stored name of a reminder: "30d" for the one 30 days before the deadline."""
    return f"{days_before}d"


class ReportState(Enum):
    NOT_STARTED = "not_started"
    DRAFT = "draft"
    SUBMITTED = "submitted"


@dataclass(frozen=True)
class ReportProgress:
    """Where a facility's report for the year stands."""

    state: ReportState
    # Questions answered of those asked, when the form is loaded: "12 of 20".
    answered: int | None = None
    total: int | None = None


NOT_STARTED = ReportProgress(ReportState.NOT_STARTED)


def report_progress(
    form: Form | None,
    status: str | None,
    stored: Mapping[str, object],
    context: Mapping[str, object],
) -> ReportProgress:
    """From a draft's status ('draft', 'submitted' or None for no draft) and its answers."""
    if status is None:
        return NOT_STARTED
    if status == "submitted":
        return ReportProgress(ReportState.SUBMITTED)
    if form is None:
        return ReportProgress(ReportState.DRAFT)
    answered, total = progress(form, decode_answers(form, stored), context)
    return ReportProgress(ReportState.DRAFT, answered, total)


def report_context(form: Form, year: int, facility_name: str) -> dict[str, object]:
    """The names a report form's expressions read, for counting its relevant questions
    outside a conversation; names only a conversation knows are left empty."""
    values: dict[str, object] = dict.fromkeys(form.context)
    values.update(current_year=year, facility_name=facility_name)
    return values


@dataclass(frozen=True)
class Recipient:
    """A linked chat user, with what planning needs to know about them."""

    user: ChatUser
    facility: Facility
    report: ReportProgress
    opted_out: bool

    @property
    def user_id(self) -> int:
        return self.user.id


class DeliveryStatus(Enum):
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Delivery:
    """The stored row of one (user, year, reminder)."""

    status: DeliveryStatus
    claimed_at: datetime
    attempts: int
    sent_at: datetime | None = None


# (user id, report year, reminder key)
DeliveryKey = tuple[int, int, str]


@dataclass(frozen=True)
class ReminderSchedule:
    deadline_month: int
    deadline_day: int
    # Days before the deadline, largest first.
    offsets: tuple[int, ...]
    window_start: time
    window_end: time
    zone: ZoneInfo

    @classmethod
    def from_settings(cls, settings: Settings) -> ReminderSchedule:
        return cls(
            deadline_month=settings.report_deadline_month,
            deadline_day=settings.report_deadline_day,
            offsets=tuple(sorted(set(settings.reminder_offsets), reverse=True)),
            window_start=settings.reminder_window_start,
            window_end=settings.reminder_window_end,
            zone=settings.zone,
        )

    def deadline(self, year: int) -> datetime:
        """00:00 local time of the day reports for `year` are due before."""
        return datetime(year, self.deadline_month, self.deadline_day, tzinfo=self.zone)

    def last_day(self, year: int) -> date:
        return self.deadline(year).date() - timedelta(days=1)

    def due_at(self, year: int, days_before: int) -> datetime:
        return self.deadline(year) - timedelta(days=days_before)

    def in_window(self, moment: datetime) -> bool:
        clock_time = moment.astimezone(self.zone).time()
        return self.window_start <= clock_time < self.window_end

    def next_window(self, moment: datetime) -> datetime:
        """The first moment at or after `moment` inside the sending window."""
        if self.in_window(moment):
            return moment
        here = moment.astimezone(self.zone)
        day = here.date() if here.time() < self.window_start else here.date() + timedelta(days=1)
        return datetime.combine(day, self.window_start, tzinfo=self.zone)

    def report_year(self, now: datetime) -> int:
        """The year of the next deadline: the report reminders are about."""
        year = now.astimezone(self.zone).year
        return year if now < self.deadline(year) else year + 1

    def latest_due(self, now: datetime) -> int | None:
        """Days-before of the most recent reminder of this year's round that has fallen due,
        or None before the first one and after the deadline."""
        year = self.report_year(now)
        fallen = [days for days in self.offsets if self.due_at(year, days) <= now]
        return min(fallen) if fallen else None

    def next_reminder(self, now: datetime) -> datetime:
        """When the next reminder not yet due will go out (in a window)."""
        year = self.report_year(now)
        upcoming = [
            self.due_at(year, days) for days in self.offsets if self.due_at(year, days) > now
        ]
        if not upcoming:
            upcoming = [self.due_at(year + 1, self.offsets[0])]
        return self.next_window(min(upcoming))

    def days_left(self, now: datetime, year: int) -> int:
        """Days a manager still has, today included: 1 on the last day."""
        return (self.deadline(year).date() - now.astimezone(self.zone).date()).days


class Verdict(Enum):
    DUE = "due"
    WAITING_FOR_WINDOW = "waiting_for_window"
    NOTHING_DUE = "nothing_due"
    SUBMITTED = "submitted"
    OPTED_OUT = "opted_out"
    UNREACHABLE = "unreachable"
    CHANNEL_NOT_RUNNING = "channel_not_running"
    ALREADY_SENT = "already_sent"
    IN_FLIGHT = "in_flight"
    GAVE_UP = "gave_up"


@dataclass(frozen=True)
class Decision:
    """What happens to one recipient now, and why."""

    recipient: Recipient
    verdict: Verdict
    delivery: Delivery | None = None


@dataclass(frozen=True)
class Reminder:
    """A reminder due now: who, which one, and what it says."""

    recipient: Recipient
    year: int
    days_before: int
    days_left: int
    last_day: date

    @property
    def key(self) -> DeliveryKey:
        return (self.recipient.user_id, self.year, reminder_key(self.days_before))


@dataclass(frozen=True)
class ReminderPlan:
    now: datetime
    schedule: ReminderSchedule
    year: int
    # The reminder of this round that fell due most recently, if any.
    days_before: int | None
    decisions: tuple[Decision, ...]

    @property
    def due(self) -> list[Reminder]:
        return [self.reminder(d.recipient) for d in self.decisions if d.verdict is Verdict.DUE]

    def reminder(self, recipient: Recipient) -> Reminder:
        assert self.days_before is not None
        return Reminder(
            recipient,
            self.year,
            self.days_before,
            self.schedule.days_left(self.now, self.year),
            self.schedule.last_day(self.year),
        )


def delivery_verdict(
    delivery: Delivery | None, now: datetime, max_attempts: int = MAX_ATTEMPTS
) -> Verdict | None:
    """Whether a stored row stops this message; None if it may be (re)sent."""
    if delivery is None:
        return None
    if delivery.status is DeliveryStatus.SENT:
        return Verdict.ALREADY_SENT
    if delivery.status is DeliveryStatus.CLAIMED and now - delivery.claimed_at < CLAIM_LEASE:
        return Verdict.IN_FLIGHT
    if delivery.attempts >= max_attempts:
        return Verdict.GAVE_UP
    # Failed, unreachable then back, or claimed by a run that died: try again.
    return None


def decide(
    recipient: Recipient,
    now: datetime,
    schedule: ReminderSchedule,
    deliveries: Mapping[DeliveryKey, Delivery],
    channels: Collection[str],
    max_attempts: int = MAX_ATTEMPTS,
) -> Decision:
    """One recipient's fate now. Called for the whole plan, and again for each reminder
    right before it is claimed, with fresh data."""
    user = recipient.user
    if recipient.report.state is ReportState.SUBMITTED:
        return Decision(recipient, Verdict.SUBMITTED)
    if recipient.opted_out:
        return Decision(recipient, Verdict.OPTED_OUT)
    if not user.reachable:
        return Decision(recipient, Verdict.UNREACHABLE)
    if user.channel not in channels:
        return Decision(recipient, Verdict.CHANNEL_NOT_RUNNING)
    days_before = schedule.latest_due(now)
    if days_before is None:
        return Decision(recipient, Verdict.NOTHING_DUE)
    key = (user.id, schedule.report_year(now), reminder_key(days_before))
    delivery = deliveries.get(key)
    stopped = delivery_verdict(delivery, now, max_attempts)
    if stopped is not None:
        return Decision(recipient, stopped, delivery)
    if not schedule.in_window(now):
        return Decision(recipient, Verdict.WAITING_FOR_WINDOW, delivery)
    return Decision(recipient, Verdict.DUE, delivery)


def plan_reminders(
    now: datetime,
    schedule: ReminderSchedule,
    recipients: Iterable[Recipient],
    deliveries: Mapping[DeliveryKey, Delivery],
    channels: Collection[str],
    max_attempts: int = MAX_ATTEMPTS,
) -> ReminderPlan:
    """The reminders due now, with a decision (and its reason) for every linked user.

    `deliveries` holds the stored rows of the report year (`schedule.report_year(now)`);
    `channels` are the chat apps that can deliver now.
    """
    decisions = tuple(
        decide(recipient, now, schedule, deliveries, channels, max_attempts)
        for recipient in recipients
    )
    return ReminderPlan(
        now, schedule, schedule.report_year(now), schedule.latest_due(now), decisions
    )


# ----------------------------------------------------------------- for the Department


def digest_year(
    now: datetime, schedule: ReminderSchedule, grace: timedelta = DIGEST_GRACE
) -> int | None:
    """The report year whose staff summary may go out now: in a sending window from the
    deadline (so the morning after the last day) until `grace` later."""
    if not schedule.in_window(now):
        return None
    year = now.astimezone(schedule.zone).year
    for candidate in (year, year - 1):
        deadline = schedule.deadline(candidate)
        if deadline <= now < deadline + grace:
            return candidate
    return None


@dataclass(frozen=True)
class StaffDecision:
    user: ChatUser
    verdict: Verdict
    delivery: Delivery | None = None
    # Commune staff get their commune's summary; None: the whole province.
    commune_code: str | None = None


def decide_digest(
    user: ChatUser,
    year: int,
    now: datetime,
    deliveries: Mapping[DeliveryKey, Delivery],
    channels: Collection[str],
) -> StaffDecision:
    """Whether one staff member gets the year's summary now (once per year)."""
    delivery = deliveries.get((user.id, year, DIGEST))
    if not user.reachable:
        return StaffDecision(user, Verdict.UNREACHABLE, delivery)
    if user.channel not in channels:
        return StaffDecision(user, Verdict.CHANNEL_NOT_RUNNING, delivery)
    stopped = delivery_verdict(delivery, now)
    if stopped is not None:
        return StaffDecision(user, stopped, delivery)
    return StaffDecision(user, Verdict.DUE, delivery)


@dataclass(frozen=True)
class FacilityReport:
    facility: Facility
    report: ReportProgress
    linked_users: int


@dataclass(frozen=True)
class StaffDigest:
    """What the Department reads the morning after the deadline."""

    year: int
    last_day: date
    facilities: int
    submitted: int
    # (commune code, its facilities without a submitted report), in the official order.
    missing_by_commune: tuple[tuple[str, tuple[FacilityReport, ...]], ...]
    unreachable: tuple[Recipient, ...]
    # The commune this summary is limited to (for commune staff); None: the province.
    commune_code: str | None = None

    @property
    def missing(self) -> int:
        return self.facilities - self.submitted


def staff_digest(
    year: int,
    schedule: ReminderSchedule,
    reports: Iterable[FacilityReport],
    recipients: Iterable[Recipient],
    commune_code: str | None = None,
) -> StaffDigest:
    every = list(reports)
    missing = sorted(
        (r for r in every if r.report.state is not ReportState.SUBMITTED),
        key=lambda r: (r.facility.commune_code, r.facility.code),
    )
    grouped = tuple(
        (commune, tuple(members))
        for commune, members in groupby(missing, key=lambda r: r.facility.commune_code)
    )
    unreachable = tuple(
        sorted(
            (r for r in recipients if not r.user.reachable),
            key=lambda r: (r.facility.code, r.user_id),
        )
    )
    return StaffDigest(
        year,
        schedule.last_day(year),
        len(every),
        len(every) - len(missing),
        grouped,
        unreachable,
        commune_code,
    )
