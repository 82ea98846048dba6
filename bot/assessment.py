"""/assess: the rapid self-assessment, its result, what changed, and asking for an adviser.

The questions are a form (`flows/forms/self_assessment.yaml`) run by the ordinary form
runner, with the facility's VSIC division as the context name `sector`, so questions
about kilns reach cement and brick makers only. A facility has at most one assessment
in progress: /assess resumes it, and starts a new record only once it is submitted. On
submit the answers are scored (`knowledge/scoring.py`), the result is stored with its
date, and the manager sees the scores, what changed since the last time, and the biggest
opportunities with the library snippets that fit the sector. /adviser (or its button)
records a request for an adviser of the Department to call.
"""

from __future__ import annotations

from datetime import datetime

from bot.clock import show_date, to_db
from bot.dispatcher import Dispatcher, Turn
from bot.formrun import FormHooks, FormRunner, profile_answers
from bot.guidance import PREFIX as GUIDANCE_PREFIX
from bot.guidance import Guide, facility_words
from bot.i18n import N_
from bot.messages import Button
from bot.render import short_label
from bot.storage.assessments import StoredAssessment
from bot.storage.drafts import Draft
from bot.storage.facilities import Facility
from flows.model import Form
from flows.textmatch import fold
from knowledge.library import TECHNIQUES, Snippet
from knowledge.scoring import (
    AssessmentResult,
    Opportunity,
    ScoringTable,
    TechniqueScore,
    load_scoring,
    practice_changes,
    score,
)

FORM_ID = "self_assessment"
NEW_WORDS = frozenset({"new", "moi", "lam moi", "lai", "lam lai"})
LAST_WORDS = frozenset({"last", "ket qua", "lan truoc", "xem"})
# Scores from this value up earn the band's word.
BANDS = ((80, N_("good")), (50, N_("fair")), (25, N_("needs work")), (0, N_("just starting")))
ACTIONS = {
    "now": N_("Implement now (low cost, quick):"),
    "study": N_("Study further (needs an adviser or investment):"),
}
NEXT_STEP_WHEN_ALL_DONE = "detailed-assessment-6-steps"


def install(dispatcher: Dispatcher, runner: FormRunner, guide: Guide) -> None:
    if FORM_ID not in dispatcher.forms:
        return  # a bot running stand-in forms has no self-assessment
    form = dispatcher.forms.get(FORM_ID)
    table = load_scoring(form, guide.library)

    @dispatcher.command(
        "assess",
        N_("Rapid self-assessment: where to start saving"),
        needs_link=True,
        audience="linked",
    )
    async def assess(turn: Turn, argument: str) -> None:
        facility = await linked_facility(turn)
        wanted = fold(argument)
        if wanted in LAST_WORDS:
            last = await turn.store.assessments.latest(facility.id)
            if last is None:
                turn.reply(turn.t("There is no self-assessment yet. Send /assess to start one."))
            else:
                previous = await turn.store.assessments.latest(facility.id, before=last.id)
                await show_stored(turn, form, table, guide, facility, last, previous)
            return
        in_progress = await turn.store.assessments.open_period(facility.id, FORM_ID)
        last = await turn.store.assessments.latest(facility.id)
        if in_progress is None and last is not None and wanted not in NEW_WORDS:
            offer_new_or_last(turn, last)
            return
        await runner.open(turn, FORM_ID)

    @dispatcher.command(
        "adviser",
        N_("Ask an SXSH adviser of the Department to contact you"),
        needs_link=True,
        audience="linked",
    )
    async def adviser(turn: Turn, argument: str) -> None:
        await request_adviser(turn, await linked_facility(turn), argument)

    async def sector_context(turn: Turn) -> dict[str, object]:
        facility = await turn.facility()
        return {"sector": facility.sector_code if facility else ""}

    async def period(turn: Turn, argument: str) -> str | None:
        """The assessment in progress, or a new record stamped with the time it began."""
        assert turn.user.facility_id is not None
        in_progress = await turn.store.assessments.open_period(turn.user.facility_id, FORM_ID)
        return in_progress or to_db(turn.now)

    async def submitted(turn: Turn, form: Form, draft: Draft, values: dict[str, object]) -> None:
        facility = await linked_facility(turn)
        result = score(
            table, values, facility.sector_code, guide.library, await facility_words(turn)
        )
        previous = await turn.store.assessments.latest(facility.id)
        await turn.store.drafts.set_status(draft.id, "submitted", turn.now)
        assessment_id = await turn.store.assessments.save(
            facility_id=facility.id,
            draft_id=draft.id,
            form_version=draft.form_version,
            sector_code=facility.sector_code,
            overall=result.overall,
            scores=result.scores,
            answers=result.answers,
            opportunities=[item.question for item in result.opportunities],
            user_id=turn.user.id,
            now=turn.now,
        )
        show_result(turn, form, table, guide, facility, result, assessment_id, turn.now, previous)

    runner.register(
        FORM_ID,
        FormHooks(command="assess", context=sector_context, period=period, on_submit=submitted),
    )


