"""The flow engine: a form, a session state and one input in; a new state, answer
changes and events out.

It is pure: no chat app, no database, no clock. The bot stores the answer changes and
the state in one transaction, then renders the events for its channel. Because the
position is derived from the stored answers, a session resumes at the first unanswered
question after a restart, and two people filling the same facility's draft see the
same answers.

Stored answers may hold keys besides question names: `<name>__confirmed` records the
value a user confirmed when a soft warning or a computed figure asked them to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Literal

from flows.model import Form, Label, Question
from flows.textmatch import fold
from flows.types import N_, NO_WORDS, YES_WORDS, AnswerError, Value, match_choice

Mode = Literal["asking", "confirming", "summary", "edit_menu", "done"]
CONFIRMED = "__confirmed"
SKIP_WORDS = frozenset({"-", "bo qua", "skip", "bq", "khong biet", "khong ro"})
SUBMIT_WORDS = frozenset({"gui", "nop", "submit", "send", "gui bao cao", "gui di"})
CHANGE_WORDS = frozenset({"sua", "thay doi", "change", "edit", "sua cau tra loi"})
DONE_WORDS = frozenset({"xong", "done", "ok", "tiep", "next", "tiep tuc"})
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


# ---------------------------------------------------------------- state and I/O


@dataclass
class FlowState:
    """Where one user stands in one form; stored as JSON in their session."""

    form_id: str
    mode: Mode = "asking"
    current: str | None = None
    step: int = 0
    history: list[str] = field(default_factory=list)
    selection: list[str] = field(default_factory=list)
    pending_value: object = None
    editing: bool = False
    revisit_until: str | None = None

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> FlowState:
        known = {name: raw[name] for name in cls.__dataclass_fields__ if name in raw}
        return cls(**known)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TextInput:
    text: str


@dataclass(frozen=True)
class Press:
    """A button press; `step` must match the state's step or the press is stale."""

    step: int
    action: str
    index: int = 0


@dataclass(frozen=True)
class BackInput:
    pass


Input = TextInput | Press | BackInput


@dataclass(frozen=True)
class Prompt:
    question: Question
    step: int
    selected: tuple[str, ...] = ()
    current_value: Value = None
    default_value: Value = None
    can_back: bool = False


@dataclass(frozen=True)
class Problem:
    """Input refused; either a msgid for the bot's catalogs or a form's own label."""

    msgid: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    label: Label | None = None


@dataclass(frozen=True)
class Confirm:
    question: Question
    value: Value
    warned: bool
    step: int


@dataclass(frozen=True)
class SummaryItem:
    question: Question
    value: Value


@dataclass(frozen=True)
class Summary:
    items: tuple[SummaryItem, ...]
    step: int


@dataclass(frozen=True)
class EditMenu:
    items: tuple[SummaryItem, ...]
    step: int


@dataclass(frozen=True)
class SelectionChanged:
    question: Question
    selected: tuple[str, ...]
    step: int


@dataclass(frozen=True)
class Stale:
    pass


@dataclass(frozen=True)
class Submitted:
    pass


Event = Prompt | Problem | Confirm | Summary | EditMenu | SelectionChanged | Stale | Submitted


@dataclass
class Transition:
    state: FlowState
    changes: dict[str, object] = field(default_factory=dict)  # name -> JSON value; None deletes
    events: list[Event] = field(default_factory=list)


# ---------------------------------------------------------------- answers


def decode_answers(form: Form, stored: Mapping[str, object]) -> dict[str, Value]:
    """Stored JSON values back to typed values, by each question's type."""
    typed: dict[str, Value] = {}
    for name, raw in stored.items():
        question = form.by_name.get(name)
        if question is not None:
            typed[name] = question.kind.from_json(raw)
        elif name.endswith(CONFIRMED):
            typed[name] = None if raw is None else str(raw)
    return typed


def effective_answers(
    form: Form, answers: Mapping[str, Value], context: Mapping[str, object]
) -> dict[str, object]:
    """The values expressions see: relevant answers only, calculations fresh."""
    values: dict[str, object] = dict(context)
    for question in form.questions:
        if not is_relevant(form, question, values):
            values[question.name] = None
            continue
        if question.kind.is_calculated:
            expression = form.expression(question, "calculate")
            assert expression is not None
            values[question.name] = _as_value(expression.evaluate(values))
        else:
            values[question.name] = answers.get(question.name)
    return values


