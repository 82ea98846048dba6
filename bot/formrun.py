"""Running forms in chat: open or resume a facility's draft, feed inputs to the engine,
store its answer changes with the session in the turn's transaction, render its events.

Form modules register `FormHooks` to supply context (the facility's product unit, the
reporting year), choose the period a draft belongs to, and decide what submitting means.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.clock import local
from bot.i18n import N_
from bot.render import FlowRenderer, form_text
from bot.shared_drafts import replaced_answer_notices
from bot.storage.drafts import Draft
from flows.engine import (
    BackInput,
    Engine,
    FlowState,
    Input,
    Press,
    Submitted,
    TextInput,
    Transition,
    decode_answers,
    progress,
)
from flows.model import Form
from flows.types import Value

if TYPE_CHECKING:
    from bot.dispatcher import Dispatcher, Turn

log = logging.getLogger(__name__)

ContextBuilder = Callable[["Turn"], Awaitable[dict[str, object]]]
DraftContextBuilder = Callable[["Turn", Draft], Awaitable[dict[str, object]]]
SubmitHandler = Callable[["Turn", Form, Draft, dict[str, object]], Awaitable[None]]
PeriodChooser = Callable[["Turn", str], Awaitable[str | None]]
OpenHandler = Callable[["Turn", Form, Draft], Awaitable[bool]]

PROFILE_FORM = "facility_profile"


@dataclass
class FormHooks:
    """What a form module adds to the generic runner."""

    # The command that opens the form, for "send /report to continue".
    command: str
    context: ContextBuilder | None = None
    period: PeriodChooser | None = None
    on_submit: SubmitHandler | None = None
    # Called when the draft is already submitted; return True if it replied itself.
    on_open_submitted: OpenHandler | None = None
    # Context that depends on the draft, e.g. the reporting year its period stands for.
    draft_context: DraftContextBuilder | None = None


class FormRunner:
    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.hooks: dict[str, FormHooks] = {}
        dispatcher.form_text = self.on_text
        dispatcher.callback("f")(self.on_press)

    def register(self, form_id: str, hooks: FormHooks) -> None:
        if form_id not in self.dispatcher.forms:
            raise ValueError(f"no form {form_id!r} is loaded")
        self.hooks[form_id] = hooks

    # -- entry points

    async def open(self, turn: Turn, form_id: str, argument: str = "") -> None:
        """Start or resume `form_id` for the user's facility."""
        if turn.user.facility_id is None:
            from bot.dispatcher import not_linked_message

            turn.reply(not_linked_message(turn))
            return
        form = self.dispatcher.forms.get(form_id)
        hooks = self.hooks.get(form_id)
        period = await self._period(turn, form, hooks, argument)
        if period is None:
            return
        draft = await turn.store.drafts.open(
            turn.user.facility_id, form.id, period, form.version, turn.now
        )
        submitted = draft.status != "draft"
        if (
            submitted
            and hooks
            and hooks.on_open_submitted
            and (await hooks.on_open_submitted(turn, form, draft))
        ):
            return
        await self.start_draft(turn, form, draft)

    async def start_draft(self, turn: Turn, form: Form, draft: Draft, intro: bool = True) -> None:
        state = FlowState(form_id=form.id)
        previous = turn.session.state if turn.session.form_id == form.id else None
        if previous and turn.session.draft_id == draft.id:
            # Keep the step counter growing so buttons from before stay stale.
            state.step = int(str(previous.get("step", 0)))
        stored = await turn.store.drafts.answers(draft.id)
        context = await self.context(turn, form, draft)
        if intro and form.intro and not stored:
            turn.reply(form_text(form, form.intro, context, turn.lang))
        engine = Engine(form, state, stored, context)
        await self._finish(turn, form, draft, engine, engine.start())

    async def resume(self, turn: Turn) -> bool:
        """Show the open form's current question again; False if none is open."""
        session = turn.session
        if (
            not session.form_id
            or session.draft_id is None
            or session.form_id not in self.dispatcher.forms
        ):
            return False
        draft = await turn.store.drafts.by_id(session.draft_id)
        if draft is None or draft.facility_id != turn.user.facility_id:
            return False
        await self.start_draft(turn, self.dispatcher.forms.get(session.form_id), draft, intro=False)
        return True

    async def on_text(self, turn: Turn, text: str) -> bool:
        return await self.feed(turn, TextInput(text))

    async def on_press(self, turn: Turn, rest: str) -> None:
        parts = rest.split(":")
        press: Press | None = None
        if len(parts) == 3 and parts[0].isdigit() and parts[2].isdigit():
            press = Press(step=int(parts[0]), action=parts[1], index=int(parts[2]))
        if press is None or not await self.feed(turn, press):
            from bot.dispatcher import stale_message

            turn.reply(stale_message(turn))

    async def back(self, turn: Turn) -> bool:
        return await self.feed(turn, BackInput())

    async def cancel(self, turn: Turn) -> str | None:
        """Leave the open form; the draft stays. Returns the form's resume command."""
        form_id = turn.session.form_id
        if not form_id:
            return None
        turn.session.form_id = None
        turn.session.draft_id = None
        turn.session.state = None
        hooks = self.hooks.get(form_id)
        return hooks.command if hooks else None

    async def feed(self, turn: Turn, given: Input) -> bool:
        """Give the open form one input; False if no form is open for this user."""
        session = turn.session
        if not session.form_id or session.draft_id is None or session.state is None:
            return False
        if session.form_id not in self.dispatcher.forms:
            return False
        form = self.dispatcher.forms.get(session.form_id)
        draft = await turn.store.drafts.by_id(session.draft_id)
        if draft is None or draft.facility_id != turn.user.facility_id:
            # The user was re-linked to another facility: that draft is not theirs.
            await self.cancel(turn)
            return False
        state = FlowState.from_json(session.state)
        if state.mode == "done":
            return False
        stored = await turn.store.drafts.answers(draft.id)
        engine = Engine(form, state, stored, await self.context(turn, form, draft))
        await self._finish(turn, form, draft, engine, engine.handle(given))
        return True

    # -- internals

    async def context(
        self, turn: Turn, form: Form, draft: Draft | None = None
    ) -> dict[str, object]:
        values = await base_context(turn)
        hooks = self.hooks.get(form.id)
        if hooks and hooks.context:
            values.update(await hooks.context(turn))
        if hooks and hooks.draft_context and draft is not None:
            values.update(await hooks.draft_context(turn, draft))
        return values

    async def _period(
        self, turn: Turn, form: Form, hooks: FormHooks | None, argument: str
    ) -> str | None:
        if hooks and hooks.period:
            return await hooks.period(turn, argument)
        if form.period == "year":
            return str(local(turn.now, turn.settings.zone).year)
        if form.period == "each":
            return local(turn.now, turn.settings.zone).strftime("%Y%m%d%H%M%S%f")
        return "once"

    async def _finish(
        self, turn: Turn, form: Form, draft: Draft, engine: Engine, result: Transition
    ) -> None:
        values = engine.values()
        if result.changes:
            # Read before writing: whose answers this turn replaces.
            hooks = self.hooks.get(form.id)
            command = hooks.command if hooks else form.id
            notices = await replaced_answer_notices(
                turn, form, draft, result.changes, values, command
            )
            await turn.store.drafts.apply(draft.id, result.changes, turn.user.id, turn.now)
            turn.memo.pop(form.id, None)
            turn.replies.extend(notices)
        turn.session.form_id = form.id
        turn.session.draft_id = draft.id
        turn.session.state = result.state.to_json()
        renderer = FlowRenderer(
            form,
            turn.lang,
            turn.user.chat_id,
            values,
            progress(form, engine.answers, engine.context, values),
            turn.inbound.message_id,
        )
        turn.replies.extend(renderer.render(result.events))
        if any(isinstance(event, Submitted) for event in result.events):
            await self._submit(turn, form, draft, values)

    async def _submit(
        self, turn: Turn, form: Form, draft: Draft, values: dict[str, object]
    ) -> None:
        turn.session.form_id = None
        turn.session.draft_id = None
        turn.session.state = None
        hooks = self.hooks.get(form.id)
        if hooks and hooks.on_submit:
            await hooks.on_submit(turn, form, draft, values)
            return
        await turn.store.drafts.set_status(draft.id, "submitted", turn.now)
        title = form_text(form, form.title, values, turn.lang)
        turn.reply(turn.t("Thank you, your answers to “{title}” are saved.", title=title))