async def linked_facility(turn: Turn) -> Facility:
    """The user's facility; the commands and the form here run for linked chats only."""
    facility = await turn.facility()
    assert facility is not None, "registered with needs_link"
    return facility


def offer_new_or_last(turn: Turn, last: StoredAssessment) -> None:
    turn.reply(
        turn.t(
            "Your last self-assessment, on {date}, scored {score}/100. Do it again to see "
            "what has changed?",
            date=show_date(last.completed_at, turn.settings.zone),
            score=last.overall,
        ),
        [
            [Button(turn.t("Start a new self-assessment"), "cmd:assess:new")],
            [Button(turn.t("See the last result"), "cmd:assess:last")],
        ],
        menu=True,
    )


# ---------------------------------------------------------------- the result


def show_result(
    turn: Turn,
    form: Form,
    table: ScoringTable,
    guide: Guide,
    facility: Facility,
    result: AssessmentResult,
    assessment_id: int,
    when: datetime,
    previous: StoredAssessment | None,
) -> None:
    """Three messages: the scores, what changed since last time, what to do first."""
    zone = turn.settings.zone
    lines = [
        turn.t(
            "📊 Rapid SXSH self-assessment of {facility}, {date}",
            facility=facility.name,
            date=show_date(when, zone),
        ),
        turn.t(
            "Overall: {score}/100 ({band}) — {done} of the {asked} practices asked about "
            "are fully in place.",
            score=result.overall,
            band=band(turn, result.overall),
            done=result.done,
            asked=result.asked,
        ),
    ]
    if previous is not None:
        lines.append(
            turn.t(
                "Since the last self-assessment ({date}): {change} points.",
                date=show_date(previous.completed_at, zone),
                change=signed(result.overall - previous.overall),
            )
        )
    lines += ["", turn.t("By Cleaner Production technique:")]
    before = previous.scores if previous else {}
    lines += [technique_line(turn, item, before.get(item.technique)) for item in result.techniques]
    turn.reply("\n".join(lines))
    if previous is not None:
        turn.reply(changes_text(turn, table, previous, result.answers))
    show_opportunities(turn, form, guide, result.opportunities, assessment_id)


async def show_stored(
    turn: Turn,
    form: Form,
    table: ScoringTable,
    guide: Guide,
    facility: Facility,
    stored: StoredAssessment,
    previous: StoredAssessment | None,
) -> None:
    """A stored result shown again: scored afresh from its stored answers, so the
    opportunities and snippets follow today's library, the scores as they were."""
    result = score(
        table, stored.answers, stored.sector_code, guide.library, await facility_words(turn)
    )
    show_result(
        turn, form, table, guide, facility, result, stored.id, stored.completed_at, previous
    )


def technique_line(turn: Turn, item: TechniqueScore, before: int | None) -> str:
    name = turn.t(TECHNIQUES[item.technique])
    if item.score is None:
        return "• " + turn.t("{technique}: not assessed (no question applied)", technique=name)
    parts = [
        turn.t(
            "{technique}: {score}/100 ({band}) — {done} of {asked} in place",
            technique=name,
            score=item.score,
            band=band(turn, item.score),
            done=item.done,
            asked=item.asked,
        )
    ]
    if item.partly:
        parts.append(turn.t("{count} partly", count=item.partly))
    if item.unknown:
        parts.append(turn.t("{count} not known", count=item.unknown))
    line = "• " + ", ".join(parts)
    if before is not None and before != item.score:
        line += f" ({'▲' if item.score > before else '▼'} {signed(item.score - before)})"
    return line