def canonical_decimal(number: Decimal) -> Decimal:
    """75.00 -> 75 and 20.50 -> 20.5, never 1E+2: one spelling per value when stored."""
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


def _as_value(result: object) -> Value:
    if isinstance(result, Decimal):
        return canonical_decimal(result)
    if isinstance(result, bool | str) or result is None:
        return result
    if isinstance(result, int):
        return Decimal(result)
    if isinstance(result, list):
        return [str(item) for item in result]
    return None


def _stored_value(value: object) -> Value:
    """An answer as the question types hold it (ints stay ints, unlike calculations)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _as_value(value)


def is_relevant(form: Form, question: Question, values: Mapping[str, object]) -> bool:
    expression = form.expression(question, "relevant")
    return expression is None or expression.is_true(values)


def needs_confirmation(
    form: Form, question: Question, values: Mapping[str, object], answers: Mapping[str, Value]
) -> bool:
    """A computed figure to show and confirm, not yet confirmed at its current value."""
    if not question.kind.is_calculated:
        return False
    value = values.get(question.name)
    if value is None:
        return False
    warned = warns(form, question, values, value)
    if not (question.confirm or warned):
        return False
    return answers.get(question.name + CONFIRMED) != _confirmation_key(value)


def warns(form: Form, question: Question, values: Mapping[str, object], value: object) -> bool:
    """Whether `value` trips the question's soft `warning` (the user is asked once)."""
    expression = form.expression(question, "warning")
    if expression is None:
        return False
    return expression.is_true({**values, question.name: value}, current=value)


def _confirmation_key(value: object) -> str:
    return str(value)


def stored_calculations(form: Form, values: Mapping[str, object]) -> dict[str, object]:
    """Calculated values as they should be stored beside the answers."""
    changes: dict[str, object] = {}
    for question in form.questions:
        if question.kind.is_calculated:
            changes[question.name] = question.kind.to_json(_as_value(values.get(question.name)))
    return changes


# ---------------------------------------------------------------- navigation


def _next_pending(
    form: Form,
    answers: Mapping[str, Value],
    values: Mapping[str, object],
    after: str | None = None,
    include_answered: bool = False,
) -> Question | None:
    """The first question still to ask (or figure to confirm), optionally after `after`."""
    start = form.index_of(after) + 1 if after else 0
    for question in form.questions[start:]:
        if values.get(question.name) is None and not is_relevant(form, question, values):
            continue
        if needs_confirmation(form, question, values, answers):
            return question
        if not question.asks_user:
            continue
        if question.name not in answers or include_answered:
            return question
    return None


def answered_items(form: Form, values: Mapping[str, object]) -> tuple[SummaryItem, ...]:
    items = []
    for question in form.questions:
        if question.type == "note" or not is_relevant(form, question, values):
            continue
        items.append(SummaryItem(question, _stored_value(values.get(question.name))))
    return tuple(items)


def editable_items(form: Form, values: Mapping[str, object]) -> tuple[SummaryItem, ...]:
    return tuple(item for item in answered_items(form, values) if item.question.asks_user)


def progress(
    form: Form,
    answers: Mapping[str, Value],
    context: Mapping[str, object],
    values: Mapping[str, object] | None = None,
) -> tuple[int, int]:
    """(answered, to ask) over the questions that may still be asked: "12 of 20 questions".

    A question counts while its relevance is still open — it reads an answer not given
    yet — so the total starts at the longest path through the form and only shrinks as
    answers close branches; a total that grew as the manager answered would promise a
    short form and then break that promise. `values` are the effective answers when the
    caller has them already.
    """
    if values is None:
        values = effective_answers(form, answers, context)
    open_names: set[str] = set()  # names whose value may still come
    counted = 0
    done = 0
    for question in form.questions:
        expression = form.expression(question, "relevant")
        possible = (
            expression is None or expression.is_true(values) or bool(expression.names & open_names)
        )
        if not possible:
            continue
        if values.get(question.name) is None and question.name not in answers:
            open_names.add(question.name)
        if question.asks_user and question.type != "note":
            counted += 1
            done += question.name in answers and is_relevant(form, question, values)
    return done, counted


# ---------------------------------------------------------------- the engine


