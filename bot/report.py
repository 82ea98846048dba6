"""The yearly SXSH savings report in chat: /report and /status.

`/report` opens the facility's draft for the reporting year — this year in Vietnam time,
or the year asked for (`/report 2025`) — and resumes it wherever anyone of the facility
stopped. Submitting stores a numbered revision with a receipt. Once a year's report is
in, `/report` offers to view it or to change it; a change is submitted as the next
revision and the earlier ones stay. `/status` says where the year's report stands and
how many days are left before the deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot.clock import local, show_date, show_datetime
from bot.dispatcher import Dispatcher, Turn, stale_message
from bot.formrun import PROFILE_FORM, FormHooks, FormRunner, product_unit_text, profile_answers
from bot.i18n import N_
from bot.messages import Button
from bot.render import FlowRenderer, form_text
from bot.report_record import Contact, normalize
from bot.report_rules import (
    REPORT_FORM,
    YearChoice,
    choose_year,
    days_left,
    deadline,
    earliest_year,
    is_late,
    offers_previous_year,
)
from bot.storage.drafts import Draft
from bot.storage.reports import NewRevision, Revision
from flows.engine import answered_items, decode_answers, effective_answers, progress
from flows.model import Form
from flows.types import Value

COMMAND = "report"
VIEW = "view"
CHANGE = "change"
_YEAR_PROBLEMS = {
    "not_a_year": N_("Please write the year with four digits, for example /report {example}."),
    "future": N_("{year} has not come yet: a report is for this year or an earlier one."),
    "too_old": N_("Reports can be sent for {earliest} and later years only."),
}


def install(dispatcher: Dispatcher, runner: FormRunner) -> None:
    reports = Reports(dispatcher, runner)
    runner.register(
        REPORT_FORM,
        FormHooks(
            command=COMMAND,
            period=reports.period,
            draft_context=reports.draft_context,
            on_submit=reports.submitted,
            on_open_submitted=reports.offer_view_or_change,
        ),
    )

    @dispatcher.command(
        COMMAND,
        N_("Send, view or change the yearly SXSH results report"),
        needs_link=True,
        audience="linked",
    )
    async def report(turn: Turn, argument: str) -> None:
        await runner.open(turn, REPORT_FORM, argument)

    @dispatcher.command(
        "status",
        N_("Where this year's report stands and the days left"),
        needs_link=True,
        audience="linked",
    )
    async def status(turn: Turn, argument: str) -> None:
        await reports.status(turn, argument)

    @dispatcher.callback(COMMAND)
    async def pressed(turn: Turn, rest: str) -> None:
        await reports.pressed(turn, rest)

    # The profile's last answer leads straight to the report: the next thing to do.
    profile = runner.hooks.get(PROFILE_FORM)
    if profile is not None and profile.on_submit is not None:
        saved = profile.on_submit

        async def then_offer_report(
            turn: Turn, form: Form, draft: Draft, values: dict[str, object]
        ) -> None:
            await saved(turn, form, draft, values)
            await reports.offer_report(turn)

        runner.register(PROFILE_FORM, replace(profile, on_submit=then_offer_report))


class Reports:
    def __init__(self, dispatcher: Dispatcher, runner: FormRunner) -> None:
        self.dispatcher = dispatcher
        self.runner = runner

    @property
    def form(self) -> Form:
        return self.dispatcher.forms.get(REPORT_FORM)

    # -- form hooks

    async def period(self, turn: Turn, argument: str) -> str | None:
        """The reporting year the draft is for, or None after saying why there is none."""
        current = this_year(turn)
        choice = choose_year(argument, current)
        if choice.problem is not None:
            turn.reply(year_problem(turn, choice, current))
            return None
        if not argument.strip() and await self._asks_which_year(turn, current):
            return None
        return str(choice.year)

    async def draft_context(self, turn: Turn, draft: Draft) -> dict[str, object]:
        """The year the draft reports on, and the profile's answers offered as defaults."""
        year = int(draft.period)
        profile = await profile_answers(turn)
        return {
            "report_year": year,
            "previous_year": year - 1,
            "profile_product": profile.get("main_product"),
            "profile_unit": product_unit_text(turn, profile),
            "profile_contact_name": profile.get("contact_name"),
            "profile_contact_phone": profile.get("contact_phone"),
        }

    async def submitted(
        self, turn: Turn, form: Form, draft: Draft, values: dict[str, object]
    ) -> None:
        """Store the answers as the next revision and give the manager the receipt."""
        year = int(draft.period)
        raw = await turn.store.drafts.answers(draft.id)
        revisions = await turn.store.reports.revisions(draft.facility_id, year)
        await turn.store.drafts.set_status(draft.id, "submitted", turn.now)
        if revisions and revisions[-1].answers == raw:
            turn.reply(
                turn.t(
                    "Nothing has changed since the report you sent on {time}; it stays as it "
                    "is (receipt {receipt}).",
                    time=show_datetime(revisions[-1].submitted_at, turn.settings.zone),
                    receipt=revisions[-1].receipt,
                )
            )
            return
        record = normalize(
            form, decode_answers(form, raw), values, profile_contact(await profile_answers(turn))
        )
        revision = await turn.store.reports.add(
            NewRevision(
                facility_id=draft.facility_id,
                year=year,
                form_version=form.version,
                draft_id=draft.id,
                submitted_at=turn.now,
                submitted_by=turn.user.id,
                late=is_late(turn.now, year, turn.settings.zone),
                answers=raw,
                record=record,
            )
        )
        lines = [
            turn.t(
                "✅ The {year} report of {facility} is received.",
                year=year,
                facility=await facility_name(turn),
            ),
            turn.t("Receipt number: {receipt}", receipt=revision.receipt),
            turn.t(
                "Received at: {time} (Vietnam time)",
                time=show_datetime(revision.submitted_at, turn.settings.zone),
            ),
        ]
        if revisions:
            lines.append(
                turn.t(
                    "This is version {revision}; the earlier versions are kept, and the report "
                    "counts as first sent on {time}.",
                    revision=revision.revision,
                    time=show_datetime(revisions[0].submitted_at, turn.settings.zone),
                )
            )
        elif revision.late:
            lines.append(late_line(turn, year))
        if record.wants_adviser:
            lines.append(
                turn.t("Your request to be contacted by an SXSH adviser is recorded with it.")
            )
        lines.append(turn.t("Send /report to view or change it, /status to see where it stands."))
        turn.reply("\n".join(lines), [[self._view_button(turn, year)]], menu=True)

    async def offer_view_or_change(self, turn: Turn, form: Form, draft: Draft) -> bool:
        """`/report` on a submitted year: view it or change it (or go on changing it)."""
        if turn.session.form_id == form.id and turn.session.draft_id == draft.id:
            return False
        year = int(draft.period)
        revisions = await turn.store.reports.revisions(draft.facility_id, year)
        if not revisions:
            return False
        # The menu answers the /report just typed: a typed "1" must not go to an open form.
        await self.runner.cancel(turn)
        lines = await self._where_it_stands(turn, year, draft, revisions)
        lines.append(turn.t("What would you like to do?"))
        buttons = [[self._view_button(turn, year)], [self._change_button(turn, year)]]
        turn.reply("\n".join(lines), buttons, menu=True)
        return True

    # -- buttons

    async def pressed(self, turn: Turn, rest: str) -> None:
        action, _, year_text = rest.partition(":")
        facility_id = turn.user.facility_id
        if facility_id is None or not year_text.isdigit() or action not in (VIEW, CHANGE):
            turn.reply(stale_message(turn))
            return
        year = int(year_text)
        if action == VIEW:
            await self.show(turn, facility_id, year)
            return
        draft = await turn.store.drafts.find(facility_id, REPORT_FORM, year_text)
        latest = await turn.store.reports.latest(facility_id, year)
        if draft is None or latest is None:
            turn.reply(stale_message(turn))
            return
        turn.reply(
            turn.t(
                "You are changing the {year} report sent on {time}. Change the answers you "
                "need, then press Submit: the report is stored as version {revision} and the "
                "earlier versions are kept.",
                year=year,
                time=show_datetime(latest.submitted_at, turn.settings.zone),
                revision=latest.revision + 1,
            )
        )
        await self.runner.start_draft(turn, self.form, draft, intro=False)

    async def show(self, turn: Turn, facility_id: int, year: int) -> None:
        """The latest revision with every answer and figure as sent, and the versions."""
        revisions = await turn.store.reports.revisions(facility_id, year)
        if not revisions:
            turn.reply(
                turn.t(
                    "No report for {year} has been sent yet. Send /report to start it.",
                    year=year,
                )
            )
            return
        latest = revisions[-1]
        form = self.form
        draft = await turn.store.drafts.find(facility_id, REPORT_FORM, str(year))
        context = await self.runner.context(turn, form, draft)
        context.setdefault("report_year", year)
        values = effective_answers(form, decode_answers(form, latest.answers), context)
        renderer = FlowRenderer(form, turn.lang, turn.user.chat_id, values, (0, 0), None)
        lines = ["📄 " + form_text(form, form.title, values, turn.lang), await facility_name(turn)]
        lines.extend(self._version_line(turn, revision) for revision in revisions)
        if revisions[0].late:
            lines.append(late_line(turn, year))
        lines.append("")
        lines.extend(renderer.summary_lines(answered_items(form, values)))
        turn.reply("\n".join(lines), [[self._change_button(turn, year)]], menu=True)

    # -- status and next steps

    async def status(self, turn: Turn, argument: str) -> None:
        current = this_year(turn)
        choice = choose_year(argument, current)
        if choice.problem is not None:
            turn.reply(year_problem(turn, choice, current))
            return
        year = choice.year
        facility_id = turn.user.facility_id
        assert facility_id is not None  # /status needs a linked chat
        draft = await turn.store.drafts.find(facility_id, REPORT_FORM, str(year))
        revisions = await turn.store.reports.revisions(facility_id, year)
        lines = await self._where_it_stands(turn, year, draft, revisions)
        if revisions:
            button = self._view_button(turn, year)
        elif draft is not None and await turn.store.drafts.answers(draft.id):
            button = Button(turn.t("Continue the report"), f"cmd:{COMMAND}:{year}")
        else:
            button = Button(turn.t("Start the report"), f"cmd:{COMMAND}:{year}")
        turn.reply("\n".join(lines), [[button]], menu=True)

    async def offer_report(self, turn: Turn) -> None:
        """After the facility profile: the year's report is the next thing to do."""
        facility_id = turn.user.facility_id
        year = this_year(turn)
        if facility_id is None or await turn.store.reports.latest(facility_id, year):
            return
        draft = await turn.store.drafts.find(facility_id, REPORT_FORM, str(year))
        started = draft is not None and bool(await turn.store.drafts.answers(draft.id))
        label = N_("Continue the {year} report") if started else N_("Start the {year} report")
        turn.reply(
            turn.t(
                "Next step: the yearly SXSH results report for {year}. It takes a few minutes, "
                "and you can stop and continue at any time.",
                year=year,
            )
            + "\n"
            + deadline_line(turn, year, sent=False),
            [[Button(turn.t(label, year=year), f"cmd:{COMMAND}:{year}")]],
            menu=True,
        )

    # -- pieces

    async def _asks_which_year(self, turn: Turn, current: int) -> bool:
        """Early in a year, with last year's report not sent and this year's not begun,
        `/report` asks which year is meant rather than guessing."""
        facility_id = turn.user.facility_id
        if facility_id is None or not offers_previous_year(turn.now, turn.settings.zone):
            return False
        if await turn.store.reports.latest(facility_id, current - 1) is not None:
            return False
        draft = await turn.store.drafts.find(facility_id, REPORT_FORM, str(current))
        if draft is not None and await turn.store.drafts.answers(draft.id):
            return False
        await self.runner.cancel(turn)
        turn.reply(
            turn.t(
                "Which year is the report for? The {previous} report has not been sent yet.",
                previous=current - 1,
            ),
            [
                [Button(turn.t("Year {year}", year=current), f"cmd:{COMMAND}:{current}")],
                [
                    Button(
                        turn.t("Year {year} (not sent yet)", year=current - 1),
                        f"cmd:{COMMAND}:{current - 1}",
                    )
                ],
            ],
            menu=True,
        )
        return True

    async def _where_it_stands(
        self, turn: Turn, year: int, draft: Draft | None, revisions: list[Revision]
    ) -> list[str]:
        """The year's report: sent (when, on time or late, which version), a draft and how
        far along, or not started — then the deadline."""
        lines = [
            turn.t(
                "Yearly SXSH report {year} — {facility}:",
                year=year,
                facility=await facility_name(turn),
            )
        ]
        stored = await turn.store.drafts.answers(draft.id) if draft else {}
        if revisions:
            first, latest = revisions[0], revisions[-1]
            when = show_datetime(first.submitted_at, turn.settings.zone)
            if first.late:
                lines.append(
                    turn.t(
                        "Sent on {time}, after the deadline: marked late (receipt {receipt}).",
                        time=when,
                        receipt=first.receipt,
                    )
                )
            else:
                lines.append(
                    turn.t(
                        "Sent on {time}, on time (receipt {receipt}).",
                        time=when,
                        receipt=first.receipt,
                    )
                )
            if latest.revision > 1:
                lines.append(self._version_line(turn, latest))
            if stored != latest.answers:
                lines.append(
                    turn.t("Some answers were changed after it was sent and are not sent yet.")
                )
        elif draft is not None and stored:
            form = self.form
            context = await self.runner.context(turn, form, draft)
            done, total = progress(form, decode_answers(form, stored), context)
            lines.append(
                turn.t("Draft: {done} of {total} questions answered.", done=done, total=total)
            )
        else:
            lines.append(turn.t("Not started yet."))
        lines.append(deadline_line(turn, year, sent=bool(revisions)))
        return lines

    def _version_line(self, turn: Turn, revision: Revision) -> str:
        """'• Version 2: 03/12/2026 10:00 — receipt LS-2026-000002 (sent by Trần Văn Bình)'."""
        line = turn.t(
            "• Version {revision}: {time} — receipt {receipt}",
            revision=revision.revision,
            time=show_datetime(revision.submitted_at, turn.settings.zone),
            receipt=revision.receipt,
        )
        who = revision.submitted_by_name or revision.reporter_name
        return line + turn.t(" (sent by {who})", who=who) if who else line

    def _view_button(self, turn: Turn, year: int) -> Button:
        return Button(turn.t("View the report"), f"{COMMAND}:{VIEW}:{year}")

    def _change_button(self, turn: Turn, year: int) -> Button:
        return Button(turn.t("Change the report"), f"{COMMAND}:{CHANGE}:{year}")