def changes_text(
    turn: Turn, table: ScoringTable, previous: StoredAssessment, answers: dict[str, str]
) -> str:
    better, worse = practice_changes(table, previous.answers, answers)
    lines = [
        turn.t(
            "What changed since {date}:",
            date=show_date(previous.completed_at, turn.settings.zone),
        )
    ]
    if not better and not worse:
        lines.append(turn.t("The answers are the same as last time."))
    for heading, names in ((N_("Better now:"), better), (N_("Worse than before:"), worse)):
        if names:
            practices = [table.questions[name].practice.text(turn.lang) for name in names]
            lines.append(turn.t(heading) + " " + "; ".join(practices))
    return "\n".join(lines)


def show_opportunities(
    turn: Turn,
    form: Form,
    guide: Guide,
    opportunities: tuple[Opportunity, ...],
    assessment_id: int,
) -> None:
    snippets: list[Snippet] = []
    if not opportunities:
        text = turn.t(
            "Every practice asked about is in place. The next step is a detailed SXSH "
            "assessment with an adviser."
        )
        snippets = guide.snippets([NEXT_STEP_WHEN_ALL_DONE])
    else:
        lines = [turn.t("The biggest opportunities:")]
        number = 0
        for action, heading in ACTIONS.items():
            group = [item for item in opportunities if item.action == action]
            if not group:
                continue
            lines += ["", turn.t(heading)]
            for item in group:
                number += 1
                lines.append(
                    f"{number}. {item.practice.text(turn.lang)} — "
                    + turn.t("now: {answer}", answer=answer_label(form, item.answer, turn.lang))
                )
                lines += [f"   📘 {snippet.title.text(turn.lang)}" for snippet in item.snippets]
                snippets += [snippet for snippet in item.snippets if snippet not in snippets]
        lines += [
            "",
            turn.t("Open a guide below, or ask an SXSH adviser of the Department to contact you."),
        ]
        text = "\n".join(lines)
    rows = [
        [Button("📘 " + short_label(s.title.text(turn.lang)), f"{GUIDANCE_PREFIX}:n:{s.id}")]
        for s in snippets
    ]
    rows.append([Button(turn.t("Ask an adviser to call me"), f"cmd:adviser:{assessment_id}")])
    turn.reply(text, rows, menu=True)


# ---------------------------------------------------------------- the adviser


async def request_adviser(turn: Turn, facility: Facility, argument: str) -> None:
    store = turn.store.assessments
    zone = turn.settings.zone
    existing = await store.open_request(facility.id)
    if existing is not None:
        turn.reply(
            turn.t(
                "Your request of {date} is already with the Department; an adviser will "
                "contact you soon.",
                date=show_date(existing.requested_at, zone),
            )
        )
        return
    assessment = await store.by_id(int(argument)) if argument.isdigit() else None
    if assessment is None or assessment.facility_id != facility.id:
        assessment = await store.latest(facility.id)
    name, phone = await contact_of(turn, facility)
    await store.request_adviser(
        facility.id, turn.user.id, assessment.id if assessment else None, name, phone, turn.now
    )
    if phone:
        turn.reply(
            turn.t(
                "Recorded. An SXSH adviser of the Department's Industry Promotion Centre "
                "will call you at {phone} during office hours.",
                phone=phone,
            )
        )
    else:
        turn.reply(
            turn.t(
                "Recorded. The Department has no phone number for you yet: send /profile "
                "to add one so that the adviser can call."
            )
        )


async def contact_of(turn: Turn, facility: Facility) -> tuple[str | None, str | None]:
    """The contact person and phone from the facility profile, else the register's phone."""
    answers = await profile_answers(turn)
    return _text(answers.get("contact_name")), _text(answers.get("contact_phone")) or facility.phone


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


# ---------------------------------------------------------------- words


def band(turn: Turn, value: int) -> str:
    return next(turn.t(word) for floor, word in BANDS if value >= floor)


def signed(change: int) -> str:
    return f"+{change}" if change > 0 else ("±0" if change == 0 else f"−{-change}")


def answer_label(form: Form, value: str, lang: str) -> str:
    choices = form.choice_lists["answer"]
    return next((c.label.text(lang) for c in choices if c.value == value), value)