class Engine:
    """Moves one user's state through one form. Create one per turn; it holds no I/O."""

    def __init__(
        self,
        form: Form,
        state: FlowState,
        stored: Mapping[str, object],
        context: Mapping[str, object],
    ) -> None:
        self.form = form
        self.state = state
        self._stored = dict(stored)
        self.answers: dict[str, Value] = decode_answers(form, stored)
        self.context = dict(context)
        self.changes: dict[str, object] = {}
        self.events: list[Event] = []
        # Effective values, recomputed only after an answer changes (a turn asks often).
        self._values_now: dict[str, object] | None = None

    # -- public entry points

    def start(self) -> Transition:
        """Open the form (or resume it): the first unanswered question or the summary."""
        self.state.mode = "asking"
        self.state.editing = False
        self.state.revisit_until = None
        self._advance(after=None)
        return self._result()

    def handle(self, given: Input) -> Transition:
        if isinstance(given, Press) and given.step != self.state.step:
            self.events.append(Stale())
            return self._result()
        if isinstance(given, BackInput) or (isinstance(given, Press) and given.action == "back"):
            self._back()
            return self._result()
        handler = {
            "asking": self._on_question,
            "confirming": self._on_confirm,
            "summary": self._on_summary,
            "edit_menu": self._on_edit_menu,
        }.get(self.state.mode)
        if handler is None:
            self.events.append(Stale())
        else:
            handler(given)
        return self._result()

    def summary(self) -> Summary:
        return Summary(answered_items(self.form, self.values()), self.state.step)

    # -- the modes

    def _on_question(self, given: Input) -> None:
        question = self._current_question()
        if question is None:
            self._advance(after=None)
            return
        if question.kind.is_calculated:
            self._on_confirm(given)
            return
        if isinstance(given, Press):
            self._on_question_press(question, given)
            return
        assert isinstance(given, TextInput)
        text = given.text
        if question.type == "select_multiple" and self.state.selection and fold(text) in DONE_WORDS:
            self._accept(question, list(self.state.selection))
            return
        if fold(text) in SKIP_WORDS and not _names_a_choice(self.form, question, text):
            self._skip(question)
            return
        try:
            value = question.kind.parse(text, self.form.choices_of(question))
        except AnswerError as error:
            self.events.append(Problem(error.msgid, error.params))
            return
        self._accept(question, value)

    def _on_question_press(self, question: Question, press: Press) -> None:
        choices = self.form.choices_of(question)
        if press.action == "skip":
            self._skip(question)
        elif press.action == "default":
            default = self._default_of(question)
            if default is None:
                self.events.append(Stale())
            else:
                self._accept(question, default)
        elif press.action == "choose" and question.type in {"select_one", "yes_no"}:
            if question.type == "yes_no" and press.index in (0, 1):
                self._accept(question, press.index == 0)
            elif question.type == "select_one" and 0 <= press.index < len(choices):
                self._accept(question, choices[press.index].value)
            else:
                self.events.append(Stale())
        elif press.action == "toggle" and question.type == "select_multiple":
            if not 0 <= press.index < len(choices):
                self.events.append(Stale())
                return
            value = choices[press.index].value
            selection = self.state.selection
            if value in selection:
                selection.remove(value)
            else:
                selection.append(value)
            order = [choice.value for choice in choices]
            selection.sort(key=order.index)
            self.events.append(SelectionChanged(question, tuple(selection), self.state.step))
        elif press.action == "done" and question.type == "select_multiple":
            if not self.state.selection:
                self.events.append(Problem(N_("Please pick at least one option.")))
                return
            self._accept(question, list(self.state.selection))
        else:
            self.events.append(Stale())

    def _on_confirm(self, given: Input) -> None:
        question = self._current_question()
        if question is None:
            self._advance(after=None)
            return
        answer = _yes_no(given)
        if answer is None:
            self.events.append(Problem(N_("Please answer yes or no (1 = yes, 2 = no).")))
            return
        if question.kind.is_calculated:
            self._confirm_calculation(question, answer)
        else:
            self._confirm_warning(question, answer)

    def _confirm_calculation(self, question: Question, confirmed: bool) -> None:
        values = self.values()
        if confirmed:
            self._store(question.name + CONFIRMED, _confirmation_key(values.get(question.name)))
            self._advance(after=question.name)
            return
        # Not right: ask again the latest input the figure was computed from.
        expression = self.form.expression(question, "calculate")
        assert expression is not None
        sources = [
            candidate
            for candidate in self.form.questions[: self.form.index_of(question.name)]
            if candidate.name in expression.names and candidate.asks_user
        ]
        if not sources:
            self._advance(after=question.name)
            return
        source = sources[-1]
        self._store(source.name, None, delete=True)
        self._ask(source)

    def _confirm_warning(self, question: Question, confirmed: bool) -> None:
        value = question.kind.from_json(self.state.pending_value)
        self.state.pending_value = None
        if confirmed:
            self._store_answer(question, value)
            self._store(question.name + CONFIRMED, _confirmation_key(value))
            self._after_answer(question)
        else:
            self.state.mode = "asking"
            self._ask(question)

    def _on_summary(self, given: Input) -> None:
        action = _summary_action(given)
        if action == "submit":
            pending = _next_pending(self.form, self.answers, self.values())
            if pending is not None:
                self._ask(pending)
                return
            self.state.mode = "done"
            self.events.append(Submitted())
        elif action == "change":
            self.state.mode = "edit_menu"
            self.state.step += 1
            self.events.append(EditMenu(editable_items(self.form, self.values()), self.state.step))
        else:
            self.events.append(Problem(N_("Type 1 to submit, or 2 to change an answer.")))

    def _on_edit_menu(self, given: Input) -> None:
        items = editable_items(self.form, self.values())
        index: int | None = None
        if isinstance(given, Press) and given.action == "edit":
            index = given.index
        elif isinstance(given, TextInput):
            labels = [[item.question.label.vi, item.question.label.en] for item in items]
            index = match_choice(given.text, labels)
        if index is None or not 0 <= index < len(items):
            self.events.append(
                Problem(
                    N_("Type the number of the answer to change (1–{count})."),
                    {"count": str(len(items))},
                )
            )
            return
        self.state.editing = True
        self._ask(items[index].question)

    # -- moving on

    def _accept(self, question: Question, value: Value) -> None:
        problem = self._check_constraint(question, value)
        if problem is not None:
            self.events.append(problem)
            return
        values = {**self.values(), question.name: value}
        confirmed_before = self.answers.get(question.name + CONFIRMED)
        if warns(self.form, question, values, value) and confirmed_before != str(value):
            self.state.mode = "confirming"
            self.state.pending_value = question.kind.to_json(value)
            self.state.step += 1
            self.events.append(Confirm(question, value, warned=True, step=self.state.step))
            return
        self._store_answer(question, value)
        self._after_answer(question)

    def _after_answer(self, question: Question) -> None:
        self.state.selection = []
        if self.state.revisit_until and self.state.revisit_until != question.name:
            nxt = _next_pending(
                self.form, self.answers, self.values(), after=question.name, include_answered=True
            )
            if nxt is not None and self.form.index_of(nxt.name) <= self.form.index_of(
                self.state.revisit_until
            ):
                self._ask(nxt)
                return
        self.state.revisit_until = None
        if self.state.editing:
            pending = _next_pending(self.form, self.answers, self.values())
            if pending is None:
                self._show_summary()
            else:
                self._ask(pending)
            return
        self._advance(after=question.name)

    def _advance(self, after: str | None) -> None:
        values = self.values()
        pending = _next_pending(self.form, self.answers, values, after=after)
        if pending is None and after is not None:
            pending = _next_pending(self.form, self.answers, values)
        if pending is None:
            self._show_summary()
        else:
            self._ask(pending)

    def _ask(self, question: Question) -> None:
        if (
            self.state.current
            and self.state.current != question.name
            and self.state.mode
            in (
                "asking",
                "confirming",
            )
        ):
            self.state.history.append(self.state.current)
            del self.state.history[:-50]
        self.state.current = question.name
        self.state.step += 1
        self.state.selection = []
        values = self.values()
        if question.kind.is_calculated:
            self.state.mode = "confirming"
            value = _as_value(values.get(question.name))
            warned = warns(self.form, question, values, value)
            self.events.append(Confirm(question, value, warned=warned, step=self.state.step))
            return
        self.state.mode = "asking"
        current = self.answers.get(question.name)
        if question.type == "select_multiple" and isinstance(current, list):
            self.state.selection = list(current)
        self.events.append(
            Prompt(
                question,
                self.state.step,
                selected=tuple(self.state.selection),
                current_value=current,
                default_value=self._default_of(question) if current is None else None,
                can_back=bool(self.state.history),
            )
        )

    def _show_summary(self) -> None:
        self.state.mode = "summary"
        self.state.current = None
        self.state.editing = False
        self.state.step += 1
        self.events.append(self.summary())

    def _back(self) -> None:
        if self.state.mode in ("summary", "edit_menu"):
            editable = editable_items(self.form, self.values())
            if editable:
                self.state.editing = True
                self._ask(editable[-1].question)
                return
        while self.state.history:
            previous = self.state.history.pop()
            question = self.form.by_name.get(previous)
            if question is None or not is_relevant(self.form, question, self.values()):
                continue
            if self.state.current and self.state.revisit_until is None:
                self.state.revisit_until = self.state.current
            # Clearing `current` keeps _ask from pushing the question we leave.
            self.state.current = None
            self._ask(question)
            return
        self.events.append(
            Problem(N_("This is the first question: there is nothing to go back to."))
        )

    def _skip(self, question: Question) -> None:
        if question.required:
            self.events.append(Problem(N_("This question needs an answer.")))
            return
        self._store_answer(question, None)
        self._after_answer(question)

    # -- helpers

    def _current_question(self) -> Question | None:
        return self.form.by_name.get(self.state.current or "")

    def values(self) -> dict[str, object]:
        """The effective values now; shared between calls, so callers copy before changing."""
        if self._values_now is None:
            self._values_now = effective_answers(self.form, self.answers, self.context)
        return self._values_now

    def _default_of(self, question: Question) -> Value:
        expression = self.form.expression(question, "default")
        if expression is None:
            return None
        result = _as_value(expression.evaluate(self.values()))
        if question.type in {"year", "integer", "money"} and isinstance(result, Decimal):
            return int(result)
        return result

    def _check_constraint(self, question: Question, value: Value) -> Problem | None:
        expression = self.form.expression(question, "constraint")
        if expression is None or value is None:
            return None
        values = {**self.values(), question.name: value}
        if expression.is_true(values, current=value):
            return None
        return Problem(label=question.constraint_message)

    def _store_answer(self, question: Question, value: Value) -> None:
        self.answers[question.name] = value
        self._store(question.name, question.kind.to_json(value))

    def _store(self, name: str, raw: object, delete: bool = False) -> None:
        self._values_now = None
        if delete:
            self.answers.pop(name, None)
            self.changes[name] = _DELETE
        else:
            if name.endswith(CONFIRMED):
                self.answers[name] = None if raw is None else str(raw)
            self.changes[name] = raw

    def _result(self) -> Transition:
        if self.changes:
            values = self.values()
            for name, raw in stored_calculations(self.form, values).items():
                # Only the figures this turn changed: the others are stored as they are.
                if self._stored.get(name) != raw:
                    self.changes[name] = raw
        return Transition(self.state, self.changes, self.events)