async def base_context(turn: Turn) -> dict[str, object]:
    """Names every form may use: the facility, this year, the facility's product unit."""
    facility = await turn.facility()
    unit = product_unit_text(turn, await profile_answers(turn))
    return {
        "current_year": local(turn.now, turn.settings.zone).year,
        "facility_name": facility.name if facility else "",
        "product_unit": unit or turn.t(N_("unit")),
    }


async def profile_answers(turn: Turn) -> dict[str, Value]:
    """The facility profile's answers, decoded ({} before anyone has answered it).

    Read once per turn: every form's context and the report's defaults ask for them.
    """
    remembered = turn.memo.get(PROFILE_FORM)
    if isinstance(remembered, dict):
        return dict(remembered)
    answers = await _read_profile_answers(turn)
    turn.memo[PROFILE_FORM] = answers
    return dict(answers)


async def _read_profile_answers(turn: Turn) -> dict[str, Value]:
    facility_id = turn.user.facility_id
    if facility_id is None or PROFILE_FORM not in turn.dispatcher.forms:
        return {}
    profile = await turn.store.drafts.find(facility_id, PROFILE_FORM, "once")
    if profile is None:
        return {}
    form = turn.dispatcher.forms.get(PROFILE_FORM)
    return decode_answers(form, await turn.store.drafts.answers(profile.id))


def product_unit_text(turn: Turn, profile: Mapping[str, Value]) -> str | None:
    """The profile's product unit as the user reads it ("tấn"), None if not answered."""
    unit = profile.get("product_unit")
    if unit == "other" and profile.get("product_unit_other"):
        return str(profile["product_unit_other"])
    if not unit:
        return None
    form = turn.dispatcher.forms.get(PROFILE_FORM)
    question = form.by_name["product_unit"]
    return question.kind.show(unit, form.choices_of(question), turn.lang, 0)
