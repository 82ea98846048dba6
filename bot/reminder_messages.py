"""What reminders and the staff summary say, in the reader's language."""

from __future__ import annotations

from datetime import date
from functools import cache

from bot.channels.plain import PLAIN_TEXT_CHANNELS
from bot.geo import communes
from bot.i18n import tr
from bot.messages import Button, Outbound
from bot.reminders import (
    FacilityReport,
    Recipient,
    Reminder,
    ReportProgress,
    ReportState,
    StaffDigest,
)

# The report form's command (from the yearly report module): the button runs it.
REPORT_COMMAND = "report"


def show_day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def describe_report(lang: str, report: ReportProgress) -> str:
    """ "not started", "draft: 12 of 20 questions answered", "submitted"."""
    if report.state is ReportState.SUBMITTED:
        return tr(lang, "submitted")
    if report.state is ReportState.NOT_STARTED:
        return tr(lang, "not started")
    if report.answered is None or report.total is None:
        return tr(lang, "draft in progress")
    return tr(
        lang,
        "draft: {answered} of {total} questions answered",
        answered=report.answered,
        total=report.total,
    )


def reminder_message(reminder: Reminder) -> Outbound:
    recipient = reminder.recipient
    lang = recipient.user.language
    facility = recipient.facility.name
    last_day = show_day(reminder.last_day)
    if reminder.days_left <= 1:
        headline = tr(
            lang,
            "Reminder: today, {last_day}, is the last day to send the yearly SXSH results "
            "report of {facility} for {year}.",
            last_day=last_day,
            facility=facility,
            year=reminder.year,
        )
    else:
        headline = tr(
            lang,
            "Reminder: {days} days left to send the yearly SXSH results report of {facility} "
            "for {year}. The last day is {last_day}.",
            days=reminder.days_left,
            facility=facility,
            year=reminder.year,
            last_day=last_day,
        )
    status = tr(lang, "Your report: {status}.", status=describe_report(lang, recipient.report))
    typing = recipient.user.channel in PLAIN_TEXT_CHANNELS
    if recipient.report.state is ReportState.DRAFT:
        label = tr(lang, "Continue the report")
        if typing:
            action = tr(lang, "Type 1 to continue where you stopped.")
        else:
            action = tr(lang, "Tap the button below to continue where you stopped.")
    else:
        label = tr(lang, "Start the report")
        if typing:
            action = tr(
                lang,
                "Type 1 to start. You can stop at any time and continue later; nothing you "
                "answered is lost.",
            )
        else:
            action = tr(
                lang,
                "Tap the button below to start. You can stop at any time and continue later; "
                "nothing you answered is lost.",
            )
    footer = tr(lang, "To stop these reminders, send /reminders off.")
    # A menu: where there are no buttons its line "1. Start the report" is answered by
    # typing 1 or the words (the sender remembers it as the chat's latest menu).
    return Outbound(
        chat_id=recipient.user.chat_id,
        text="\n\n".join([headline, f"{status} {action}", footer]),
        buttons=[[Button(label, f"cmd:{REPORT_COMMAND}")]],
        is_menu=True,
    )


@cache
def _commune_names() -> dict[str, str]:
    return {commune.code: commune.full_name for commune in communes()}


def commune_title(code: str) -> str:
    """ "Phường Tam Thanh" — the name as it starts a line."""
    name = _commune_names().get(code, code)
    return name[:1].upper() + name[1:]


def _facility_line(lang: str, entry: FacilityReport) -> str:
    line = f"• {entry.facility.code} {entry.facility.name}: {describe_report(lang, entry.report)}"
    if entry.linked_users == 0:
        line += " " + tr(lang, "(nobody linked to the bot)")
    return line


def _user_line(lang: str, recipient: Recipient) -> str:
    user = recipient.user
    who = user.display_name or user.external_id
    facility = recipient.facility
    return f"• {who} ({user.channel} {user.external_id}) — {facility.code} {facility.name}"


def digest_text(lang: str, digest: StaffDigest) -> str:
    parts = [commune_title(digest.commune_code)] if digest.commune_code else []
    parts += [
        tr(
            lang,
            "Yearly SXSH reports for {year}: the deadline has passed (the last day was "
            "{last_day}). {submitted} of {total} facilities have reported; {missing} have not.",
            year=digest.year,
            last_day=show_day(digest.last_day),
            submitted=digest.submitted,
            total=digest.facilities,
            missing=digest.missing,
        )
    ]
    if digest.missing_by_commune:
        lines = [tr(lang, "Facilities that have not reported, by commune:")]
        for commune, entries in digest.missing_by_commune:
            lines.append("")
            lines.append(f"{commune_title(commune)} ({len(entries)})")
            lines.extend(_facility_line(lang, entry) for entry in entries)
        parts.append("\n".join(lines))
    else:
        parts.append(tr(lang, "Every facility has reported."))
    if digest.unreachable:
        lines = [
            tr(
                lang,
                "Users the bot cannot reach ({count}): they blocked the bot or deleted the "
                "chat, and get messages again once they write to it.",
                count=len(digest.unreachable),
            )
        ]
        lines.extend(_user_line(lang, recipient) for recipient in digest.unreachable)
        parts.append("\n".join(lines))
    else:
        parts.append(tr(lang, "The bot can reach every linked user."))
    return "\n\n".join(parts)