class _Delete:
    """Marks an answer to remove from the draft (distinct from a stored None)."""

    def __repr__(self) -> str:
        return "DELETE"


_DELETE = _Delete()
DELETE: object = _DELETE


def _names_a_choice(form: Form, question: Question, text: str) -> bool:
    """The text is one of the question's choices: "Không biết" answers, it does not skip."""
    folded = fold(text)
    return any(
        folded in (fold(choice.label.vi), fold(choice.label.en), choice.value)
        for choice in form.choices_of(question)
    )


def _yes_no(given: Input) -> bool | None:
    if isinstance(given, Press):
        if given.action in {"yes", "no"}:
            return given.action == "yes"
        return None
    if isinstance(given, TextInput):
        folded = fold(given.text).rstrip(".!")
        if folded in YES_WORDS or folded == "1":
            return True
        if folded in NO_WORDS or folded == "2":
            return False
    return None


def _summary_action(given: Input) -> str | None:
    if isinstance(given, Press):
        return given.action if given.action in {"submit", "change"} else None
    if isinstance(given, TextInput):
        folded = fold(given.text)
        if folded == "1" or folded in SUBMIT_WORDS:
            return "submit"
        if folded == "2" or folded in CHANGE_WORDS:
            return "change"
    return None


def fill_placeholders(text: str, values: Mapping[str, str]) -> str:
    """'per {product_unit}' -> 'per tấn'; unknown names stay as they are."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)