async def facility_name(turn: Turn) -> str:
    facility = await turn.facility()
    return facility.name if facility else ""


def this_year(turn: Turn) -> int:
    return local(turn.now, turn.settings.zone).year


def deadline_line(turn: Turn, year: int, *, sent: bool) -> str:
    """'Deadline: before 15/12/2026 — 14 days left', or that it is today, or past."""
    zone = turn.settings.zone
    due = show_date(deadline(year, zone))
    left = days_left(turn.now, year, zone)
    if left > 1:
        return turn.t("Deadline: before {date} — {days} days left.", date=due, days=left)
    if left == 1:
        return turn.t("Deadline: today, {date}, is the last day.", date=show_date(turn.now, zone))
    if sent:
        return turn.t("Deadline: before {date}.", date=due)
    return turn.t(
        "The deadline (before {date}) has passed: a report sent now is accepted and marked late.",
        date=due,
    )


def late_line(turn: Turn, year: int) -> str:
    return turn.t(
        "⚠️ It arrived after the deadline (before {date}): accepted and marked late.",
        date=show_date(deadline(year, turn.settings.zone)),
    )


def year_problem(turn: Turn, choice: YearChoice, current: int) -> str:
    return turn.t(
        _YEAR_PROBLEMS[choice.problem or "not_a_year"],
        example=current - 1,
        year=choice.year,
        earliest=earliest_year(current),
    )


def profile_contact(profile: Mapping[str, Value]) -> Contact:
    """The profile's contact person, who stands in when the report does not ask."""
    name, phone = profile.get("contact_name"), profile.get("contact_phone")
    return Contact(
        name if isinstance(name, str) else None, phone if isinstance(phone, str) else None
    )
