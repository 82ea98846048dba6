"""The reminder planner on its own: a pure function of the time, the deadline, the
offsets, the sending window, the users and what was already sent."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from bot.clock import VIETNAM
from bot.reminders import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    NOT_STARTED,
    Delivery,
    DeliveryKey,
    DeliveryStatus,
    FacilityReport,
    Recipient,
    ReminderSchedule,
    ReportProgress,
    ReportState,
    Verdict,
    digest_year,
    plan_reminders,
    reminder_key,
    report_progress,
    staff_digest,
)
from bot.settings import Settings
from bot.storage.facilities import Facility
from bot.storage.users import ChatUser
from tests.support.reminder_world import stand_in_forms

SCHEDULE = ReminderSchedule(
    deadline_month=12,
    deadline_day=15,
    offsets=(30, 14, 7, 3, 1),
    window_start=time(8, 0),
    window_end=time(20, 0),
    zone=VIETNAM,
)
CHANNELS = frozenset({"telegram"})
DRAFT = ReportProgress(ReportState.DRAFT, 12, 20)
SUBMITTED = ReportProgress(ReportState.SUBMITTED)


def vn(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2026) -> datetime:
    """A moment in Vietnam time, as the planner receives it (UTC)."""
    return datetime(year, month, day, hour, minute, tzinfo=VIETNAM).astimezone(UTC)


def facility(number: int, commune: str = "06040") -> Facility:
    return Facility(
        number,
        f"DEMO{number:02d}",
        f"Cơ sở {number}",
        None,
        commune,
        None,
        "C10",
        "small",
        None,
        None,
    )


def recipient(
    number: int,
    report: ReportProgress = NOT_STARTED,
    *,
    opted_out: bool = False,
    reachable: bool = True,
    channel: str = "telegram",
    commune: str = "06040",
) -> Recipient:
    user = ChatUser(
        number, channel, str(1000 + number), str(1000 + number), None, "vi", number, reachable
    )
    return Recipient(user, facility(number, commune), report, opted_out)


def verdicts(
    now: datetime,
    people: list[Recipient],
    deliveries: dict[DeliveryKey, Delivery] | None = None,
) -> dict[int, Verdict]:
    plan = plan_reminders(now, SCHEDULE, people, deliveries or {}, CHANNELS)
    return {decision.recipient.user_id: decision.verdict for decision in plan.decisions}


def sent(user: int, days_before: int, at: datetime) -> dict[DeliveryKey, Delivery]:
    return {(user, 2026, reminder_key(days_before)): Delivery(DeliveryStatus.SENT, at, 1, at)}


# -- the calendar


def test_the_deadline_is_midnight_of_15_december_and_the_last_day_is_the_14th() -> None:
    assert SCHEDULE.deadline(2026) == datetime(2026, 12, 15, tzinfo=VIETNAM)
    assert SCHEDULE.last_day(2026) == date(2026, 12, 14)


@pytest.mark.parametrize(
    ("days_before", "first_send"),
    [
        (30, vn(11, 15, 8)),
        (14, vn(12, 1, 8)),
        (7, vn(12, 8, 8)),
        (3, vn(12, 12, 8)),
        (1, vn(12, 14, 8)),
    ],
)
def test_each_reminder_goes_out_in_the_first_window_after_it_falls_due(
    days_before: int, first_send: datetime
) -> None:
    due = SCHEDULE.due_at(2026, days_before)
    assert SCHEDULE.next_window(due) == first_send


def test_the_one_day_reminder_goes_out_on_the_morning_of_14_december() -> None:
    person = recipient(1)
    assert verdicts(vn(12, 14, 7, 59), [person])[1] is Verdict.WAITING_FOR_WINDOW
    plan = plan_reminders(vn(12, 14, 8, 0), SCHEDULE, [person], {}, CHANNELS)
    [reminder] = plan.due
    assert (reminder.days_before, reminder.days_left) == (1, 1)
    assert reminder.last_day == date(2026, 12, 14)


@pytest.mark.parametrize(
    ("now", "verdict"),
    [
        (vn(12, 8, 7, 59), Verdict.WAITING_FOR_WINDOW),
        (vn(12, 8, 8, 0), Verdict.DUE),
        (vn(12, 8, 19, 59), Verdict.DUE),
        (vn(12, 8, 20, 0), Verdict.WAITING_FOR_WINDOW),
        (vn(12, 8, 23, 30), Verdict.WAITING_FOR_WINDOW),
    ],
)
def test_nothing_is_sent_outside_the_window(now: datetime, verdict: Verdict) -> None:
    assert verdicts(now, [recipient(1)])[1] is verdict


def test_a_reminder_due_late_in_the_evening_waits_for_the_next_morning() -> None:
    assert SCHEDULE.next_window(vn(12, 8, 21, 15)) == vn(12, 9, 8, 0)
    assert SCHEDULE.next_window(vn(12, 9, 6, 0)) == vn(12, 9, 8, 0)


@pytest.mark.parametrize(
    "now", [vn(11, 1), vn(11, 14, 19), vn(12, 15, 9), vn(12, 16, 9), vn(7, 1, 9, year=2027)]
)
def test_no_reminder_before_the_first_falls_due_or_after_the_deadline(now: datetime) -> None:
    assert verdicts(now, [recipient(1)])[1] is Verdict.NOTHING_DUE


def test_days_left_count_today_and_the_last_day() -> None:
    assert SCHEDULE.days_left(vn(11, 15, 8), 2026) == 30
    assert SCHEDULE.days_left(vn(12, 13, 19), 2026) == 2
    assert SCHEDULE.days_left(vn(12, 14, 8), 2026) == 1


def test_after_the_deadline_the_next_reminder_is_next_years_first() -> None:
    assert SCHEDULE.report_year(vn(12, 15, 0, 0)) == 2027
    assert SCHEDULE.next_reminder(vn(12, 20)) == vn(11, 15, 8, year=2027)
    assert SCHEDULE.next_reminder(vn(11, 20)) == vn(12, 1, 8)


# -- who is reminded


def test_only_users_of_facilities_without_a_submitted_report_are_reminded() -> None:
    people = [
        recipient(1),
        recipient(2, DRAFT),
        recipient(3, SUBMITTED),
        recipient(4, opted_out=True),
        recipient(5, reachable=False),
        recipient(6, channel="zalo"),
    ]
    assert verdicts(vn(12, 8), people) == {
        1: Verdict.DUE,
        2: Verdict.DUE,
        3: Verdict.SUBMITTED,
        4: Verdict.OPTED_OUT,
        5: Verdict.UNREACHABLE,
        6: Verdict.CHANNEL_NOT_RUNNING,
    }


def test_a_reminder_already_sent_is_not_sent_again() -> None:
    assert verdicts(vn(12, 8, 15), [recipient(1)], sent(1, 7, vn(12, 8, 8)))[1] is (
        Verdict.ALREADY_SENT
    )


def test_the_next_reminder_is_due_even_when_the_previous_was_sent() -> None:
    assert verdicts(vn(12, 12, 8), [recipient(1)], sent(1, 7, vn(12, 8, 8)))[1] is Verdict.DUE


def test_after_downtime_only_the_most_recent_missed_reminder_is_due() -> None:
    # Sent on 15 November, then the bot was down from 20 November to 12 December.
    plan = plan_reminders(
        vn(12, 12, 15), SCHEDULE, [recipient(1)], sent(1, 30, vn(11, 15, 8)), CHANNELS
    )
    [reminder] = plan.due
    assert reminder.days_before == 3
    assert reminder.days_left == 3


def test_a_late_linked_user_hears_only_the_current_reminder() -> None:
    plan = plan_reminders(vn(12, 10, 10), SCHEDULE, [recipient(1)], {}, CHANNELS)
    assert [(r.days_before, r.days_left) for r in plan.due] == [(7, 5)]


def test_a_claim_in_flight_is_left_alone_and_a_stale_claim_is_sent_again() -> None:
    claimed_at = vn(12, 8, 8)
    claimed = {(1, 2026, "7d"): Delivery(DeliveryStatus.CLAIMED, claimed_at, 1)}
    soon = claimed_at + CLAIM_LEASE - timedelta(seconds=1)
    assert verdicts(soon, [recipient(1)], claimed)[1] is Verdict.IN_FLIGHT
    assert verdicts(claimed_at + CLAIM_LEASE, [recipient(1)], claimed)[1] is Verdict.DUE


def test_a_failed_send_is_tried_again_until_it_has_failed_too_often() -> None:
    at = vn(12, 8, 8)
    failed = {(1, 2026, "7d"): Delivery(DeliveryStatus.FAILED, at, 2)}
    assert verdicts(vn(12, 8, 9), [recipient(1)], failed)[1] is Verdict.DUE
    given_up = {(1, 2026, "7d"): Delivery(DeliveryStatus.FAILED, at, MAX_ATTEMPTS)}
    assert verdicts(vn(12, 8, 9), [recipient(1)], given_up)[1] is Verdict.GAVE_UP


def test_a_user_who_blocked_the_bot_then_wrote_again_gets_the_current_reminder() -> None:
    blocked = {(1, 2026, "7d"): Delivery(DeliveryStatus.UNREACHABLE, vn(12, 8, 8), 1)}
    assert verdicts(vn(12, 9), [recipient(1, reachable=False)], blocked)[1] is Verdict.UNREACHABLE
    assert verdicts(vn(12, 9), [recipient(1)], blocked)[1] is Verdict.DUE


def test_planning_is_pure_the_same_inputs_give_the_same_plan() -> None:
    people = [recipient(n) for n in range(1, 6)]
    assert plan_reminders(vn(12, 8), SCHEDULE, people, {}, CHANNELS) == plan_reminders(
        vn(12, 8), SCHEDULE, people, {}, CHANNELS
    )


# -- where the report stands


def test_report_progress_counts_the_questions_relevant_now() -> None:
    form = stand_in_forms().get("annual_report")
    context = {"current_year": 2026, "product_unit": None}
    assert report_progress(form, None, {}, context) == NOT_STARTED
    assert report_progress(form, "submitted", {}, context).state is ReportState.SUBMITTED
    draft = report_progress(form, "draft", {"applied": True, "elec_before": "125.5"}, context)
    assert (draft.state, draft.answered, draft.total) == (ReportState.DRAFT, 2, 4)
    assert report_progress(None, "draft", {"applied": True}, {}) == ReportProgress(
        ReportState.DRAFT
    )


# -- the Department's summary


def test_the_staff_summary_is_due_from_the_morning_of_15_december_for_two_weeks() -> None:
    assert digest_year(vn(12, 14, 19), SCHEDULE) is None
    assert digest_year(vn(12, 15, 7), SCHEDULE) is None
    assert digest_year(vn(12, 15, 8), SCHEDULE) == 2026
    assert digest_year(vn(12, 28, 10), SCHEDULE) == 2026
    assert digest_year(vn(12, 29, 10), SCHEDULE) is None


def test_the_staff_summary_groups_facilities_without_a_report_by_commune() -> None:
    reports = [
        FacilityReport(facility(1, "06040"), SUBMITTED, 1),
        FacilityReport(facility(2, "06040"), DRAFT, 1),
        FacilityReport(facility(3, "06001"), NOT_STARTED, 0),
        FacilityReport(facility(4, "06040"), NOT_STARTED, 2),
    ]
    people = [recipient(2), recipient(4, reachable=False)]
    digest = staff_digest(2026, SCHEDULE, reports, people)
    assert (digest.facilities, digest.submitted, digest.missing) == (4, 1, 3)
    grouped = [(c, [r.facility.code for r in rs]) for c, rs in digest.missing_by_commune]
    assert grouped == [("06001", ["DEMO03"]), ("06040", ["DEMO02", "DEMO04"])]
    assert [r.user_id for r in digest.unreachable] == [4]


# -- settings


def test_reminder_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SXSH_REMINDER_OFFSETS", "7, 30,1")
    monkeypatch.setenv("SXSH_REMINDER_WINDOW_START", "07:30")
    monkeypatch.setenv("SXSH_REPORT_DEADLINE_DAY", "1")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    schedule = ReminderSchedule.from_settings(settings)
    assert schedule.offsets == (30, 7, 1)
    assert schedule.window_start == time(7, 30)
    assert schedule.deadline(2026) == datetime(2026, 12, 1, tzinfo=VIETNAM)


@pytest.mark.parametrize(
    ("environment", "problem"),
    [
        ({"SXSH_REMINDER_OFFSETS": "30,0"}, "1 to 180 days"),
        ({"SXSH_REMINDER_OFFSETS": "thirty"}, "whole numbers of days"),
        ({"SXSH_REPORT_DEADLINE_MONTH": "11", "SXSH_REPORT_DEADLINE_DAY": "31"}, "31/11"),
        ({"SXSH_REMINDER_WINDOW_END": "07:00"}, "earlier than"),
    ],
)
def test_impossible_reminder_settings_are_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], problem: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=problem):
        Settings(_env_file=None)  # type: ignore[call-arg]
